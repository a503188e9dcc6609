// SIMD kernels of the CPU backend, one set per instruction level, picked once at run time.
// Each kernel's per-(row, token) arithmetic is independent of how many tokens are batched, so a
// token's logits are bit-identical whether it is decoded alone or verified in a batch: greedy
// speculative decoding is then exactly lossless, not merely up to rounding.
#pragma once
#include "../../model/llama_model.h"

namespace clasp {

struct cpu_kernels {
    const char* level;
    // y[t, r] = W[r, :] . x[t, :] for rows r in [r0, r1)
    void (*matmul_rows)(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1);
    float (*dot)(const float* a, const float* b, int n);
    // y += a * x
    void (*axpy)(float a, const float* x, float* y, int n);
};

const cpu_kernels& cpu_kernels_generic();
const cpu_kernels& cpu_kernels_avx2();    // needs AVX2, FMA, F16C
const cpu_kernels& cpu_kernels_avx512();  // needs AVX-512 F/BW/VL
// The best set this processor supports, or the one named by CLASP_CPU_LEVEL (generic|avx2|avx512).
const cpu_kernels& cpu_kernels_best();

}  // namespace clasp
