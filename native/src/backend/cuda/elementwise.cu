// The elementwise ops: SwiGLU's g = silu(g) * u and the residual add x += y, with the same formulas
// as the reference backend.
#include "cuda_common.cuh"

namespace clasp {
namespace cuda {
namespace {

__global__ void silu_mul_kernel(float* __restrict__ g, const float* __restrict__ u, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

__global__ void add_kernel(float* __restrict__ x, const float* __restrict__ y, size_t n) {
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        x[i] += y[i];
}

unsigned blocks_for(size_t n, int threads) {
    size_t b = (n + threads - 1) / threads;
    return (unsigned)(b < 65535 * 4 ? b : 65535 * 4);  // grid-stride beyond that
}

}  // namespace

void silu_mul(float* g, const float* u, size_t n, cudaStream_t s) {
    if (n == 0) return;
    silu_mul_kernel<<<blocks_for(n, 256), 256, 0, s>>>(g, u, n);
    CUDA_CHECK_LAUNCH();
}

void add(float* x, const float* y, size_t n, cudaStream_t s) {
    if (n == 0) return;
    add_kernel<<<blocks_for(n, 256), 256, 0, s>>>(x, y, n);
    CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace clasp
