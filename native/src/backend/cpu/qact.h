// Activations for the integer kernels: each token's float32 vector quantized to 8-bit blocks, as
// llama.cpp does (its q8_0 / q8_1 / q8_K). A quantized weight row is then multiplied in integers
// and the float scales are applied once per block. Quantization depends only on the token's own
// values, so a token's activations (and results) are the same alone or in a batch.
//
// One token's quantized activations of n elements, in one buffer (arrays rather than blocks, so
// SIMD code loads 8 scales at once):
//   q8_32 (for Q8_0, Q4_0, Q4_1, Q5_0, Q5_1): qs[n] int8, d[n/32] float, s[n/32] int32 (s = sum of
//         a block's qs: the zero-point and min corrections need it)
//   q8_K  (for Q4_K, Q5_K, Q6_K): qs[n] int8, d[n/256] float, bsums[n/16] int16 (sums of 16 qs),
//         sums32[n/32] int16 (sums of 32 qs: the tile kernels' Q4_K / Q5_K min correction takes two
//         sub-blocks per 16-bit multiply-add with them)
#pragma once
#include "../../core/dtype.h"
#include <cstddef>
#include <cstdint>

namespace clasp {

enum class act_kind { f32, q8_32, q8_K };

// The activation format a weight type multiplies with.
inline act_kind act_for(dtype t) {
    switch (t) {
        case dtype::Q8_0: case dtype::Q4_0: case dtype::Q4_1: case dtype::Q5_0: case dtype::Q5_1: return act_kind::q8_32;
        case dtype::Q4_K: case dtype::Q5_K: case dtype::Q6_K: return act_kind::q8_K;
        default: return act_kind::f32;
    }
}

// Bytes of one token's quantized activations of n elements (n a multiple of the block size).
inline size_t act_row_bytes(act_kind k, int64_t n) {
    if (k == act_kind::q8_32) return (size_t)n + (size_t)(n / 32) * 8;
    if (k == act_kind::q8_K) return (size_t)n + (size_t)(n / QK_K) * 4 + (size_t)(n / 16) * 2 + (size_t)(n / 32) * 2;
    return (size_t)n * 4;
}

// Views of one token's arrays (a: the token's buffer, n: its length).
inline const int8_t* act_qs(const void* a) { return (const int8_t*)a; }
inline const float* act_d(const void* a, int64_t n) { return (const float*)((const uint8_t*)a + n); }
inline const int32_t* act_s(const void* a, int64_t n) { return (const int32_t*)((const uint8_t*)a + n + n / 32 * 4); }
inline const int16_t* act_bsums(const void* a, int64_t n) {
    return (const int16_t*)((const uint8_t*)a + n + n / QK_K * 4);
}
inline const int16_t* act_sums32(const void* a, int64_t n) { return act_bsums(a, n) + n / 16; }

// Quantizes one token: per block d = max|x| / 127, q = round(x / d). With AVX2 where the processor has
// it (simd), else the portable loop: the same bytes either way.
void quantize_act(act_kind k, const float* x, int64_t n, void* out, bool simd = true);

}  // namespace clasp
