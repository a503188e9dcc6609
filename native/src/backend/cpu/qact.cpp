#include "qact.h"
#include <cmath>
#include <cstring>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace clasp {
namespace {

// x rounded to the nearest integer, ties to even, as std::nearbyint in the default rounding mode:
// adding and taking off 1.5 * 2^23 leaves no fraction bits (|x| <= 127 here; without -ffast-math
// the compiler keeps both operations). Inline, where the library call cost more than the rest.
inline float round_even(float x) { return (x + 12582912.f) - 12582912.f; }

// 127 / amax, the factor that takes a block to its codes; 0 for a zero block, and for a block so small
// (amax < 127 / FLT_MAX, subnormal values only) that it overflows: such a block's codes are all 0
// (its products are below float's range anyway), where an infinite factor would make them undefined.
inline float code_scale(float amax) {
    const float id = amax > 0.f ? 127.f / amax : 0.f;
    return id <= 3.4028235e38f ? id : 0.f;
}

// q = round(x * 127 / amax) in [-127, 127], and the sum of each 16 q in sum16; returns d = amax / 127
// (0 for an all-zero block). A block holding inf or NaN gets d = NaN, so that the products come out
// NaN as in float arithmetic. n is a multiple of 32.
float quantize_block_portable(const float* x, int n, int8_t* q, int32_t* sum16) {
    float amax = 0.f;
    bool finite = true;
    for (int j = 0; j < n; j++) {
        const float a = std::fabs(x[j]);
        finite = finite && a <= 3.4028235e38f;  // false for inf and NaN
        amax = a > amax ? a : amax;
    }
    if (!finite) {
        std::memset(q, 0, n);
        std::memset(sum16, 0, n / 16 * sizeof(int32_t));
        return NAN;
    }
    const float d = amax / 127.f, id = code_scale(amax);
    for (int j = 0; j < n; j++) q[j] = (int8_t)round_even(x[j] * id);
    for (int j = 0; j < n / 16; j++) {
        int s = 0;
        for (int l = 0; l < 16; l++) s += q[16 * j + l];
        sum16[j] = s;
    }
    return d;
}

#if defined(__x86_64__)
// The same with AVX2, bit for bit: every step is exact per element (fabs, max, one multiply, rounding
// to nearest even) or an integer sum. At 1.2 ns an element the portable loop took about 5% of a
// 12-token verify of the 1B model on two threads.
__attribute__((target("avx2"))) float quantize_block_avx2(const float* x, int n, int8_t* q, int32_t* sum16) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)), big = _mm256_set1_ps(3.4028235e38f);
    __m256 mx = _mm256_setzero_ps(), ok = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (int j = 0; j < n; j += 8) {
        const __m256 a = _mm256_and_ps(_mm256_loadu_ps(x + j), abs_mask);
        ok = _mm256_and_ps(ok, _mm256_cmp_ps(a, big, _CMP_LE_OQ));
        mx = _mm256_max_ps(mx, a);
    }
    if (_mm256_movemask_ps(ok) != 0xFF) return quantize_block_portable(x, n, q, sum16);
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float amax = _mm_cvtss_f32(m);
    const float d = amax / 127.f, id = code_scale(amax);
    const __m256 vid = _mm256_set1_ps(id);
    for (int j = 0; j < n; j += 16) {
        const __m256i c0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j), vid),
                                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        const __m256i c1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j + 8), vid),
                                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        // c0 then c1 as 16 int16 (packs interleaves the 128-bit lanes), then as 16 int8
        const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(c0, c1), 0xD8);
        _mm_storeu_si128((__m128i*)(q + j), _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1)));
        __m256i s = _mm256_add_epi32(c0, c1);
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
        sum16[j / 16] = _mm_cvtsi128_si32(h);
    }
    return d;
}

bool has_avx2() {
    static const bool yes = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") != 0;
    }();
    return yes;
}
#endif

float quantize_block(const float* x, int n, int8_t* q, int32_t* sum16, bool simd) {
#if defined(__x86_64__)
    if (simd && has_avx2()) return quantize_block_avx2(x, n, q, sum16);
#endif
    (void)simd;
    return quantize_block_portable(x, n, q, sum16);
}

}  // namespace

void quantize_act(act_kind k, const float* x, int64_t n, void* out, bool simd) {
    int8_t* qs = (int8_t*)out;
    float* d = (float*)((uint8_t*)out + n);
    int32_t sum16[QK_K / 16];
    if (k == act_kind::q8_32) {
        int32_t* s = (int32_t*)(d + n / 32);
        for (int64_t i = 0; i < n / 32; i++) {
            d[i] = quantize_block(x + 32 * i, 32, qs + 32 * i, sum16, simd);
            s[i] = sum16[0] + sum16[1];
        }
    } else if (k == act_kind::q8_K) {
        int16_t* bsums = (int16_t*)(d + n / QK_K);
        int16_t* sums32 = bsums + n / 16;
        for (int64_t i = 0; i < n / QK_K; i++) {
            d[i] = quantize_block(x + QK_K * i, QK_K, qs + QK_K * i, sum16, simd);
            for (int j = 0; j < QK_K / 16; j++) bsums[QK_K / 16 * i + j] = (int16_t)sum16[j];
            for (int j = 0; j < QK_K / 32; j++) sums32[QK_K / 32 * i + j] = (int16_t)(sum16[2 * j] + sum16[2 * j + 1]);
        }
    }
}

}  // namespace clasp
