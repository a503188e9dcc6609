// Helpers for the native tests: random data, random weights in every dtype, and error measures.
#pragma once
#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/ref/ref_backend.h"
#include "harness.h"
#include <cstring>
#include <memory>
#include <random>
#include <vector>

namespace tu {

inline std::vector<float> randv(size_t n, uint32_t seed, float scale = 1.f) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(g);
    return v;
}

// A weight matrix with its own storage, in any dtype.
struct owned_weight {
    std::vector<uint8_t> bytes;
    clasp::weight w;
};

inline owned_weight make_weight(clasp::dtype t, int64_t n_out, int64_t n_in, uint32_t seed, float scale = 0.5f) {
    owned_weight o;
    auto f = randv((size_t)(n_out * n_in), seed, scale);
    o.bytes.resize(clasp::row_bytes(t, n_in) * n_out);
    for (int64_t r = 0; r < n_out; r++) {
        uint8_t* dst = o.bytes.data() + clasp::row_bytes(t, n_in) * r;
        const float* src = f.data() + r * n_in;
        for (int64_t i = 0; i < n_in; i++) {
            if (t == clasp::dtype::F32) ((float*)dst)[i] = src[i];
            if (t == clasp::dtype::F16) ((uint16_t*)dst)[i] = clasp::fp32_to_fp16(src[i]);
            if (t == clasp::dtype::BF16) ((uint16_t*)dst)[i] = clasp::fp32_to_bf16(src[i]);
        }
        if (t == clasp::dtype::Q8_0) clasp::quantize_row_q8_0(src, (clasp::block_q8_0*)dst, n_in);
    }
    o.w.name = "test";
    o.w.type = t;
    o.w.data = o.bytes.data();
    o.w.n_in = n_in;
    o.w.n_out = n_out;
    return o;
}

// Normalized mean squared error: sum (a-b)^2 / sum b^2.
inline double nmse(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return den > 0 ? num / den : num;
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); i++) m = std::max(m, std::fabs((double)a[i] - b[i]));
    return m;
}

// Prints the first mismatches when a comparison fails.
inline std::string first_mismatches(const std::vector<float>& got, const std::vector<float>& want, double tol) {
    std::ostringstream os;
    int shown = 0;
    for (size_t i = 0; i < got.size() && shown < 5; i++)
        if (std::fabs((double)got[i] - want[i]) > tol) {
            os << " [" << i << "] got " << got[i] << " want " << want[i];
            shown++;
        }
    os << " (max diff " << max_abs_diff(got, want) << ", nmse " << nmse(got, want) << ")";
    return os.str();
}

// Every CPU kernel level this processor can run, each as its own backend.
inline std::vector<std::unique_ptr<clasp::cpu_backend>> cpu_levels(int threads) {
    std::vector<std::unique_ptr<clasp::cpu_backend>> v;
    v.push_back(std::make_unique<clasp::cpu_backend>(threads, clasp::cpu_kernels_generic()));
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        v.push_back(std::make_unique<clasp::cpu_backend>(threads, clasp::cpu_kernels_avx2()));
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        v.push_back(std::make_unique<clasp::cpu_backend>(threads, clasp::cpu_kernels_avx512()));
    return v;
}

}  // namespace tu
