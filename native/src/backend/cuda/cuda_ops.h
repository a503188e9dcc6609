// The host side of the CUDA backend's kernels, includable from plain C++ (the backend, the GPU
// benchmark): the error check, the device view of a weight matrix and the op launchers.
#pragma once
#include "../../core/dtype.h"
#include "../../core/error.h"
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cstdint>
#include <string>

namespace clasp {
namespace cuda {

[[noreturn]] inline void throw_cuda(cudaError_t e, const char* what, const char* file, int line) {
    fail(std::string("CUDA error at ") + file + ":" + std::to_string(line) + " (" + what + "): " +
         cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}

// "12.4" from CUDA's 12040.
inline std::string cuda_version(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

}  // namespace cuda
}  // namespace clasp

// Every runtime call is checked; a failure becomes an engine_error with file:line and the CUDA text.
#define CUDA_CHECK(call)                                                         \
    do {                                                                         \
        cudaError_t err_ = (call);                                               \
        if (err_ != cudaSuccess) ::clasp::cuda::throw_cuda(err_, #call, __FILE__, __LINE__); \
    } while (0)
// After a kernel launch: catches bad launch configurations at once (faults surface at the next sync).
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

namespace clasp {
namespace cuda {

// A weight matrix in device memory. F32/F16/BF16 keep the host layout (n_out, n_in) row-major.
// Q8_0 is repacked on upload so that rows are 16-byte friendly:
//   data:   int8 quants (n_out, n_in)
//   scales: fp16 scale per 32-block (n_out, n_in / 32)
struct dev_weight {
    dtype type = dtype::F32;
    int64_t n_in = 0, n_out = 0;
    const void* data = nullptr;
    const __half* scales = nullptr;
};

// ---- op launchers (one .cu file each); all run on `s` and return without waiting.

// Products of up to SKINNY_MAX_T tokens always use matmul_skinny, so that every verify batch the
// engine can form (max_draft <= 64) is batch-invariant with decode; longer ones use the GEMM.
constexpr int SKINNY_MAX_T = 80;
// y (T, n_out) = x (T, n_in) . W^T for any T; batch-invariant (see matmul_skinny.cu).
void matmul_skinny(const dev_weight& w, const float* x, int T, float* y, cudaStream_t s);
// Which kernel matmul_skinny takes: the tensor-core one (F16/BF16/Q8_0, n_in % 32 == 0, x 16-byte
// aligned) or the CUDA-core fallback. The two round differently, so decode and verify must see the
// same alignment: every row of a buffer from alloc() is aligned when n_in % 4 == 0.
bool skinny_uses_tensor_cores(const dev_weight& w, const float* x);
// Fused variants of the tensor-core kernel (every weight must pass skinny_uses_tensor_cores, with one
// type and n_in). Each gives the same bits as the plain products followed by the plain epilogue.
// y[i] = W[i] x for up to 3 weights in one launch (Q|K|V).
void matmul_skinny_n(int n, const dev_weight* w, const float* x, int T, float* const* y, cudaStream_t s);
// y += W x: the residual add in the epilogue.
void matmul_skinny_add(const dev_weight& w, const float* x, int T, float* y, cudaStream_t s);
// g = silu(gate x) * (up x), gate and up rows side by side in each block; no scratch.
void matmul_skinny_swiglu(const dev_weight& gate, const dev_weight& up, const float* x, int T, float* g,
                          cudaStream_t s);
// The tensor-core GEMM for prefill (T > SKINNY_MAX_T); needs gemm_prefill_supported(w), 16-byte aligned x.
bool gemm_prefill_supported(const dev_weight& w);
void gemm_prefill(const dev_weight& w, const float* x, int T, float* y, cudaStream_t s);
void embed(const dev_weight& E, const int32_t* ids_dev, int T, float* out, cudaStream_t s);
void rmsnorm(const float* x, const float* w, int T, int n, float eps, float* out, cudaStream_t s);
// Positions: pos_dev when not null, else pos0 + t * pos_step (the common cases need no upload).
void rope(float* x, int T, int n_head, int hd, const int32_t* pos_dev, int pos0, int pos_step,
          const float* inv_freq, bool interleaved, cudaStream_t s);
// rope() of q (T, n_head, hd) and k (T, n_head_kv, hd) at the same positions in one launch.
void rope_qk(float* q, int n_head, float* k, int n_head_kv, int T, int hd, const int32_t* pos_dev, int pos0,
             int pos_step, const float* inv_freq, bool interleaved, cudaStream_t s);
// Split-K attention; scratch holds attention_scratch_floats(...) floats. Common shapes take the warp
// kernel (attention_warp.cu), others the block kernel; attention_block_kernel_only(true) makes every
// shape take the block kernel (tests check both against the reference; not thread-safe).
void attention_block_kernel_only(bool on);
size_t attention_scratch_floats(int T, int n_prefix, int n_head, int hd);
void attention(const float* q, const float* k_new, const float* v_new, int T, const float* k_cache,
               const float* v_cache, int n_prefix, int n_head, int n_head_kv, int hd, bool diagonal, float* out,
               float* scratch, cudaStream_t s);
void silu_mul(float* g, const float* u, size_t n, cudaStream_t s);
void add(float* x, const float* y, size_t n, cudaStream_t s);
// Q8_0 GGUF blocks (34 bytes each, on the device) -> the dev_weight layout above.
void repack_q8_0(const void* blocks_dev, int64_t n_out, int64_t n_in, int8_t* qs, __half* scales, cudaStream_t s);

}  // namespace cuda
}  // namespace clasp
