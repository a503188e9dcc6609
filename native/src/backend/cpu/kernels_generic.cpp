// Portable kernels: plain C++ for processors without AVX2.
#include "kernels.h"
#include <vector>

namespace clasp {
namespace {

void matmul_rows(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1) {
    std::vector<float> row(W.n_in);
    for (int64_t r = r0; r < r1; r++) {
        dequantize_row(W.type, W.row(r), row.data(), W.n_in);
        for (int t = 0; t < T; t++) {
            const float* xt = x + (size_t)t * W.n_in;
            float acc = 0;
            for (int64_t i = 0; i < W.n_in; i++) acc += row[i] * xt[i];
            y[(size_t)t * W.n_out + r] = acc;
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

}  // namespace

const cpu_kernels& cpu_kernels_generic() {
    static const cpu_kernels k{"generic", matmul_rows, dot, axpy};
    return k;
}

}  // namespace clasp
