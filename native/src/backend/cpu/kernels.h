// SIMD kernels of the CPU backend, one set per instruction level, picked once at run time.
// Each kernel's per-(row, token) arithmetic is independent of how many tokens are batched and of which
// rows or elements a call covers, so a token's logits are bit-identical whether it is decoded alone or
// verified in a batch, whatever the thread split: greedy speculative decoding is then exactly
// lossless, not merely up to rounding.
#pragma once
#include "../../model/llama_model.h"
#include "qdot.h"
#include <cstddef>

namespace clasp {

struct cpu_kernels {
    const char* level;
    // Float weights (F32, F16, BF16) against float activations:
    // y[t, r] = W[r, :] . x[t, :] for rows r in [r0, r1); y is (T, W.n_out). With accumulate,
    // y[t, r] += the product instead (the same float addition as a separate add op).
    void (*matmul_rows)(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1, bool accumulate);
    float (*dot)(const float* a, const float* b, int n);
    // out[i] = x[i] * s * w[i] (the rmsnorm scaling), each element computed the same way wherever it lies
    void (*scale_mul)(const float* x, float s, const float* w, int n, float* out);
    // g[i] = silu(g[i]) * u[i], each element computed the same way wherever it lies
    void (*silu_mul)(float* g, const float* u, size_t n);
    // G queries (q: G rows of hd, e.g. the heads that share a KV head) against n0 keys/values at
    // k0/v0 followed by n1 at k1/v1 (rows `stride` floats apart): out (G rows of hd) =
    // softmax(scale * q.k) . v. A query's result depends only on it and the keys' values in order: not
    // on G, the other queries, or where the split between the two lists falls.
    // scores: scratch of G * (n0 + n1 + 16) floats.
    void (*attend)(const float* q, int G, const float* k0, const float* v0, int n0, const float* k1, const float* v1,
                   int n1, size_t stride, int hd, float scale, float* scores, float* out);
    // Quantized weights: the integer dot product per dtype (qdot.h), null for the float types.
    const qdot_fn* qdot;
    // and the tile kernels, with the packing of the matrices they read (qdot.h); null where the level has none
    const qgemm_set* qgemm;
    // Q8_0 through the integer kernels too, rather than matmul_rows on float activations: the
    // 256-bit levels, whose float kernel widens every weight byte to a float (2.5x slower decode
    // on the 1B Q8_0 file, docs/PERF.md). AVX-512 streams Q8_0 as fast as float and keeps it exact
    // to the dequantized weights.
    bool q8_0_integer = false;
};

// How far ahead the float kernels prefetch a matrix's rows: about 8 KB, in whole rows while rows are
// short (the hardware prefetcher has little time to ramp up on a short row), else within the row.
// Without it the 1B F16 decode read memory at about half its speed (docs/PERF.md).
inline int64_t prefetch_distance(const weight& W) {
    const int64_t rb = (int64_t)row_bytes(W.type, W.n_in);
    return rb <= 2048 ? (8192 + rb - 1) / rb * rb : 1024;
}

// Rows j of an attend key or value list: the first n0 at p0, the rest at p1, `stride` floats apart.
struct kv_list {
    const float *p0, *p1;
    int n0;
    size_t stride;
    const float* row(int j) const { return j < n0 ? p0 + (size_t)j * stride : p1 + (size_t)(j - n0) * stride; }
};

const cpu_kernels& cpu_kernels_generic();
const cpu_kernels& cpu_kernels_avx2();     // needs AVX2, FMA, F16C
const cpu_kernels& cpu_kernels_avxvnni();  // needs AVX2, FMA, F16C, AVX-VNNI (the AVX2 set, VNNI integer dot products)
const cpu_kernels& cpu_kernels_avx512();   // needs AVX-512 F/BW/VL
// The best set this processor supports, or the one named by CLASP_CPU_LEVEL (generic|avx2|avxvnni|avx512).
const cpu_kernels& cpu_kernels_best();

}  // namespace clasp
