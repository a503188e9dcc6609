// The persistent KV cache: float32 keys and values per layer, written only by full-model passes
// (prefill, verify) and by drafting at scratch positions that the next verify overwrites.
#pragma once
#include "../backend/backend.h"
#include <vector>

namespace clasp {

struct kv_cache {
    backend& be;
    int n_layer, n_ctx, kv_dim;
    std::vector<float*> k, v;  // per layer: (n_ctx, kv_dim) in backend memory
    int n = 0;                 // positions [0, n) hold exact full-model K/V

    kv_cache(backend& be, int n_layer, int n_ctx, int kv_dim);
    ~kv_cache();
    kv_cache(const kv_cache&) = delete;
    kv_cache& operator=(const kv_cache&) = delete;

    void truncate(int n_keep);
    uint64_t bytes() const { return (uint64_t)2 * n_layer * n_ctx * kv_dim * sizeof(float); }
};

}  // namespace clasp
