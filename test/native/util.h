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

// The fp16 fields of a quantized block (byte offsets) and the size of the values they scale, so that
// random codes under them give weights of about the requested scale.
struct fp16_field {
    int offset;
    float size;
};
inline std::vector<fp16_field> block_scales(clasp::dtype t) {
    using clasp::dtype;
    switch (t) {
        case dtype::Q4_0: return {{0, 1.f / 8}};
        case dtype::Q5_0: return {{0, 1.f / 16}};
        case dtype::Q4_1: return {{0, 1.f / 8}, {2, 1.f}};
        case dtype::Q5_1: return {{0, 1.f / 16}, {2, 1.f}};
        case dtype::Q4_K: case dtype::Q5_K: return {{0, 1.f / 256}, {2, 1.f / 32}};
        case dtype::Q6_K: return {{208, 1.f / 1024}};
        default: return {};
    }
}

// Random weights in any dtype. Float types and Q8_0 quantize normal values; the other quantized
// types get random bytes (every code and packed scale pattern) under random positive scales.
inline owned_weight make_weight(clasp::dtype t, int64_t n_out, int64_t n_in, uint32_t seed, float scale = 0.5f) {
    owned_weight o;
    const uint64_t rb = clasp::row_bytes(t, n_in);
    o.bytes.resize(rb * n_out);
    if (clasp::is_quantized(t) && t != clasp::dtype::Q8_0) {
        std::mt19937 g(seed);
        for (auto& b : o.bytes) b = (uint8_t)g();
        std::uniform_real_distribution<float> u(0.25f, 1.f);
        const int bb = clasp::block_bytes(t);
        for (size_t off = 0; off < o.bytes.size(); off += bb)
            for (auto f : block_scales(t)) {
                uint16_t h = clasp::fp32_to_fp16(scale * f.size * u(g));
                std::memcpy(o.bytes.data() + off + f.offset, &h, 2);
            }
    } else {
        auto f = randv((size_t)(n_out * n_in), seed, scale);
        for (int64_t r = 0; r < n_out; r++) {
            uint8_t* dst = o.bytes.data() + rb * r;
            const float* src = f.data() + r * n_in;
            for (int64_t i = 0; i < n_in; i++) {
                if (t == clasp::dtype::F32) ((float*)dst)[i] = src[i];
                if (t == clasp::dtype::F16) ((uint16_t*)dst)[i] = clasp::fp32_to_fp16(src[i]);
                if (t == clasp::dtype::BF16) ((uint16_t*)dst)[i] = clasp::fp32_to_bf16(src[i]);
            }
            if (t == clasp::dtype::Q8_0) clasp::quantize_row_q8_0(src, (clasp::block_q8_0*)dst, n_in);
        }
    }
    o.w.name = "test";
    o.w.type = t;
    o.w.data = o.bytes.data();
    o.w.n_in = n_in;
    o.w.n_out = n_out;
    return o;
}

// The quantized types with 32-element blocks and with 256-element super-blocks.
inline std::vector<clasp::dtype> quant32_types() {
    using clasp::dtype;
    return {dtype::Q8_0, dtype::Q4_0, dtype::Q4_1, dtype::Q5_0, dtype::Q5_1};
}
inline std::vector<clasp::dtype> quantk_types() { return {clasp::dtype::Q4_K, clasp::dtype::Q5_K, clasp::dtype::Q6_K}; }

// How far an integer kernel's product may be from ref's exact one: the activations are rounded to
// 8 bits per block (error uniform in +-d/2, d = block max / 127), so the error of y[t, o] has standard
// deviation sqrt(sum_i w_i^2 d_i^2 / 12); the bound is 6 of those, plus float rounding.
inline std::vector<double> act8_error_bound(const clasp::weight& W, const std::vector<float>& x, int T) {
    const int bs = clasp::block_elems(W.type) == 32 ? 32 : clasp::QK_K;
    std::vector<double> bound((size_t)T * W.n_out);
    std::vector<float> w(W.n_in);
    for (int64_t o = 0; o < W.n_out; o++) {
        clasp::dequantize_row(W.type, W.row(o), w.data(), W.n_in);
        for (int t = 0; t < T; t++) {
            const float* xt = x.data() + (size_t)t * W.n_in;
            double var = 0, mag = 0;
            for (int64_t b = 0; b < W.n_in; b += bs) {
                double amax = 0;
                for (int i = 0; i < bs; i++) amax = std::max(amax, (double)std::fabs(xt[b + i]));
                const double d = amax / 127;
                for (int i = 0; i < bs; i++) {
                    var += (double)w[b + i] * w[b + i] * d * d / 12;
                    mag += std::fabs((double)w[b + i] * xt[b + i]);
                }
            }
            bound[(size_t)t * W.n_out + o] = 6 * std::sqrt(var) + 1e-5 * mag;
        }
    }
    return bound;
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
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
        __builtin_cpu_supports("avxvnni"))
        v.push_back(std::make_unique<clasp::cpu_backend>(threads, clasp::cpu_kernels_avxvnni()));
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        v.push_back(std::make_unique<clasp::cpu_backend>(threads, clasp::cpu_kernels_avx512()));
    return v;
}

}  // namespace tu
