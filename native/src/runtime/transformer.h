// The Llama forward pass with a per-call layer-skip mask, and the single-layer candidate call that
// the CLaSp dynamic program needs.
#pragma once
#include "../backend/backend.h"
#include "kv_cache.h"
#include <memory>
#include <vector>

namespace clasp {

struct forward_out {
    std::vector<float> logits;  // (logit_rows, n_vocab)
    std::vector<float> hidden;  // (hidden_rows, n_layer + 1, n_embd): h_0 = embeddings, h_l = output of layer l-1
};

struct transformer {
    std::shared_ptr<llama_model> model;
    backend& be;
    kv_cache cache;

    transformer(std::shared_ptr<llama_model> m, backend& be, int n_ctx, kv_type kv = kv_type::f32);
    ~transformer();
    transformer(const transformer&) = delete;
    transformer& operator=(const transformer&) = delete;

    const llama_config& cfg() const { return model->cfg; }

    // Runs tokens[0..T) at positions [n_past, n_past + T), attending to cache[0, n_past) and causally
    // to each other. skip: null or n_layer flags; a skipped layer is the identity and does not touch
    // the cache. When write_cache, kept layers store their K/V at [n_past, n_past + T) (the caller
    // sets cache.n). logit_rows / hidden_rows: which of the T positions to return.
    void forward(const int32_t* tokens, int T, int n_past, const uint8_t* skip, bool write_cache,
                 const std::vector<int>& logit_rows, const std::vector<int>& hidden_rows, forward_out& out);

    // The DP primitive: layer il applied to n candidate states (host, (n, n_embd)), all at position p.
    // Each sees cache[0, p) of layer il and itself only. Writes nothing to the cache. out: (n, n_embd).
    void layer_candidates(int il, const float* states, int n, int p, float* out);

    // Applies the final RMSNorm to host vectors (n, n_embd).
    void final_norm_host(const float* x, int n, float* out);

private:
    void ensure(int T);
    void run_layer(int il, float* x, int T, int n_past, const int32_t* pos, attn_mask mask, bool write_cache);
    int cap_ = 0;
    float *x_ = nullptr, *xn_ = nullptr, *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *att_ = nullptr,
          *g_ = nullptr, *u_ = nullptr, *rows_ = nullptr, *logits_ = nullptr;
    std::vector<float*> attn_norm_, ffn_norm_;
    float *out_norm_ = nullptr, *inv_freq_ = nullptr;
};

}  // namespace clasp
