// The forward pass reads top to bottom: embed, then per layer attention and SwiGLU MLP, each with a
// pre-RMSNorm and a residual add, then the final norm and the output projection.
#include "transformer.h"
#include "../core/error.h"
#include <cmath>
#include <cstring>

namespace clasp {

transformer::transformer(std::shared_ptr<llama_model> m, backend& b, int n_ctx, kv_type kv)
    : model(std::move(m)), be(b), cache(b, model->cfg.n_layer, n_ctx, model->cfg.n_head_kv * model->cfg.head_dim, kv) {
    const auto& c = cfg();
    be.prepare(*model);
    auto up = [&](const std::vector<float>& v) {
        float* p = be.alloc(v.size());
        be.upload(p, v.data(), v.size());
        return p;
    };
    for (const auto& lw : model->layers) {
        attn_norm_.push_back(up(lw.attn_norm));
        ffn_norm_.push_back(up(lw.ffn_norm));
    }
    out_norm_ = up(model->output_norm);
    inv_freq_ = up(model->rope_inv_freq);
    (void)c;
}

transformer::~transformer() {
    for (float* p : {x_, xn_, q_, k_, v_, att_, g_, u_, rows_, logits_})
        if (p) be.free(p);
    for (float* p : attn_norm_) be.free(p);
    for (float* p : ffn_norm_) be.free(p);
    be.free(out_norm_);
    be.free(inv_freq_);
}

void transformer::ensure(int T) {
    if (T <= cap_) return;
    for (float* p : {x_, xn_, q_, k_, v_, att_, g_, u_, rows_, logits_})
        if (p) be.free(p);
    const auto& c = cfg();
    size_t qd = (size_t)c.n_head * c.head_dim, kvd = (size_t)c.n_head_kv * c.head_dim;
    x_ = be.alloc((size_t)T * c.n_embd);      // (T, n_embd) residual stream
    xn_ = be.alloc((size_t)T * c.n_embd);     // (T, n_embd) normed input
    q_ = be.alloc((size_t)T * qd);            // (T, n_head, head_dim)
    k_ = be.alloc((size_t)T * kvd);           // (T, n_head_kv, head_dim)
    v_ = be.alloc((size_t)T * kvd);           // (T, n_head_kv, head_dim)
    att_ = be.alloc((size_t)T * qd);          // (T, n_head, head_dim)
    g_ = be.alloc((size_t)T * c.n_ff);        // (T, n_ff)
    u_ = be.alloc((size_t)T * c.n_ff);        // (T, n_ff)
    rows_ = be.alloc((size_t)T * c.n_embd);   // (T, n_embd) rows picked for logits
    logits_ = be.alloc((size_t)T * c.n_vocab);  // (T, n_vocab)
    cap_ = T;
}

void transformer::run_layer(int il, float* x, int T, int n_past, const int32_t* pos, attn_mask mask,
                            bool write_cache) {
    const auto& c = cfg();
    const llama_layer& lw = model->layers[il];
    const size_t kvd = (size_t)c.n_head_kv * c.head_dim;
    // attention
    be.rmsnorm(x, attn_norm_[il], T, c.n_embd, c.rms_eps, xn_);
    // q, k, v projections, rope, attention over the cache and the new keys
    be.qkv_rope_attention(lw.wq, lw.wk, lw.wv, xn_, T, pos, inv_freq_, c.rope_interleaved, cache.k[il], cache.v[il],
                          cache.type, n_past, c.n_head, c.n_head_kv, c.head_dim, mask, q_, k_, v_, att_);
    if (write_cache) {
        be.store_kv(cache.k[il], cache.type, (size_t)n_past * kvd, k_, (size_t)T * kvd);
        be.store_kv(cache.v[il], cache.type, (size_t)n_past * kvd, v_, (size_t)T * kvd);
    }
    be.matmul_add(lw.wo, att_, T, xn_, x);  // x += wo att
    // MLP (SwiGLU)
    be.rmsnorm(x, ffn_norm_[il], T, c.n_embd, c.rms_eps, xn_);
    be.matmul_swiglu(lw.w_gate, lw.w_up, xn_, T, g_, u_);  // g = silu(w_gate xn) * (w_up xn)
    be.matmul_add(lw.w_down, g_, T, xn_, x);               // x += w_down g
}

void transformer::forward(const int32_t* tokens, int T, int n_past, const uint8_t* skip, bool write_cache,
                          const std::vector<int>& logit_rows, const std::vector<int>& hidden_rows,
                          forward_out& out) {
    const auto& c = cfg();
    if (T <= 0) fail("forward: no tokens");
    if (n_past < 0 || n_past + T > cache.n_ctx)
        fail("forward: positions [" + std::to_string(n_past) + ", " + std::to_string(n_past + T) +
             ") exceed the context of " + std::to_string(cache.n_ctx));
    for (int t = 0; t < T; t++)
        if (tokens[t] < 0 || tokens[t] >= c.n_vocab)
            fail("token id " + std::to_string(tokens[t]) + " is outside the vocabulary (0 to " +
                 std::to_string(c.n_vocab - 1) + ")");
    for (int r : logit_rows) if (r < 0 || r >= T) fail("forward: logit row out of range");
    for (int r : hidden_rows) if (r < 0 || r >= T) fail("forward: hidden row out of range");
    ensure(T);
    std::vector<int32_t> pos(T);
    for (int t = 0; t < T; t++) pos[t] = n_past + t;
    const size_t d = c.n_embd, L1 = (size_t)c.n_layer + 1;
    out.hidden.assign(hidden_rows.size() * L1 * d, 0.f);
    auto save_hidden = [&](int l) {
        for (size_t r = 0; r < hidden_rows.size(); r++)
            be.download(out.hidden.data() + (r * L1 + l) * d, x_ + (size_t)hidden_rows[r] * d, d);
    };

    be.embed(model->tok_embd, tokens, T, x_);
    save_hidden(0);
    for (int il = 0; il < c.n_layer; il++) {
        if (!(skip && skip[il])) run_layer(il, x_, T, n_past, pos.data(), attn_mask::causal, write_cache);
        save_hidden(il + 1);
    }

    out.logits.resize(logit_rows.size() * (size_t)c.n_vocab);
    if (!logit_rows.empty()) {
        int n = (int)logit_rows.size();
        for (int r = 0; r < n; r++) be.copy(rows_ + (size_t)r * d, x_ + (size_t)logit_rows[r] * d, d);
        be.rmsnorm(rows_, out_norm_, n, c.n_embd, c.rms_eps, xn_);
        be.matmul(model->output, xn_, n, logits_);
        be.download(out.logits.data(), logits_, (size_t)n * c.n_vocab);
    }
    be.sync();
}

void transformer::layer_candidates(int il, const float* states, int n, int p, float* out) {
    const auto& c = cfg();
    if (il < 0 || il >= c.n_layer) fail("layer_candidates: layer out of range");
    if (n <= 0) return;
    if (p < 0 || p > cache.n) fail("layer_candidates: position beyond the cache");
    ensure(n);
    std::vector<int32_t> pos(n, p);  // alternative versions of one token share its true position
    size_t d = c.n_embd;
    be.upload(x_, states, (size_t)n * d);
    run_layer(il, x_, n, p, pos.data(), attn_mask::diagonal, false);
    be.download(out, x_, (size_t)n * d);
    be.sync();
}

void transformer::final_norm_host(const float* x, int n, float* out) {
    const auto& c = cfg();
    size_t d = c.n_embd;
    for (int r = 0; r < n; r++) {
        double ss = 0;
        for (size_t i = 0; i < d; i++) ss += (double)x[r * d + i] * x[r * d + i];
        float scale = (float)(1.0 / std::sqrt(ss / d + c.rms_eps));
        for (size_t i = 0; i < d; i++) out[r * d + i] = x[r * d + i] * scale * model->output_norm[i];
    }
}

}  // namespace clasp
