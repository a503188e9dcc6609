// Q8_0 weights arrive as GGUF's 34-byte blocks (fp16 scale + 32 int8), which no vector load can
// align. On upload they are split into an int8 matrix (n_out, n_in) and an fp16 scale matrix
// (n_out, n_in / 32); the values are unchanged.
#include "cuda_common.cuh"

namespace clasp {
namespace cuda {
namespace {

__global__ void repack_kernel(const uint8_t* __restrict__ blocks, int64_t n_blocks, int8_t* __restrict__ qs,
                              __half* __restrict__ scales) {
    const int64_t b = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (b >= n_blocks) return;
    const uint8_t* src = blocks + b * sizeof(block_q8_0);  // blocks are row-major: b = row * (n_in/32) + kb
    qs[b * QK8_0 + lane] = (int8_t)src[2 + lane];
    if (lane == 0) scales[b] = __ushort_as_half((unsigned short)(src[0] | (src[1] << 8)));
}

}  // namespace

void repack_q8_0(const void* blocks_dev, int64_t n_out, int64_t n_in, int8_t* qs, __half* scales, cudaStream_t s) {
    const int64_t n_blocks = n_out * (n_in / QK8_0);
    if (n_blocks <= 0) return;
    const int per_block = 8;  // warps per CUDA block, one Q8_0 block each
    repack_kernel<<<(unsigned)((n_blocks + per_block - 1) / per_block), per_block * 32, 0, s>>>(
        (const uint8_t*)blocks_dev, n_blocks, qs, scales);
    CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace clasp
