#include "kv_f16.h"
#include "../../core/dtype.h"
#include <immintrin.h>

namespace clasp {
namespace {

bool has_f16c() {
    static const bool yes = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
    }();
    return yes;
}

// 8 at a time; a tail goes through a zero-padded block so that it takes the same instructions.
__attribute__((target("avx,f16c"))) void widen_f16c(const uint16_t* src, float* dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(src + i))));
    if (i < n) {
        uint16_t h[8] = {};
        float f[8];
        for (size_t k = i; k < n; k++) h[k - i] = src[k];
        _mm256_storeu_ps(f, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)h)));
        for (size_t k = i; k < n; k++) dst[k] = f[k - i];
    }
}

__attribute__((target("avx,f16c"))) void narrow_f16c(const float* src, uint16_t* dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i*)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    if (i < n) {
        float f[8] = {};
        uint16_t h[8];
        for (size_t k = i; k < n; k++) f[k - i] = src[k];
        _mm_storeu_si128((__m128i*)h, _mm256_cvtps_ph(_mm256_loadu_ps(f), _MM_FROUND_TO_NEAREST_INT));
        for (size_t k = i; k < n; k++) dst[k] = h[k - i];
    }
}

}  // namespace

void f16_to_f32_row(const uint16_t* src, float* dst, size_t n) {
    if (has_f16c()) return widen_f16c(src, dst, n);
    for (size_t i = 0; i < n; i++) dst[i] = fp16_to_fp32(src[i]);
}

void f32_to_f16_row(const float* src, uint16_t* dst, size_t n) {
    if (has_f16c()) return narrow_f16c(src, dst, n);
    for (size_t i = 0; i < n; i++) dst[i] = fp32_to_fp16(src[i]);
}

void f32_round_f16_row(const float* src, float* dst, size_t n) {
    uint16_t h[64];
    for (size_t i = 0; i < n; i += 64) {
        const size_t m = n - i < 64 ? n - i : 64;
        f32_to_f16_row(src + i, h, m);
        f16_to_f32_row(h, dst + i, m);
    }
}

}  // namespace clasp
