// Embedding lookup: out[t, :] = E[ids[t], :], dequantized exactly as dequantize_row does (Q8_0 as the
// float product d * q), so embeddings match the CPU backends bit for bit.
#include "cuda_common.cuh"

namespace clasp {
namespace cuda {
namespace {

__global__ void embed_kernel(dev_weight E, const int32_t* __restrict__ ids, float* __restrict__ out) {
    const int64_t t = blockIdx.x;
    const int64_t row = ids[t];
    for (int64_t i = threadIdx.x; i < E.n_in; i += blockDim.x) out[t * E.n_in + i] = load_weight(E, row, i);
}

}  // namespace

void embed(const dev_weight& E, const int32_t* ids_dev, int T, float* out, cudaStream_t s) {
    if (T <= 0) return;
    embed_kernel<<<T, 256, 0, s>>>(E, ids_dev, out);
    CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace clasp
