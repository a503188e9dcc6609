// F16 <-> F32 conversions for an F16 KV cache on the CPU: F16C instructions where the processor has
// them, else the exact scalar conversions of core/dtype.h (widening is exact; narrowing rounds to
// nearest even). Within one process every element goes through the same path, so a key rounded
// on its way into attention and the same key stored in the cache are the same bits.
#pragma once
#include <cstddef>
#include <cstdint>

namespace clasp {

void f16_to_f32_row(const uint16_t* src, float* dst, size_t n);
void f32_to_f16_row(const float* src, uint16_t* dst, size_t n);
// dst[i] = src[i] rounded to F16 and back (what an F16 cache holds of it)
void f32_round_f16_row(const float* src, float* dst, size_t n);

}  // namespace clasp
