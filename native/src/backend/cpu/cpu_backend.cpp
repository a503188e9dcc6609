#include "cpu_backend.h"
#include <algorithm>
#include <cmath>

namespace clasp {

cpu_backend::cpu_backend(int n_threads, const cpu_kernels& k) : k_(k), pool_(n_threads), scratch_(pool_.size()) {}

std::string cpu_backend::device_info() const {
    return "cpu (" + std::to_string(pool_.size()) + " threads, " + k_.level + " kernels)";
}

void cpu_backend::embed(const weight& E, const int32_t* ids, int T, float* out) {
    for (int t = 0; t < T; t++) dequantize_row(E.type, E.row(ids[t]), out + (size_t)t * E.n_in, E.n_in);
}

void cpu_backend::matmul(const weight& W, const float* x, int T, float* y) {
    // Small products are not worth waking the workers for.
    if ((uint64_t)W.n_out * W.n_in * T < 16384) { k_.matmul_rows(W, x, T, y, 0, W.n_out); return; }
    pool_.run([&](int ith) {
        int64_t b, e;
        split_range(W.n_out, ith, pool_.size(), 4, b, e);
        if (b < e) k_.matmul_rows(W, x, T, y, b, e);
    });
}

void cpu_backend::rmsnorm(const float* x, const float* w, int T, int n, float eps, float* out) {
    for (int t = 0; t < T; t++) {
        const float* xt = x + (size_t)t * n;
        float ss = k_.dot(xt, xt, n);
        float scale = 1.0f / std::sqrt(ss / n + eps);
        float* o = out + (size_t)t * n;
        for (int i = 0; i < n; i++) o[i] = xt[i] * scale * w[i];
    }
}

void cpu_backend::rope(float* x, int T, int n_head, int hd, const int32_t* pos, const float* inv_freq,
                       bool interleaved) {
    int half = hd / 2;
    std::vector<float> cs(half), sn(half);
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < half; i++) {
            float ang = (float)pos[t] * inv_freq[i];
            cs[i] = std::cos(ang);
            sn[i] = std::sin(ang);
        }
        for (int h = 0; h < n_head; h++) {
            float* v = x + ((size_t)t * n_head + h) * hd;
            for (int i = 0; i < half; i++) {
                int a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
                float x0 = v[a], x1 = v[b];
                v[a] = x0 * cs[i] - x1 * sn[i];
                v[b] = x0 * sn[i] + x1 * cs[i];
            }
        }
    }
}

void cpu_backend::attention(const float* q, const float* k_new, const float* v_new, int T, const float* k_cache,
                            const float* v_cache, int n_prefix, int n_head, int n_head_kv, int hd, attn_mask mask,
                            float* out) {
    const int group = n_head / n_head_kv;
    const float scale = 1.0f / std::sqrt((float)hd);
    const size_t kvs = (size_t)n_head_kv * hd;
    const int n_tasks = T * n_head;
    auto one = [&](int task, std::vector<float>& s) {
        int t = task / n_head, h = task % n_head, hk = h / group;
        const float* qv = q + ((size_t)t * n_head + h) * hd;
        int n_new = mask == attn_mask::causal ? t + 1 : 1;
        int first_new = mask == attn_mask::causal ? 0 : t;
        s.resize((size_t)n_prefix + n_new);
        float mx = -INFINITY;
        for (int j = 0; j < n_prefix; j++) {
            s[j] = k_.dot(qv, k_cache + j * kvs + hk * hd, hd) * scale;
            mx = std::max(mx, s[j]);
        }
        for (int j = 0; j < n_new; j++) {
            float v = k_.dot(qv, k_new + (first_new + j) * kvs + hk * hd, hd) * scale;
            s[n_prefix + j] = v;
            mx = std::max(mx, v);
        }
        float sum = 0;
        for (auto& e : s) { e = std::exp(e - mx); sum += e; }
        float* o = out + ((size_t)t * n_head + h) * hd;
        std::fill(o, o + hd, 0.f);
        float inv = 1.0f / sum;
        for (int j = 0; j < n_prefix; j++) k_.axpy(s[j] * inv, v_cache + j * kvs + hk * hd, o, hd);
        for (int j = 0; j < n_new; j++) k_.axpy(s[n_prefix + j] * inv, v_new + (first_new + j) * kvs + hk * hd, o, hd);
    };
    if ((int64_t)n_tasks * (n_prefix + T) * hd < 32768) {
        for (int task = 0; task < n_tasks; task++) one(task, scratch_[0]);
        return;
    }
    pool_.run([&](int ith) {
        int64_t b, e;
        split_range(n_tasks, ith, pool_.size(), 1, b, e);
        for (int64_t task = b; task < e; task++) one((int)task, scratch_[ith]);
    });
}

void cpu_backend::silu_mul(float* g, const float* u, size_t n) {
    for (size_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void cpu_backend::add(float* x, const float* y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

}  // namespace clasp
