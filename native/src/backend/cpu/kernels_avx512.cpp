// AVX-512 kernels (compiled with -mavx512f -mavx512bw -mavx512vl -mfma -mf16c; only called after a
// run-time check). Weights are widened to float32 in registers and never copied to memory.
//
// Every dot product of n elements accumulates in one 16-lane vector, lane j taking elements j, j + 16,
// ... in order (a masked load supplies the last, partial chunk), and then sums its lanes in one fixed
// tree: lanes j and j + 8, then j + 4, j + 2, j + 1. Tiles of several rows and tokens reduce their
// accumulators together with shuffles that follow the same tree (float addition is commutative), so a
// result does not depend on the tile it was computed in. Full chunks use plain loads: masked loads
// that miss the cache are several times slower on some processors (measured 3.5x on an AMD EPYC).
// GCC 12 reports _mm512_undefined_ps() inside its own intrinsics as uninitialized; it is not.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "kernels.h"
#include "qdot.h"
#include <algorithm>
#include <cmath>
#include <immintrin.h>

namespace clasp {
namespace {

// Fully unrolls a loop over tile rows/tokens so that accumulators live in registers (-O2 does not).
#define UNROLL _Pragma("GCC unroll 16")

inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1); }

// One level of the lane tree for two vectors at once.
// l1: lanes 0-7 hold a[j] + a[j+8], lanes 8-15 hold b[j] + b[j+8].
inline __m512 l1(__m512 a, __m512 b) {
    return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
}
// l2: 128-bit chunks [a0 + a1, a2 + a3, b0 + b1, b2 + b3]
inline __m512 l2(__m512 a, __m512 b) {
    return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x88), _mm512_shuffle_f32x4(a, b, 0xDD));
}
// l3: in each 128-bit chunk [a0 + a2, a1 + a3, b0 + b2, b1 + b3]
inline __m512 l3(__m512 a, __m512 b) { return _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x44), _mm512_shuffle_ps(a, b, 0xEE)); }
// l4: in each 128-bit chunk [a0 + a1, a2 + a3, b0 + b1, b2 + b3]
inline __m512 l4(__m512 a, __m512 b) { return _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x88), _mm512_shuffle_ps(a, b, 0xDD)); }

inline float hsum(__m512 v) {
    v = l1(v, v);
    v = l2(v, v);
    v = l3(v, v);
    v = l4(v, v);
    return _mm512_cvtss_f32(v);
}

// Sums the lanes of 16 vectors: lane 4c + e of the result is the sum of v[4e + c].
inline __m512 reduce16(const __m512* v) {
    __m512 w0 = l1(v[0], v[1]), w1 = l1(v[2], v[3]), w2 = l1(v[4], v[5]), w3 = l1(v[6], v[7]);
    __m512 w4 = l1(v[8], v[9]), w5 = l1(v[10], v[11]), w6 = l1(v[12], v[13]), w7 = l1(v[14], v[15]);
    __m512 x0 = l2(w0, w1), x1 = l2(w2, w3), x2 = l2(w4, w5), x3 = l2(w6, w7);
    return l4(l3(x0, x1), l3(x2, x3));
}

// Sums the lanes of 8 vectors: the result's lanes 0-7 are the sums of v[0..7].
inline __m256 reduce8(const __m512* v) {
    __m512 w0 = l1(v[0], v[1]), w1 = l1(v[2], v[3]), w2 = l1(v[4], v[5]), w3 = l1(v[6], v[7]);
    __m512 y = l3(l2(w0, w1), l2(w2, w3));  // chunk c: [v[c] x2, v[4 + c] x2]
    __m512 z = l4(y, y);                    // chunk c: [v[c], v[4 + c], v[c], v[4 + c]]
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_castps512_ps256(_mm512_permutexvar_ps(idx, z));
}

// ---- weights: 16 elements starting at element i of a row, as float32

template <dtype D>
inline __m512 wload(const uint8_t* row, int64_t i) {
    if constexpr (D == dtype::F32) return _mm512_loadu_ps((const float*)row + i);
    if constexpr (D == dtype::F16) return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)((const uint16_t*)row + i)));
    if constexpr (D == dtype::BF16)
        return _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)((const uint16_t*)row + i))), 16));
    return _mm512_setzero_ps();
}

template <dtype D>
inline __m512 wload_tail(const uint8_t* row, int64_t i, __mmask16 m) {
    if constexpr (D == dtype::F32) return _mm512_maskz_loadu_ps(m, (const float*)row + i);
    if constexpr (D == dtype::F16) return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t*)row + i));
    if constexpr (D == dtype::BF16)
        return _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t*)row + i)), 16));
    return _mm512_setzero_ps();
}

// 4 / bytes per element, for byte offsets of F32/F16/BF16 rows
template <dtype D>
constexpr int64_t elem_div() { return D == dtype::F32 ? 1 : 2; }

inline __m512 q8_half(const block_q8_0* bq, int h) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(bq->qs + 16 * h))));
}

// acc[a * NT + b] = lane partial sums of row a . token b over the whole row.
// Q8_0: a weight is d * q rounded to float32 (as dequantization gives it), so each token costs two
// multiply-adds per block, as with F16.
// pf: when not 0, also prefetches the bytes pf ahead of each row as it goes (the rows of a later tile).
// next, next_lines: also prefetches that many cache lines from next on into L2, evenly over the
// loop (the next panel's weights, spread over the tiles that use the present one; in L2 they do not
// push the present panel's rows and the activations out of L1).
template <dtype D, int NR, int NT>
inline void accumulate(const uint8_t* const* rows, const float* const* xs, int64_t n, __m512* acc, int64_t pf,
                       const char* next, int64_t next_lines) {
    UNROLL
    for (int k = 0; k < NR * NT; k++) acc[k] = _mm512_setzero_ps();
    // lines per iteration of the loops below (64 bytes of a float row, a Q8_0 block), to cover them
    // all within the tile
    const int64_t iters =
        std::max<int64_t>(1, D == dtype::Q8_0 ? n / QK8_0 : n * (int64_t)sizeof(float) / elem_div<D>() / 64);
    const int64_t per_iter = (next_lines + iters - 1) / iters;
    auto prefetch_next = [&] {
        for (int64_t k = 0; k < per_iter && next_lines > 0; k++, next_lines--, next += 64)
            _mm_prefetch(next, _MM_HINT_T1);
    };
    if constexpr (D == dtype::Q8_0) {
        static_assert(NT <= 4, "x of at most 4 tokens in registers");
        for (int64_t blk = 0; blk < n / QK8_0; blk++) {
            prefetch_next();
            __m512 x0[NT], x1[NT];
            UNROLL
            for (int b = 0; b < NT; b++) {
                x0[b] = _mm512_loadu_ps(xs[b] + blk * QK8_0);
                x1[b] = _mm512_loadu_ps(xs[b] + blk * QK8_0 + 16);
            }
            UNROLL
            for (int a = 0; a < NR; a++) {
                const block_q8_0* bq = (const block_q8_0*)rows[a] + blk;
                if (pf) _mm_prefetch((const char*)bq + pf, _MM_HINT_T0);
                const __m512 d = _mm512_cvtph_ps(_mm256_set1_epi16((short)bq->d));
                const __m512 w0 = _mm512_mul_ps(d, q8_half(bq, 0)), w1 = _mm512_mul_ps(d, q8_half(bq, 1));
                UNROLL
                for (int b = 0; b < NT; b++)
                    acc[a * NT + b] = _mm512_fmadd_ps(w1, x1[b], _mm512_fmadd_ps(w0, x0[b], acc[a * NT + b]));
            }
        }
    } else {
        auto step = [&](int64_t i) {
            __m512 xv[NT];
            UNROLL
            for (int b = 0; b < NT; b++) xv[b] = _mm512_loadu_ps(xs[b] + i);
            UNROLL
            for (int a = 0; a < NR; a++) {
                __m512 w = wload<D>(rows[a], i);
                UNROLL
                for (int b = 0; b < NT; b++) acc[a * NT + b] = _mm512_fmadd_ps(w, xv[b], acc[a * NT + b]);
            }
        };
        // 64 bytes of each row per iteration, with one prefetch each
        constexpr int64_t line = D == dtype::F32 ? 16 : 32;
        int64_t i = 0;
        for (; i + line <= n; i += line) {
            if (pf) {
                UNROLL
                for (int a = 0; a < NR; a++)
                    _mm_prefetch((const char*)rows[a] + i * (int64_t)sizeof(float) / elem_div<D>() + pf, _MM_HINT_T0);
            }
            prefetch_next();
            step(i);
            if constexpr (line == 32) step(i + 16);
        }
        for (; i + 16 <= n; i += 16) step(i);
        if (i < n) {
            __mmask16 m = tail_mask(n - i);
            __m512 xv[NT];
            UNROLL
            for (int b = 0; b < NT; b++) xv[b] = _mm512_maskz_loadu_ps(m, xs[b] + i);
            UNROLL
            for (int a = 0; a < NR; a++) {
                __m512 w = wload_tail<D>(rows[a], i, m);
                UNROLL
                for (int b = 0; b < NT; b++) acc[a * NT + b] = _mm512_fmadd_ps(w, xv[b], acc[a * NT + b]);
            }
        }
    }
}

// Where a tile's inputs and outputs are: NR rows (of type D) from row0, rstride bytes apart; tokens
// from x0, n floats apart; y0 = y at (first token, first row), ld floats per token.
struct tile_io {
    const uint8_t* row0;
    int64_t rstride;
    const float* x0;
    int64_t n;
    float* y0;
    int64_t ld;
    bool accum;
};

// Stores the lane sums of the NR * NT accumulators (acc[a * NT + b]: row a, token b): up to 16 with
// one reduction and a masked store per token; more (the 6 x 4 tiles), 16 at a time through memory.
template <int NR, int NT>
inline void store_tile(const __m512* acc, const tile_io& io) {
    constexpr int N = NR * NT;
    if constexpr (N == 1) {
        const float s = hsum(acc[0]);
        *io.y0 = io.accum ? *io.y0 + s : s;
    } else if constexpr (N <= 16) {
        // s: lane b * NR + a holds row a of token b
        __m512 s;
        if constexpr (N <= 8) {
            __m512 v[8];
            UNROLL
            for (int k = 0; k < 8; k++) v[k] = k < N ? acc[(k % NR) * NT + k / NR] : acc[0];
            s = _mm512_castps256_ps512(reduce8(v));
        } else {
            __m512 v[16];  // reduce16 puts the sum of v[4e + c] in lane 4c + e
            UNROLL
            for (int l = 0; l < 16; l++) v[4 * (l % 4) + l / 4] = l < N ? acc[(l % NR) * NT + l / NR] : acc[0];
            s = reduce16(v);
        }
        const __mmask16 m = (__mmask16)((1u << NR) - 1);
        UNROLL
        for (int b = 0; b < NT; b++) {
            float* yp = io.y0 + (size_t)b * io.ld;
            __m512 o = b == 0 ? s : _mm512_permutexvar_ps(_mm512_add_epi32(_mm512_set1_epi32(b * NR),
                                    _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)), s);
            if (io.accum) o = _mm512_add_ps(_mm512_maskz_loadu_ps(m, yp), o);
            _mm512_mask_storeu_ps(yp, m, o);
        }
    } else {
        UNROLL
        for (int k0 = 0; k0 < N; k0 += 16) {
            __m512 v[16];
            UNROLL
            for (int l = 0; l < 16; l++) v[4 * (l % 4) + l / 4] = k0 + l < N ? acc[k0 + l] : acc[k0];
            alignas(64) float s[16];
            _mm512_store_ps(s, reduce16(v));
            UNROLL
            for (int l = 0; l < 16; l++)
                if (k0 + l < N) {
                    float& o = io.y0[(size_t)((k0 + l) % NT) * io.ld + (k0 + l) / NT];
                    o = io.accum ? o + s[l] : s[l];
                }
        }
    }
}

template <dtype D, int NR, int NT>
inline void tile(const tile_io& io, int64_t pf, const char* next = nullptr, int64_t next_lines = 0) {
    static_assert(NR * NT <= 24, "a tile has at most 24 accumulators");
    const uint8_t* rows[NR];
    UNROLL
    for (int a = 0; a < NR; a++) rows[a] = io.row0 + a * io.rstride;
    const float* xs[NT];
    UNROLL
    for (int b = 0; b < NT; b++) xs[b] = io.x0 + (size_t)b * io.n;
    __m512 acc[NR * NT];
    accumulate<D, NR, NT>(rows, xs, io.n, acc, pf, next, next_lines);
    store_tile<NR, NT>(acc, io);
}

// Q8_0 in tiles of 8 rows prefetches the same place in a later tile's rows (whole tiles ahead, at
// least 8 KB), so that a tile's rows are in cache from their first block. Within the row (as
// prefetch_distance does for long rows), the first 1024 bytes of 7 of the 8 rows of 2,176 bytes (the
// 1B shape) went unprefetched, and one thread read 14 GB/s from memory; 24-27 with this (PERF.md).
// F16 lost with it (24 -> 21 GB/s) and keeps prefetch_distance.
inline int64_t q8_tile_prefetch_distance(int64_t rb) {
    const int64_t tile = 8 * rb;
    return (8192 + tile - 1) / tile * tile;
}

// One or two tokens (decode): tiles of 8 rows, then single rows, each row read once.
template <dtype D, int NT>
void few_tokens(const weight& W, const float* x, float* y, int64_t r0, int64_t r1, bool accum) {
    const int64_t rb = (int64_t)row_bytes(W.type, W.n_in);
    const int64_t pf = D == dtype::Q8_0 ? q8_tile_prefetch_distance(rb) : prefetch_distance(W);
    tile_io io{nullptr, rb, x, W.n_in, nullptr, W.n_out, accum};
    int64_t r = r0;
    for (; r < r1; r += r + 8 <= r1 ? 8 : 1) {
        io.row0 = W.row(r);
        io.y0 = y + r;
        if (r + 8 <= r1) tile<D, 8, NT>(io, pf);
        else tile<D, 1, NT>(io, 0);
    }
}

// Many tokens (prefill, CLaSp's verify): the rows go past in panels of 6, each against every token of
// a block, 4 tokens at a time; meanwhile the tiles prefetch the next panel's weights, spread over the
// whole panel's work so that memory keeps up. A 6 x 4 tile holds 24 accumulators, 4 token vectors
// and the widened weight vector in registers: each weight is loaded and converted once per 4
// tokens, each token vector loaded once per 6 rows (the activations come from L2). A token block's
// activations (about 512 KB) stay in L2 while the panels go past. Q8_0 (two weight vectors per
// block, and their scale, in registers) has panels of 4 rows. Measured in docs/PERF.md.
template <dtype D>
constexpr int panel_rows() { return D == dtype::Q8_0 ? 4 : 6; }
constexpr int tile_tokens = 4;
constexpr int64_t token_block_bytes = 512 * 1024;

template <dtype D, int NR>
inline void panel_tile(const tile_io& io, int nt, const char* next, int64_t next_lines) {
    switch (nt) {
        case 1: return tile<D, NR, 1>(io, 0, next, next_lines);
        case 2: return tile<D, NR, 2>(io, 0, next, next_lines);
        case 3: return tile<D, NR, 3>(io, 0, next, next_lines);
        case 4: return tile<D, NR, 4>(io, 0, next, next_lines);
    }
}

template <dtype D>
void many_tokens(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1, bool accum) {
    constexpr int PR = panel_rows<D>();
    const int64_t n = W.n_in, rb = (int64_t)row_bytes(W.type, n);
    const int tb = std::max<int>(tile_tokens, (int)std::min<int64_t>(T, token_block_bytes / (n * 4)));
    for (int t0 = 0; t0 < T; t0 += tb) {
        // the block's tokens in groups of at most 4, of about equal size (a tile of few
        // accumulators would wait on their latency)
        const int t1 = std::min(T, t0 + tb), ng = (t1 - t0 + tile_tokens - 1) / tile_tokens;
        for (int64_t r = r0; r < r1;) {
            const int nr = r + PR <= r1 ? PR : 1;  // then single rows
            // the next panel's bytes (its rows are contiguous), a share for each tile
            const int64_t next_rows = std::min<int64_t>(PR, r1 - r - nr);
            const int64_t lines = (next_rows * rb + 63) / 64, per = (lines + ng - 1) / ng;
            tile_io io{W.row(r), rb, nullptr, n, nullptr, W.n_out, accum};
            for (int g = 0; g < ng; g++) {
                const int a = t0 + (t1 - t0) * g / ng, b = t0 + (t1 - t0) * (g + 1) / ng;
                io.x0 = x + (size_t)a * n;
                io.y0 = y + (size_t)a * W.n_out + r;
                const char* next = (const char*)W.row(r + nr) + g * per * 64;
                const int64_t nl = std::max<int64_t>(0, std::min(per, lines - g * per));
                if (nr == PR) panel_tile<D, PR>(io, b - a, next, nl);
                else panel_tile<D, 1>(io, b - a, next, nl);
            }
            r += nr;
        }
    }
}

template <dtype D>
void rows_of(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1, bool accum) {
    if (T == 1) return few_tokens<D, 1>(W, x, y, r0, r1, accum);
    if (T == 2) return few_tokens<D, 2>(W, x, y, r0, r1, accum);
    many_tokens<D>(W, x, T, y, r0, r1, accum);
}

void matmul_rows(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1, bool accum) {
    switch (W.type) {
        case dtype::F32: return rows_of<dtype::F32>(W, x, T, y, r0, r1, accum);
        case dtype::F16: return rows_of<dtype::F16>(W, x, T, y, r0, r1, accum);
        case dtype::BF16: return rows_of<dtype::BF16>(W, x, T, y, r0, r1, accum);
        case dtype::Q8_0: return rows_of<dtype::Q8_0>(W, x, T, y, r0, r1, accum);
        default: return;  // the other quantized types: the integer kernels (qdot.h)
    }
}

float dot(const float* a, const float* b, int n) {
    __m512 acc = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc);
    }
    return hsum(acc);
}

void scale_mul(const float* x, float sc, const float* w, int n, float* out) {
    const __m512 vs = _mm512_set1_ps(sc);
    int i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), vs), _mm512_loadu_ps(w + i)));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs), _mm512_maskz_loadu_ps(m, w + i)));
    }
}

// exp(x) with about 1 ulp of error: 2^n * exp(r), |r| <= ln2 / 2, exp(r) by the Cephes polynomial.
inline __m512 exp16(__m512 x) {
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.8f)), _mm512_set1_ps(-104.f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
    return _mm512_scalef_ps(p, n);
}

inline __m512 silu_mul16(__m512 g, __m512 u) {
    __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
    return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.f), e)), u);
}

void silu_mul(float* g, const float* u, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(g + i, silu_mul16(_mm512_loadu_ps(g + i), _mm512_loadu_ps(u + i)));
    if (i < n) {
        __mmask16 m = tail_mask((int64_t)(n - i));
        _mm512_mask_storeu_ps(g + i, m, silu_mul16(_mm512_maskz_loadu_ps(m, g + i), _mm512_maskz_loadu_ps(m, u + i)));
    }
}

// out_g[h0 .. h0 + 16 NC) (the last chunk masked by mlast) = inv_g * sum_j e_g[j] v_j, in key order,
// for GS queries at once so that each value row is loaded once for all of them.
template <int GS, int NC, bool FULL>
inline void pv_block(const float* const* e, const float* inv, float* const* out, const kv_list& V, int n, int h0,
                     __mmask16 mlast) {
    __m512 o[GS][NC];
    UNROLL
    for (int g = 0; g < GS; g++)
        UNROLL
        for (int c = 0; c < NC; c++) o[g][c] = _mm512_setzero_ps();
    for (int j = 0; j < n; j++) {
        const float* vp = V.row(j) + h0;
        __m512 v[NC];
        UNROLL
        for (int c = 0; c < NC; c++)
            v[c] = FULL || c + 1 < NC ? _mm512_loadu_ps(vp + 16 * c) : _mm512_maskz_loadu_ps(mlast, vp + 16 * c);
        UNROLL
        for (int g = 0; g < GS; g++) {
            const __m512 p = _mm512_set1_ps(e[g][j]);
            UNROLL
            for (int c = 0; c < NC; c++) o[g][c] = _mm512_fmadd_ps(p, v[c], o[g][c]);
        }
    }
    UNROLL
    for (int g = 0; g < GS; g++)
        UNROLL
        for (int c = 0; c < NC; c++) {
            __m512 r = _mm512_mul_ps(o[g][c], _mm512_set1_ps(inv[g]));
            if (FULL || c + 1 < NC) _mm512_storeu_ps(out[g] + h0 + 16 * c, r);
            else _mm512_mask_storeu_ps(out[g] + h0 + 16 * c, mlast, r);
        }
}

template <int GS>
inline void pv_blocks(const float* const* e, const float* inv, float* const* out, const kv_list& V, int n, int hd) {
    for (int h0 = 0; h0 < hd; h0 += 64) {
        const int left = hd - h0, nc = left >= 64 ? 4 : (left + 15) / 16;
        const __mmask16 m = tail_mask(left - 16 * (nc - 1));
        switch (nc) {
            case 1: pv_block<GS, 1, false>(e, inv, out, V, n, h0, m); break;
            case 2: pv_block<GS, 2, false>(e, inv, out, V, n, h0, m); break;
            case 3: pv_block<GS, 3, false>(e, inv, out, V, n, h0, m); break;
            case 4:
                if (m == 0xffff) pv_block<GS, 4, true>(e, inv, out, V, n, h0, m);
                else pv_block<GS, 4, false>(e, inv, out, V, n, h0, m);
                break;
        }
    }
}

// Scores of one query against 16 keys: s[j] = scale * q . k_j for the lanes in mk. HC: hd / 16 when
// known at compile time (the query then stays in registers), else 0. The same arithmetic either way:
// each key's lane partial sums over the chunks in order, then the lane tree.
template <int HC>
inline void scores16(const float* q, const float* const* kp, int hd, __m512 vscale, __mmask16 mk, float* s) {
    __m512 acc[16];
    UNROLL
    for (int j = 0; j < 16; j++) acc[j] = _mm512_setzero_ps();
    if constexpr (HC > 0) {
        __m512 qv[HC];
        UNROLL
        for (int c = 0; c < HC; c++) qv[c] = _mm512_loadu_ps(q + 16 * c);
        UNROLL
        for (int j = 0; j < 16; j++) {
            const float* k = kp[j];
            UNROLL
            for (int c = 0; c < HC; c++) acc[j] = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(k + 16 * c), acc[j]);
        }
    } else {
        int i = 0;
        for (; i + 16 <= hd; i += 16) {
            __m512 qv = _mm512_loadu_ps(q + i);
            UNROLL
            for (int j = 0; j < 16; j++) acc[j] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kp[j] + i), acc[j]);
        }
        if (i < hd) {
            __mmask16 m = tail_mask(hd - i);
            __m512 qv = _mm512_maskz_loadu_ps(m, q + i);
            UNROLL
            for (int j = 0; j < 16; j++) acc[j] = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, kp[j] + i), acc[j]);
        }
    }
    // reduce16 gives lane 4c + e = key 4e + c; put key j in lane j
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    (void)mk;  // the row has room for 16 more: full stores forward to the loads that follow, masked ones do not
    _mm512_storeu_ps(s, _mm512_mul_ps(_mm512_permutexvar_ps(idx, reduce16(acc)), vscale));
}

void attend(const float* q, int G, const float* k0, const float* v0, int n0, const float* k1, const float* v1, int n1,
            size_t stride, int hd, float scale, float* s, float* out) {
    const int n = n0 + n1, ls = n + 16;  // score rows of the G queries, ls floats apart
    const kv_list K{k0, k1, n0, stride}, V{v0, v1, n0, stride};
    // Scores, 16 keys at a time (the last group padded with repeats of its first key); the keys are
    // read from memory once, the other queries find them in L1.
    const __m512 vscale = _mm512_set1_ps(scale);
    for (int j0 = 0; j0 < n; j0 += 16) {
        const float* kp[16];
        UNROLL
        for (int j = 0; j < 16; j++) kp[j] = K.row(j0 + j < n ? j0 + j : j0);
        const __mmask16 mk = tail_mask(n - j0);
        for (int g = 0; g < G; g++) {
            float* sg = s + (size_t)g * ls + j0;
            const float* qg = q + (size_t)g * hd;
            switch (hd) {
                case 64: scores16<4>(qg, kp, hd, vscale, mk, sg); break;
                case 128: scores16<8>(qg, kp, hd, vscale, mk, sg); break;
                default: scores16<0>(qg, kp, hd, vscale, mk, sg); break;
            }
        }
    }
    // softmax numerators e = exp(score - max) and 1 / their sum, per query
    float inv[8];
    const float* e[8];
    float* o[8];
    for (int g0 = 0; g0 < G; g0 += 8) {
        const int gs = std::min(8, G - g0);
        for (int g = 0; g < gs; g++) {
            float* sg = s + (size_t)(g0 + g) * ls;
            __m512 vmax = _mm512_set1_ps(-INFINITY);
            for (int j0 = 0; j0 < n; j0 += 16)
                vmax = _mm512_mask_max_ps(vmax, tail_mask(n - j0), vmax, _mm512_loadu_ps(sg + j0));
            const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
            __m512 vsum = _mm512_setzero_ps();
            for (int j0 = 0; j0 < n; j0 += 16) {
                __m512 ev = _mm512_maskz_mov_ps(tail_mask(n - j0), exp16(_mm512_sub_ps(_mm512_loadu_ps(sg + j0), mx)));
                _mm512_storeu_ps(sg + j0, ev);
                vsum = _mm512_add_ps(vsum, ev);
            }
            inv[g] = 1.0f / hsum(vsum);
            e[g] = sg;
            o[g] = out + (size_t)(g0 + g) * hd;
        }
        // out = sum_j e_j v_j / sum, up to 4 queries per pass over the values
        for (int g = 0; g < gs; g += 4) {
            switch (std::min(4, gs - g)) {
                case 1: pv_blocks<1>(e + g, inv + g, o + g, V, n, hd); break;
                case 2: pv_blocks<2>(e + g, inv + g, o + g, V, n, hd); break;
                case 3: pv_blocks<3>(e + g, inv + g, o + g, V, n, hd); break;
                case 4: pv_blocks<4>(e + g, inv + g, o + g, V, n, hd); break;
            }
        }
    }
}

}  // namespace

const cpu_kernels& cpu_kernels_avx512() {
    // The integer kernels use AVX-512 VNNI where the processor has it (exactly the same results).
    __builtin_cpu_init();
    const bool vnni = __builtin_cpu_supports("avx512vnni");
    static const cpu_kernels k{"avx512", matmul_rows, dot, scale_mul, silu_mul, attend,
                               vnni ? qdot_table_vnni() : qdot_table_avx2(), vnni ? qgemm_table_vnni() : qgemm_table_avx2()};
    return k;
}

}  // namespace clasp
