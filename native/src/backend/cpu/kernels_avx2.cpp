// AVX2 + FMA + F16C kernels (compiled with -mavx2 -mfma -mf16c; only called after a run-time check).
#include "kernels.h"
#include <immintrin.h>

namespace clasp {
namespace {

constexpr int R = 4;
constexpr int TB = 2;

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

template <dtype D>
inline __m256 load8(const uint8_t* row, int64_t i) {
    if constexpr (D == dtype::F32) return _mm256_loadu_ps((const float*)row + i);
    if constexpr (D == dtype::F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)((const uint16_t*)row + i)));
    if constexpr (D == dtype::BF16)
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)((const uint16_t*)row + i))), 16));
    return _mm256_setzero_ps();
}

template <dtype D>
inline float scalar_w(const uint8_t* row, int64_t i) {
    if constexpr (D == dtype::F32) return ((const float*)row)[i];
    if constexpr (D == dtype::F16) return fp16_to_fp32(((const uint16_t*)row)[i]);
    return bf16_to_fp32(((const uint16_t*)row)[i]);
}

template <dtype D, int NR, int NT>
inline void tile(const weight& W, const float* x, float* y, int64_t r, int t0) {
    const int64_t n = W.n_in;
    __m256 acc[NR][NT];
    for (int a = 0; a < NR; a++)
        for (int b = 0; b < NT; b++) acc[a][b] = _mm256_setzero_ps();
    const uint8_t* rows[NR];
    for (int a = 0; a < NR; a++) rows[a] = W.row(r + a);
    const float* xs[NT];
    for (int b = 0; b < NT; b++) xs[b] = x + (size_t)(t0 + b) * n;
    float tail[NR][NT] = {};
    if constexpr (D == dtype::Q8_0) {
        for (int64_t blk = 0; blk < n / QK8_0; blk++) {
            for (int a = 0; a < NR; a++) {
                const block_q8_0* bq = (const block_q8_0*)rows[a] + blk;
                __m256 d = _mm256_set1_ps(_cvtsh_ss(bq->d));
                for (int k = 0; k < 4; k++) {
                    __m256 w = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(bq->qs + 8 * k)))));
                    for (int b = 0; b < NT; b++)
                        acc[a][b] = _mm256_fmadd_ps(w, _mm256_loadu_ps(xs[b] + blk * QK8_0 + 8 * k), acc[a][b]);
                }
            }
        }
    } else {
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256 xv[NT];
            for (int b = 0; b < NT; b++) xv[b] = _mm256_loadu_ps(xs[b] + i);
            for (int a = 0; a < NR; a++) {
                __m256 w = load8<D>(rows[a], i);
                for (int b = 0; b < NT; b++) acc[a][b] = _mm256_fmadd_ps(w, xv[b], acc[a][b]);
            }
        }
        for (; i < n; i++)
            for (int a = 0; a < NR; a++)
                for (int b = 0; b < NT; b++) tail[a][b] += scalar_w<D>(rows[a], i) * xs[b][i];
    }
    for (int a = 0; a < NR; a++)
        for (int b = 0; b < NT; b++) y[(size_t)(t0 + b) * W.n_out + r + a] = hsum(acc[a][b]) + tail[a][b];
}

template <dtype D, int NR>
inline void tokens(const weight& W, const float* x, int T, float* y, int64_t r) {
    int t = 0;
    for (; t + TB <= T; t += TB) tile<D, NR, TB>(W, x, y, r, t);
    if (t < T) tile<D, NR, 1>(W, x, y, r, t);
}

template <dtype D>
void rows_of(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1) {
    int64_t r = r0;
    for (; r + R <= r1; r += R) tokens<D, R>(W, x, T, y, r);
    for (; r < r1; r++) tokens<D, 1>(W, x, T, y, r);
}

void matmul_rows(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1) {
    switch (W.type) {
        case dtype::F32: return rows_of<dtype::F32>(W, x, T, y, r0, r1);
        case dtype::F16: return rows_of<dtype::F16>(W, x, T, y, r0, r1);
        case dtype::BF16: return rows_of<dtype::BF16>(W, x, T, y, r0, r1);
        case dtype::Q8_0: return rows_of<dtype::Q8_0>(W, x, T, y, r0, r1);
    }
}

float dot(const float* a, const float* b, int n) {
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float s = hsum(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

void axpy(float a, const float* x, float* y, int n) {
    __m256 av = _mm256_set1_ps(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

}  // namespace

const cpu_kernels& cpu_kernels_avx2() {
    static const cpu_kernels k{"avx2", matmul_rows, dot, axpy};
    return k;
}

}  // namespace clasp
