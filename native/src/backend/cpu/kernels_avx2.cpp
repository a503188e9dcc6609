// AVX2 + FMA + F16C kernels (compiled with -mavx2 -mfma -mf16c; only called after a run-time check).
#include "kernels.h"
#include "qdot.h"
#include <algorithm>
#include <cmath>
#include <immintrin.h>

namespace clasp {
namespace {

// Fully unrolls a loop over tile rows/tokens so that accumulators live in registers (-O2 does not).
#define UNROLL _Pragma("GCC unroll 16")

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

// pf: when not 0, prefetches the bytes pf ahead of each row as it goes. next, next_lines: also
// prefetches that many cache lines from next on into L2, evenly over the loop (the next panel's rows
// while many tokens go past this one: many_tokens).
template <dtype D, int NR, int NT>
inline void tile(const weight& W, const float* x, float* y, int64_t r, int t0, bool accum, int64_t pf,
                 const char* next = nullptr, int64_t next_lines = 0) {
    const int64_t n = W.n_in;
    __m256 acc[NR][NT];
    UNROLL
    for (int a = 0; a < NR; a++)
        UNROLL
        for (int b = 0; b < NT; b++) acc[a][b] = _mm256_setzero_ps();
    const uint8_t* rows[NR];
    UNROLL
    for (int a = 0; a < NR; a++) rows[a] = W.row(r + a);
    const float* xs[NT];
    UNROLL
    for (int b = 0; b < NT; b++) xs[b] = x + (size_t)(t0 + b) * n;
    float tail[NR][NT] = {};
    auto step = [&](int64_t i) {
        __m256 xv[NT];
        UNROLL
        for (int b = 0; b < NT; b++) xv[b] = _mm256_loadu_ps(xs[b] + i);
        UNROLL
        for (int a = 0; a < NR; a++) {
            __m256 w = load8<D>(rows[a], i);
            UNROLL
            for (int b = 0; b < NT; b++) acc[a][b] = _mm256_fmadd_ps(w, xv[b], acc[a][b]);
        }
    };
    // 64 bytes of each row per iteration, with one prefetch each (the same multiply-adds in the same
    // order as 8 elements at a time)
    constexpr int64_t line = D == dtype::F32 ? 16 : 32, elem_bytes = D == dtype::F32 ? 4 : 2;
    const int64_t iters = std::max<int64_t>(1, n / line), per_iter = (next_lines + iters - 1) / iters;
    int64_t i = 0;
    for (; i + line <= n; i += line) {
        if (pf)
            UNROLL
            for (int a = 0; a < NR; a++) _mm_prefetch((const char*)rows[a] + i * elem_bytes + pf, _MM_HINT_T0);
        for (int64_t k = 0; k < per_iter && next_lines > 0; k++, next_lines--, next += 64) _mm_prefetch(next, _MM_HINT_T1);
        UNROLL
        for (int64_t s = 0; s < line; s += 8) step(i + s);
    }
    for (; i + 8 <= n; i += 8) step(i);
    for (; i < n; i++)
        UNROLL
        for (int a = 0; a < NR; a++)
            UNROLL
            for (int b = 0; b < NT; b++) tail[a][b] += scalar_w<D>(rows[a], i) * xs[b][i];
    UNROLL
    for (int a = 0; a < NR; a++)
        UNROLL
        for (int b = 0; b < NT; b++) {
            float s = hsum(acc[a][b]) + tail[a][b];
            float& yo = y[(size_t)(t0 + b) * W.n_out + r + a];
            yo = accum ? yo + s : s;
        }
}

template <dtype D, int NR>
inline void tokens(const weight& W, const float* x, int T, float* y, int64_t r, bool accum, int64_t pf) {
    int t = 0;
    for (; t + TB <= T; t += TB) tile<D, NR, TB>(W, x, y, r, t, accum, pf);
    if (t < T) tile<D, NR, 1>(W, x, y, r, t, accum, pf);
}

// Many tokens (prefill, CLaSp's verify): each group of 4 rows against every token, 2 at a time, while
// the tiles prefetch the next group's rows, a share each. The first tile reads a group's rows and the
// others find them in cache; with only the prefetch within the row, the first tile waited on memory
// for every group (1B F16 on a Zen 3: a 12-token pass 300-323 ms before, 250-256 after; docs/PERF.md).
template <dtype D>
void many_tokens(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1, bool accum) {
    const int64_t pf = prefetch_distance(W), rb = (int64_t)row_bytes(W.type, W.n_in);
    const int n_tiles = (T + TB - 1) / TB;
    int64_t r = r0;
    for (; r + R <= r1; r += R) {
        const int64_t next_rows = std::clamp<int64_t>(r1 - r - R, 0, R), lines = (next_rows * rb + 63) / 64;
        const int64_t per = (lines + n_tiles - 1) / n_tiles;
        for (int k = 0; k < n_tiles; k++) {
            const int t = k * TB;
            const char* next = (const char*)W.row(r + R) + k * per * 64;
            const int64_t nl = std::max<int64_t>(0, std::min(per, lines - k * per));
            const int64_t p = r == r0 && k == 0 ? pf : 0;  // the first group's rows: the prefetch within the row
            if (t + TB <= T) tile<D, R, TB>(W, x, y, r, t, accum, p, next, nl);
            else tile<D, R, 1>(W, x, y, r, t, accum, p, next, nl);
        }
    }
    for (; r < r1; r++) tokens<D, 1>(W, x, T, y, r, accum, pf);
}

template <dtype D>
void rows_of(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1, bool accum) {
    if (T > TB) return many_tokens<D>(W, x, T, y, r0, r1, accum);
    const int64_t pf = prefetch_distance(W);
    int64_t r = r0;
    for (; r + R <= r1; r += R) tokens<D, R>(W, x, T, y, r, accum, pf);
    for (; r < r1; r++) tokens<D, 1>(W, x, T, y, r, accum, pf);
}

void matmul_rows(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1, bool accum) {
    switch (W.type) {
        case dtype::F32: return rows_of<dtype::F32>(W, x, T, y, r0, r1, accum);
        case dtype::F16: return rows_of<dtype::F16>(W, x, T, y, r0, r1, accum);
        case dtype::BF16: return rows_of<dtype::BF16>(W, x, T, y, r0, r1, accum);
        default: return;  // the quantized types, Q8_0 too at this level: the integer kernels (qdot.h)
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

// exp(x): 2^n * exp(r), |r| <= ln2 / 2, exp(r) by the Cephes polynomial (about 1 ulp). Results
// below 2^-126 come out as 2^-126 and above 2^127 as infinity, harmless where it is used.
inline __m256 exp8(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f)), _mm256_set1_ps(-87.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline __m256 silu_mul8(__m256 g, __m256 u) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.f), e)), u);
}

void scale_mul(const float* x, float sc, const float* w, int n, float* out) {
    for (int i = 0; i < n; i++) out[i] = x[i] * sc * w[i];
}

void silu_mul(float* g, const float* u, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(g + i, silu_mul8(_mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i)));
    if (i < n) {  // the same vector arithmetic for the last few elements
        float gb[8] = {}, ub[8] = {};
        for (size_t k = i; k < n; k++) gb[k - i] = g[k], ub[k - i] = u[k];
        _mm256_storeu_ps(gb, silu_mul8(_mm256_loadu_ps(gb), _mm256_loadu_ps(ub)));
        for (size_t k = i; k < n; k++) g[k] = gb[k - i];
    }
}

void attend1(const float* q, const float* k0, const float* v0, int n0, const float* k1, const float* v1, int n1,
             size_t stride, int hd, float scale, float* s, float* out) {
    const int n = n0 + n1;
    auto key = [&](int j) { return j < n0 ? k0 + (size_t)j * stride : k1 + (size_t)(j - n0) * stride; };
    auto val = [&](int j) { return j < n0 ? v0 + (size_t)j * stride : v1 + (size_t)(j - n0) * stride; };
    float mx = -INFINITY;
    for (int j = 0; j < n; j++) {
        s[j] = dot(q, key(j), hd) * scale;
        mx = std::max(mx, s[j]);
    }
    for (int j = n; j < n + 8; j++) s[j] = -INFINITY;
    __m256 vsum = _mm256_setzero_ps(), vmx = _mm256_set1_ps(mx);
    for (int j = 0; j < n; j += 8) {  // s has room for the padding
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), vmx));
        e = _mm256_and_ps(e, _mm256_cmp_ps(_mm256_loadu_ps(s + j), _mm256_set1_ps(-INFINITY), _CMP_NEQ_OQ));
        _mm256_storeu_ps(s + j, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    const float inv = 1.0f / hsum(vsum);
    for (int i = 0; i < hd; i++) out[i] = 0.f;
    for (int j = 0; j < n; j++) axpy(s[j], val(j), out, hd);
    for (int i = 0; i < hd; i++) out[i] *= inv;
}

void attend(const float* q, int G, const float* k0, const float* v0, int n0, const float* k1, const float* v1, int n1,
            size_t stride, int hd, float scale, float* s, float* out) {
    for (int g = 0; g < G; g++)
        attend1(q + (size_t)g * hd, k0, v0, n0, k1, v1, n1, stride, hd, scale, s, out + (size_t)g * hd);
}

}  // namespace

const cpu_kernels& cpu_kernels_avx2() {
    static const cpu_kernels k{"avx2", matmul_rows, dot, axpy, scale_mul, silu_mul, attend, qdot_table_avx2(),
                               qgemm_table_avx2(), true};
    return k;
}

const cpu_kernels& cpu_kernels_avxvnni() {
    static const cpu_kernels k{"avxvnni", matmul_rows, dot, axpy, scale_mul, silu_mul, attend, qdot_table_avxvnni(),
                               qgemm_table_avxvnni(), true};
    return k;
}

}  // namespace clasp
