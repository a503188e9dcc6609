// RMSNorm: one block per token row. The sum of squares is reduced in a fixed order (strided per
// thread, a butterfly per warp, then warps in order), so a row's result never depends on T.
#include "cuda_common.cuh"

namespace clasp {
namespace cuda {
namespace {

constexpr int THREADS = 256;

__global__ void __launch_bounds__(THREADS) rmsnorm_kernel(const float* __restrict__ x, const float* __restrict__ w,
                                                          int n, float eps, float* __restrict__ out) {
    __shared__ float part[THREADS / 32];
    __shared__ float scale_s;
    const int64_t t = blockIdx.x;
    const float* xt = x + t * n;
    float ss = 0.f;
    for (int i = threadIdx.x; i < n; i += THREADS) ss = fmaf(xt[i], xt[i], ss);
    ss = warp_sum(ss);
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = ss;
    __syncthreads();
    if (threadIdx.x == 0) {
        float s = 0.f;
        for (int i = 0; i < THREADS / 32; i++) s += part[i];
        scale_s = 1.0f / sqrtf(s / (float)n + eps);  // IEEE sqrt and division (no fast math)
    }
    __syncthreads();
    const float scale = scale_s;
    for (int i = threadIdx.x; i < n; i += THREADS) out[t * n + i] = xt[i] * scale * w[i];
}

}  // namespace

void rmsnorm(const float* x, const float* w, int T, int n, float eps, float* out, cudaStream_t s) {
    if (T <= 0 || n <= 0) return;
    rmsnorm_kernel<<<T, THREADS, 0, s>>>(x, w, n, eps, out);
    CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace clasp
