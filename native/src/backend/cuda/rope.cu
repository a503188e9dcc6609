// RoPE in place, both layouts: interleaved pairs (2i, 2i+1) as in GGUF, or rotate-half (i, i + hd/2)
// as in the Hugging Face layout. One thread per (token, head, pair); the angle is the float32 product
// pos * inv_freq as transformers computes it, then full-range sincosf.
#include "cuda_common.cuh"

namespace clasp {
namespace cuda {
namespace {

// Rotates pair i of one head v at position p (shared by both kernels, so they give the same bits).
__device__ __forceinline__ void rope_pair(float* v, int i, int half, int p, const float* __restrict__ inv_freq,
                                          bool interleaved) {
    const float ang = (float)p * inv_freq[i];
    float sn, cs;
    sincosf(ang, &sn, &cs);
    const int a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
    const float x0 = v[a], x1 = v[b];
    v[a] = x0 * cs - x1 * sn;
    v[b] = x0 * sn + x1 * cs;
}

__global__ void rope_kernel(float* __restrict__ x, int T, int n_head, int hd, const int32_t* __restrict__ pos_dev,
                            int pos0, int pos_step, const float* __restrict__ inv_freq, bool interleaved) {
    const int half = hd / 2;
    const int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (int64_t)T * n_head * half) return;
    const int i = (int)(idx % half);
    const int64_t th = idx / half;
    const int t = (int)(th / n_head);
    const int p = pos_dev ? pos_dev[t] : pos0 + t * pos_step;
    rope_pair(x + th * hd, i, half, p, inv_freq, interleaved);
}

// Q and K of the same tokens in one launch: (token, head) pairs of q first, then those of k.
__global__ void rope_qk_kernel(float* __restrict__ q, int n_head, float* __restrict__ k, int n_head_kv, int T, int hd,
                               const int32_t* __restrict__ pos_dev, int pos0, int pos_step,
                               const float* __restrict__ inv_freq, bool interleaved) {
    const int half = hd / 2;
    const int64_t nq = (int64_t)T * n_head * half;
    int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= nq + (int64_t)T * n_head_kv * half) return;
    const bool is_k = idx >= nq;
    if (is_k) idx -= nq;
    const int nh = is_k ? n_head_kv : n_head;
    const int i = (int)(idx % half);
    const int64_t th = idx / half;
    const int t = (int)(th / nh);
    const int p = pos_dev ? pos_dev[t] : pos0 + t * pos_step;
    rope_pair((is_k ? k : q) + th * hd, i, half, p, inv_freq, interleaved);
}

}  // namespace

void rope(float* x, int T, int n_head, int hd, const int32_t* pos_dev, int pos0, int pos_step, const float* inv_freq,
          bool interleaved, cudaStream_t s) {
    const int64_t n = (int64_t)T * n_head * (hd / 2);
    if (n <= 0) return;
    const int threads = 256;
    rope_kernel<<<(unsigned)((n + threads - 1) / threads), threads, 0, s>>>(x, T, n_head, hd, pos_dev, pos0, pos_step,
                                                                           inv_freq, interleaved);
    CUDA_CHECK_LAUNCH();
}

void rope_qk(float* q, int n_head, float* k, int n_head_kv, int T, int hd, const int32_t* pos_dev, int pos0,
             int pos_step, const float* inv_freq, bool interleaved, cudaStream_t s) {
    const int64_t n = (int64_t)T * (n_head + n_head_kv) * (hd / 2);
    if (n <= 0) return;
    const int threads = 256;
    rope_qk_kernel<<<(unsigned)((n + threads - 1) / threads), threads, 0, s>>>(q, n_head, k, n_head_kv, T, hd, pos_dev,
                                                                              pos0, pos_step, inv_freq, interleaved);
    CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace clasp
