#pragma once
#include "../host_memory.h"

namespace clasp {

struct ref_backend : host_backend {
    std::string name() const override { return "ref"; }
    void embed(const weight& E, const int32_t* ids, int T, float* out) override;
    void matmul(const weight& W, const float* x, int T, float* y) override;
    void rmsnorm(const float* x, const float* w, int T, int n, float eps, float* out) override;
    void rope(float* x, int T, int n_head, int head_dim, const int32_t* pos, const float* inv_freq,
              bool interleaved) override;
    void attention(const float* q, const float* k_new, const float* v_new, int T, const void* k_cache,
                   const void* v_cache, kv_type kv, int n_prefix, int n_head, int n_head_kv, int hd, attn_mask mask,
                   float* out) override;
    void silu_mul(float* g, const float* u, size_t n) override;
    void add(float* x, const float* y, size_t n) override;
};

}  // namespace clasp
