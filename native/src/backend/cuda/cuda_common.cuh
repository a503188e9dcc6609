// Device helpers shared by the CUDA kernels: warp reductions, weight loads, bf16/f16 packing and the
// mma.sync wrapper. The host-side pieces (error check, dev_weight, the op launchers) are in cuda_ops.h.
#pragma once
#include "cuda_ops.h"
#include <cuda_bf16.h>

namespace clasp {
namespace cuda {

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

}  // namespace cuda
}  // namespace clasp
