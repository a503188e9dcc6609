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
    // One token (decode): tiles of 8 rows, as the AVX-512 kernel has; twice the rows read from memory
    // at once (1B F16 decode step at the AVX2 level, 2 threads: 48.0-48.5 -> 42.0-42.9 ms;
    // docs/PERF.md). Each row's sums are the same as in a 4-row tile.
    if (T == 1)
        for (; r + 2 * R <= r1; r += 2 * R) tile<D, 2 * R, 1>(W, x, y, r, 0, accum, pf);
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

// The lanes of the first `left` floats (all 8 when left >= 8), for masked loads and stores.
inline __m256i lanes_below(int left) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Sums the lanes of 8 vectors: lane j of the result is the sum of v[j], by the same tree for every j
// (((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))), so a key's score does not depend on its place
// in the group.
inline __m256 reduce8(const __m256* v) {
    const __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    const __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// Scores of one query against 8 keys: s[j] = scale * (q . k_j), each key's lanes summed over the
// head in order, then reduce8. HC: hd / 8 when known at compile time (the query stays in registers),
// else 0; the same arithmetic either way.
template <int HC>
inline void scores8(const float* q, const float* const* kp, int hd, __m256 vscale, float* s) {
    __m256 acc[8];
    UNROLL
    for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_ps();
    if constexpr (HC > 0) {
        __m256 qv[HC];
        UNROLL
        for (int c = 0; c < HC; c++) qv[c] = _mm256_loadu_ps(q + 8 * c);
        UNROLL
        for (int j = 0; j < 8; j++)
            UNROLL
            for (int c = 0; c < HC; c++) acc[j] = _mm256_fmadd_ps(qv[c], _mm256_loadu_ps(kp[j] + 8 * c), acc[j]);
    } else {
        int i = 0;
        for (; i + 8 <= hd; i += 8) {
            const __m256 qv = _mm256_loadu_ps(q + i);
            UNROLL
            for (int j = 0; j < 8; j++) acc[j] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kp[j] + i), acc[j]);
        }
        if (i < hd) {
            const __m256i m = lanes_below(hd - i);
            const __m256 qv = _mm256_maskload_ps(q + i, m);
            UNROLL
            for (int j = 0; j < 8; j++) acc[j] = _mm256_fmadd_ps(qv, _mm256_maskload_ps(kp[j] + i, m), acc[j]);
        }
    }
    _mm256_storeu_ps(s, _mm256_mul_ps(reduce8(acc), vscale));
}

// out_g[h0 .. h0 + 8 NC) (the last chunk masked to mlast) = inv_g * sum_j e_g[j] v_j, in key order,
// for GS queries at once, so that each value row is loaded once for all of them.
template <int GS, int NC>
inline void pv_block(const float* const* e, const float* inv, float* const* out, const kv_list& V, int n, int h0,
                     __m256i mlast) {
    __m256 o[GS][NC];
    UNROLL
    for (int g = 0; g < GS; g++)
        UNROLL
        for (int c = 0; c < NC; c++) o[g][c] = _mm256_setzero_ps();
    for (int j = 0; j < n; j++) {
        const float* vp = V.row(j) + h0;
        __m256 v[NC];
        UNROLL
        for (int c = 0; c < NC; c++) v[c] = c + 1 < NC ? _mm256_loadu_ps(vp + 8 * c) : _mm256_maskload_ps(vp + 8 * c, mlast);
        UNROLL
        for (int g = 0; g < GS; g++) {
            const __m256 p = _mm256_set1_ps(e[g][j]);
            UNROLL
            for (int c = 0; c < NC; c++) o[g][c] = _mm256_fmadd_ps(p, v[c], o[g][c]);
        }
    }
    UNROLL
    for (int g = 0; g < GS; g++)
        UNROLL
        for (int c = 0; c < NC; c++) {
            const __m256 r = _mm256_mul_ps(o[g][c], _mm256_set1_ps(inv[g]));
            if (c + 1 < NC) _mm256_storeu_ps(out[g] + h0 + 8 * c, r);
            else _mm256_maskstore_ps(out[g] + h0 + 8 * c, mlast, r);
        }
}

// Blocks of 32 dimensions for up to 2 queries, 16 for 3 or 4 (the accumulators fit the registers).
template <int GS>
inline void pv_blocks(const float* const* e, const float* inv, float* const* out, const kv_list& V, int n, int hd) {
    constexpr int max_nc = GS <= 2 ? 4 : 2;
    for (int h0 = 0; h0 < hd; h0 += 8 * max_nc) {
        const int left = hd - h0, nc = std::min(max_nc, (left + 7) / 8);
        const __m256i m = lanes_below(left - 8 * (nc - 1));
        switch (nc) {
            case 1: pv_block<GS, 1>(e, inv, out, V, n, h0, m); break;
            case 2: pv_block<GS, 2>(e, inv, out, V, n, h0, m); break;
            case 3: if constexpr (max_nc >= 3) pv_block<GS, 3>(e, inv, out, V, n, h0, m); break;
            case 4: if constexpr (max_nc >= 4) pv_block<GS, 4>(e, inv, out, V, n, h0, m); break;
        }
    }
}

// As the AVX-512 attend: the G queries that share a KV head go together, so each key and value row is
// read from memory once for all of them (attending query by query read the keys G times; at long
// contexts a head's keys do not stay in L2 between queries).
void attend(const float* q, int G, const float* k0, const float* v0, int n0, const float* k1, const float* v1, int n1,
            size_t stride, int hd, float scale, float* s, float* out) {
    const int n = n0 + n1, ls = n + 16;  // score rows of the G queries, ls floats apart
    const kv_list K{k0, k1, n0, stride}, V{v0, v1, n0, stride};
    // scores, 8 keys at a time (the last group padded with repeats of its first key)
    const __m256 vscale = _mm256_set1_ps(scale);
    for (int j0 = 0; j0 < n; j0 += 8) {
        const float* kp[8];
        UNROLL
        for (int j = 0; j < 8; j++) kp[j] = K.row(j0 + j < n ? j0 + j : j0);
        for (int g = 0; g < G; g++) {
            float* sg = s + (size_t)g * ls + j0;
            const float* qg = q + (size_t)g * hd;
            switch (hd) {
                case 64: scores8<8>(qg, kp, hd, vscale, sg); break;
                case 128: scores8<16>(qg, kp, hd, vscale, sg); break;
                default: scores8<0>(qg, kp, hd, vscale, sg); break;
            }
        }
    }
    // softmax numerators e = exp(score - max) and 1 / their sum, per query; then the values, up to 4
    // queries per pass over them
    float inv[4];
    const float* e[4];
    float* o[4];
    for (int g0 = 0; g0 < G; g0 += 4) {
        const int gs = std::min(4, G - g0);
        for (int g = 0; g < gs; g++) {
            float* sg = s + (size_t)(g0 + g) * ls;
            const __m256 ninf = _mm256_set1_ps(-INFINITY);
            __m256 vmax = ninf;
            for (int j0 = 0; j0 < n; j0 += 8)
                vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(ninf, _mm256_loadu_ps(sg + j0), _mm256_castsi256_ps(lanes_below(n - j0))));
            alignas(32) float mx8[8];
            _mm256_store_ps(mx8, vmax);
            const __m256 mx = _mm256_set1_ps(*std::max_element(mx8, mx8 + 8));
            __m256 vsum = _mm256_setzero_ps();
            for (int j0 = 0; j0 < n; j0 += 8) {
                const __m256 ev = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_loadu_ps(sg + j0), mx)), _mm256_castsi256_ps(lanes_below(n - j0)));
                _mm256_storeu_ps(sg + j0, ev);
                vsum = _mm256_add_ps(vsum, ev);
            }
            inv[g] = 1.0f / hsum(vsum);
            e[g] = sg;
            o[g] = out + (size_t)(g0 + g) * hd;
        }
        switch (gs) {
            case 1: pv_blocks<1>(e, inv, o, V, n, hd); break;
            case 2: pv_blocks<2>(e, inv, o, V, n, hd); break;
            case 3: pv_blocks<3>(e, inv, o, V, n, hd); break;
            case 4: pv_blocks<4>(e, inv, o, V, n, hd); break;
        }
    }
}

}  // namespace

const cpu_kernels& cpu_kernels_avx2() {
    static const cpu_kernels k{"avx2", matmul_rows, dot, scale_mul, silu_mul, attend, qdot_table_avx2(),
                               qgemm_table_avx2(), true};
    return k;
}

const cpu_kernels& cpu_kernels_avxvnni() {
    static const cpu_kernels k{"avxvnni", matmul_rows, dot, scale_mul, silu_mul, attend, qdot_table_avxvnni(),
                               qgemm_table_avxvnni(), true};
    return k;
}

}  // namespace clasp
