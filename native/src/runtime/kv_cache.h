// The persistent KV cache: keys and values per layer in float32 or F16 (kv_type, backend.h), written
// only by full-model passes (prefill, verify) and by drafting at scratch positions that the next
// verify overwrites.
#pragma once
#include "../backend/backend.h"
#include <vector>

namespace clasp {

struct kv_cache {
    backend& be;
    int n_layer, n_ctx, kv_dim;
    kv_type type;
    std::vector<void*> k, v;   // per layer: (n_ctx, kv_dim) elements of `type` in backend memory
    int n = 0;                 // positions [0, n) hold exact full-model K/V
    std::vector<int> tokens;   // the tokens at positions [0, n), in order (engine paths keep n == size)

    kv_cache(backend& be, int n_layer, int n_ctx, int kv_dim, kv_type type = kv_type::f32);
    ~kv_cache();
    kv_cache(const kv_cache&) = delete;
    kv_cache& operator=(const kv_cache&) = delete;

    // Records that a full pass wrote K/V for ids at positions [n, n + count).
    void append(const int* ids, int count);
    void append(int id) { append(&id, 1); }
    // Keeps positions [0, n_keep): the tokens after them, and their K/V, are dropped.
    void truncate(int n_keep);
    uint64_t bytes() const { return (uint64_t)2 * n_layer * n_ctx * kv_dim * kv_type_bytes(type); }
};

}  // namespace clasp
