// Portable kernels: plain C++ for processors without AVX2.
#include "kernels.h"
#include "qdot.h"
#include <algorithm>
#include <cmath>
#include <vector>

namespace clasp {
namespace {

void matmul_rows(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1, bool accum) {
    std::vector<float> row(W.n_in);
    for (int64_t r = r0; r < r1; r++) {
        dequantize_row(W.type, W.row(r), row.data(), W.n_in);
        for (int t = 0; t < T; t++) {
            const float* xt = x + (size_t)t * W.n_in;
            float acc = 0;
            for (int64_t i = 0; i < W.n_in; i++) acc += row[i] * xt[i];
            float& yo = y[(size_t)t * W.n_out + r];
            yo = accum ? yo + acc : acc;
        }
    }
}

float dot(const float* a, const float* b, int n) {
    float acc = 0;
    for (int i = 0; i < n; i++) acc += a[i] * b[i];
    return acc;
}

void axpy(float a, const float* x, float* y, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

void scale_mul(const float* x, float sc, const float* w, int n, float* out) {
    for (int i = 0; i < n; i++) out[i] = x[i] * sc * w[i];
}

void silu_mul(float* g, const float* u, size_t n) {
    for (size_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
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
    float sum = 0;
    for (int j = 0; j < n; j++) sum += s[j] = std::exp(s[j] - mx);
    for (int i = 0; i < hd; i++) out[i] = 0.f;
    for (int j = 0; j < n; j++) axpy(s[j], val(j), out, hd);
    float inv = 1.0f / sum;
    for (int i = 0; i < hd; i++) out[i] *= inv;
}

void attend(const float* q, int G, const float* k0, const float* v0, int n0, const float* k1, const float* v1, int n1,
            size_t stride, int hd, float scale, float* s, float* out) {
    for (int g = 0; g < G; g++)
        attend1(q + (size_t)g * hd, k0, v0, n0, k1, v1, n1, stride, hd, scale, s, out + (size_t)g * hd);
}

}  // namespace

const cpu_kernels& cpu_kernels_generic() {
    static const cpu_kernels k{"generic", matmul_rows, dot, scale_mul, silu_mul, attend, qdot_table_generic(),
                               nullptr};
    return k;
}

}  // namespace clasp
