// Shared pieces of the CUDA backend: the error check, the device view of a weight matrix, small
// device helpers (warp reductions, bf16/f16 packing, the mma.sync wrapper) and the op launchers.
#pragma once
#include "../../core/dtype.h"
#include "../../core/error.h"
#include <cuda_bf16.h>
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

// ---- device helpers

constexpr unsigned FULL_MASK = 0xffffffffu;

__device__ __forceinline__ float warp_sum(float v) {
    // A fixed butterfly: the same order for every call, so results are reproducible.
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// Loads one weight element as float (exact conversion; Q8_0 as d * q like dequantize_row).
__device__ __forceinline__ float load_weight(const dev_weight& w, int64_t row, int64_t i) {
    switch (w.type) {
        case dtype::F32: return ((const float*)w.data)[row * w.n_in + i];
        case dtype::F16: return __half2float(((const __half*)w.data)[row * w.n_in + i]);
        case dtype::BF16: return __bfloat162float(((const __nv_bfloat16*)w.data)[row * w.n_in + i]);
        case dtype::Q8_0: {
            float d = __half2float(w.scales[row * (w.n_in / QK8_0) + i / QK8_0]);
            return d * (float)((const int8_t*)w.data)[row * w.n_in + i];
        }
    }
    return 0.f;
}

// Tensor-core element types: the weights' own 16-bit type (Q8_0 quants become f16, exactly).
struct tc_bf16 {};
struct tc_f16 {};

// Splits x into hi + lo 16-bit parts (x ~= hi + lo to about 16 significant bits) and packs the pairs
// (a, b) into 32-bit words, low half first, as mma.sync fragments expect.
template <typename TC>
__device__ __forceinline__ void split_pack(float a, float b, uint32_t& hi, uint32_t& lo);

template <>
__device__ __forceinline__ void split_pack<tc_bf16>(float a, float b, uint32_t& hi, uint32_t& lo) {
    __nv_bfloat16 ah = __float2bfloat16_rn(a), bh = __float2bfloat16_rn(b);
    __nv_bfloat16 al = __float2bfloat16_rn(a - __bfloat162float(ah));
    __nv_bfloat16 bl = __float2bfloat16_rn(b - __bfloat162float(bh));
    hi = (uint32_t)__bfloat16_as_ushort(ah) | ((uint32_t)__bfloat16_as_ushort(bh) << 16);
    lo = (uint32_t)__bfloat16_as_ushort(al) | ((uint32_t)__bfloat16_as_ushort(bl) << 16);
}

template <>
__device__ __forceinline__ void split_pack<tc_f16>(float a, float b, uint32_t& hi, uint32_t& lo) {
    __half ah = __float2half_rn(a), bh = __float2half_rn(b);
    __half al = __float2half_rn(a - __half2float(ah));
    __half bl = __float2half_rn(b - __half2float(bh));
    hi = (uint32_t)__half_as_ushort(ah) | ((uint32_t)__half_as_ushort(bh) << 16);
    lo = (uint32_t)__half_as_ushort(al) | ((uint32_t)__half_as_ushort(bl) << 16);
}

// Two int8 quants -> a packed pair of f16 (exact: |q| <= 128 fits the f16 mantissa).
__device__ __forceinline__ uint32_t pack_q8_pair(int8_t a, int8_t b) {
    __half ha = __int2half_rn((int)a), hb = __int2half_rn((int)b);
    return (uint32_t)__half_as_ushort(ha) | ((uint32_t)__half_as_ushort(hb) << 16);
}

// d += A(16x16, row) * B(16x8, col) with fp32 accumulation (PTX mma.sync.m16n8k16, sm_80+).
// Fragments (lane = 4 * g + tig): a = {A[g][2tig..], A[g+8][2tig..], A[g][2tig+8..], A[g+8][2tig+8..]},
// b = {B[2tig..][g], B[2tig+8..][g]}, d = {D[g][2tig], D[g][2tig+1], D[g+8][2tig], D[g+8][2tig+1]}.
template <typename TC>
__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);

template <>
__device__ __forceinline__ void mma_16816<tc_bf16>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <>
__device__ __forceinline__ void mma_16816<tc_f16>(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// ---- op launchers (one .cu file each); all run on `s` and return without waiting.

// Products of up to SKINNY_MAX_T tokens always use matmul_skinny, so that every verify batch the
// engine can form (max_draft <= 64) is batch-invariant with decode; longer ones use the GEMM.
constexpr int SKINNY_MAX_T = 80;
// y (T, n_out) = x (T, n_in) . W^T for any T; batch-invariant (see matmul_skinny.cu).
void matmul_skinny(const dev_weight& w, const float* x, int T, float* y, cudaStream_t s);
// The tensor-core GEMM for prefill (T > SKINNY_MAX_T); needs gemm_prefill_supported(w), 16-byte aligned x.
bool gemm_prefill_supported(const dev_weight& w);
void gemm_prefill(const dev_weight& w, const float* x, int T, float* y, cudaStream_t s);
void embed(const dev_weight& E, const int32_t* ids_dev, int T, float* out, cudaStream_t s);
void rmsnorm(const float* x, const float* w, int T, int n, float eps, float* out, cudaStream_t s);
// Positions: pos_dev when not null, else pos0 + t * pos_step (the common cases need no upload).
void rope(float* x, int T, int n_head, int hd, const int32_t* pos_dev, int pos0, int pos_step,
          const float* inv_freq, bool interleaved, cudaStream_t s);
// Split-K attention; scratch holds attention_scratch_floats(...) floats.
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
