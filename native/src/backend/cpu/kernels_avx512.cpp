// AVX-512 kernels (compiled with -mavx512f -mavx512bw -mavx512vl -mfma -mf16c; only called after a
// run-time check). Weights are widened to float32 in registers and never copied to memory.
#include "kernels.h"
#include <immintrin.h>

namespace clasp {
namespace {

constexpr int R = 4;   // weight rows per inner kernel
constexpr int TB = 4;  // tokens per inner kernel

// Loads 16 weights starting at element i of a row, as float32.
template <dtype D>
inline __m512 load16(const uint8_t* row, int64_t i, __mmask16 m) {
    if constexpr (D == dtype::F32) return _mm512_maskz_loadu_ps(m, (const float*)row + i);
    if constexpr (D == dtype::F16) return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t*)row + i));
    if constexpr (D == dtype::BF16)
        return _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t*)row + i)), 16));
    return _mm512_setzero_ps();
}

template <dtype D, int NR, int NT>
inline void tile(const weight& W, const float* x, float* y, int64_t r, int t0) {
    const int64_t n = W.n_in;
    __m512 acc[NR][NT];
    for (int a = 0; a < NR; a++)
        for (int b = 0; b < NT; b++) acc[a][b] = _mm512_setzero_ps();
    const uint8_t* rows[NR];
    for (int a = 0; a < NR; a++) rows[a] = W.row(r + a);
    const float* xs[NT];
    for (int b = 0; b < NT; b++) xs[b] = x + (size_t)(t0 + b) * n;
    if constexpr (D == dtype::Q8_0) {
        for (int64_t blk = 0; blk < n / QK8_0; blk++) {
            __m512 xv0[NT], xv1[NT];
            for (int b = 0; b < NT; b++) {
                xv0[b] = _mm512_loadu_ps(xs[b] + blk * QK8_0);
                xv1[b] = _mm512_loadu_ps(xs[b] + blk * QK8_0 + 16);
            }
            for (int a = 0; a < NR; a++) {
                const block_q8_0* bq = (const block_q8_0*)rows[a] + blk;
                __m512 d = _mm512_set1_ps(_cvtsh_ss(bq->d));
                __m512 w0 = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)bq->qs))));
                __m512 w1 = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(bq->qs + 16)))));
                for (int b = 0; b < NT; b++) {
                    acc[a][b] = _mm512_fmadd_ps(w0, xv0[b], acc[a][b]);
                    acc[a][b] = _mm512_fmadd_ps(w1, xv1[b], acc[a][b]);
                }
            }
        }
    } else {
        for (int64_t i = 0; i < n; i += 16) {
            __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
            __m512 xv[NT];
            for (int b = 0; b < NT; b++) xv[b] = _mm512_maskz_loadu_ps(m, xs[b] + i);
            for (int a = 0; a < NR; a++) {
                __m512 w = load16<D>(rows[a], i, m);
                for (int b = 0; b < NT; b++) acc[a][b] = _mm512_fmadd_ps(w, xv[b], acc[a][b]);
            }
        }
    }
    for (int a = 0; a < NR; a++)
        for (int b = 0; b < NT; b++) y[(size_t)(t0 + b) * W.n_out + r + a] = _mm512_reduce_add_ps(acc[a][b]);
}

template <dtype D, int NR>
inline void tokens(const weight& W, const float* x, int T, float* y, int64_t r) {
    int t = 0;
    for (; t + TB <= T; t += TB) tile<D, NR, TB>(W, x, y, r, t);
    switch (T - t) {
        case 1: tile<D, NR, 1>(W, x, y, r, t); break;
        case 2: tile<D, NR, 2>(W, x, y, r, t); break;
        case 3: tile<D, NR, 3>(W, x, y, r, t); break;
    }
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
    __m512 acc = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

void axpy(float a, const float* x, float* y, int n) {
    __m512 av = _mm512_set1_ps(a);
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

}  // namespace

const cpu_kernels& cpu_kernels_avx512() {
    static const cpu_kernels k{"avx512", matmul_rows, dot, axpy};
    return k;
}

}  // namespace clasp
