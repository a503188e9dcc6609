// The reference backend: the oracle every other backend is tested against. Naive, single-threaded,
// float32 (double where it costs nothing), and written to be read, never optimized.
#include "ref_backend.h"
#include <cmath>
#include <vector>

namespace clasp {

void ref_backend::embed(const weight& E, const int32_t* ids, int T, float* out) {
    for (int t = 0; t < T; t++) dequantize_row(E.type, E.row(ids[t]), out + (size_t)t * E.n_in, E.n_in);
}

void ref_backend::matmul(const weight& W, const float* x, int T, float* y) {
    std::vector<float> row(W.n_in);
    for (int64_t o = 0; o < W.n_out; o++) {
        dequantize_row(W.type, W.row(o), row.data(), W.n_in);
        for (int t = 0; t < T; t++) {
            double acc = 0;
            for (int64_t i = 0; i < W.n_in; i++) acc += (double)row[i] * x[(size_t)t * W.n_in + i];
            y[(size_t)t * W.n_out + o] = (float)acc;
        }
    }
}

void ref_backend::rmsnorm(const float* x, const float* w, int T, int n, float eps, float* out) {
    for (int t = 0; t < T; t++) {
        const float* xt = x + (size_t)t * n;
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (double)xt[i] * xt[i];
        float scale = (float)(1.0 / std::sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) out[(size_t)t * n + i] = xt[i] * scale * w[i];
    }
}

void ref_backend::rope(float* x, int T, int n_head, int hd, const int32_t* pos, const float* inv_freq,
                       bool interleaved) {
    for (int t = 0; t < T; t++)
        for (int h = 0; h < n_head; h++) {
            float* v = x + ((size_t)t * n_head + h) * hd;
            for (int i = 0; i < hd / 2; i++) {
                float ang = (float)pos[t] * inv_freq[i];  // float32 product, as transformers computes it
                float c = std::cos(ang), s = std::sin(ang);
                int a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + hd / 2;
                float x0 = v[a], x1 = v[b];
                v[a] = x0 * c - x1 * s;
                v[b] = x0 * s + x1 * c;
            }
        }
}

void ref_backend::attention(const float* q, const float* k_new, const float* v_new, int T, const void* k_cache,
                            const void* v_cache, kv_type kv, int n_prefix, int n_head, int n_head_kv, int hd,
                            attn_mask mask, float* out) {
    int group = n_head / n_head_kv;
    float scale = 1.0f / std::sqrt((float)hd);
    size_t kv_stride = (size_t)n_head_kv * hd;
    for (int t = 0; t < T; t++)
        for (int h = 0; h < n_head; h++) {
            int hk = h / group;
            const float* qv = q + ((size_t)t * n_head + h) * hd;
            // The keys this query sees, at the cache's precision: the whole prefix, then new tokens per the mask.
            std::vector<std::vector<float>> keys, vals;
            auto cached = [&](const void* c, int j) {
                std::vector<float> r(hd);
                for (int i = 0; i < hd; i++) r[i] = kv_load(c, kv, j * kv_stride + hk * hd + i);
                return r;
            };
            auto fresh = [&](const float* x, int j) {
                std::vector<float> r(hd);
                for (int i = 0; i < hd; i++) r[i] = kv_round(x[j * kv_stride + hk * hd + i], kv);
                return r;
            };
            for (int j = 0; j < n_prefix; j++) {
                keys.push_back(cached(k_cache, j));
                vals.push_back(cached(v_cache, j));
            }
            for (int j = 0; j < T; j++) {
                bool visible = mask == attn_mask::causal ? j <= t : j == t;
                if (!visible) continue;
                keys.push_back(fresh(k_new, j));
                vals.push_back(fresh(v_new, j));
            }
            std::vector<double> s(keys.size());
            double mx = -INFINITY;
            for (size_t j = 0; j < keys.size(); j++) {
                double d = 0;
                for (int i = 0; i < hd; i++) d += (double)qv[i] * keys[j][i];
                s[j] = d * scale;
                mx = std::fmax(mx, s[j]);
            }
            double sum = 0;
            for (auto& e : s) { e = std::exp(e - mx); sum += e; }
            float* o = out + ((size_t)t * n_head + h) * hd;
            for (int i = 0; i < hd; i++) {
                double acc = 0;
                for (size_t j = 0; j < keys.size(); j++) acc += s[j] * vals[j][i];
                o[i] = (float)(acc / sum);
            }
        }
}

void ref_backend::silu_mul(float* g, const float* u, size_t n) {
    for (size_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void ref_backend::add(float* x, const float* y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

}  // namespace clasp
