#include "kv_cache.h"
#include "../core/error.h"

namespace clasp {

kv_cache::kv_cache(backend& b, int nl, int nc, int kd, kv_type t) : be(b), n_layer(nl), n_ctx(nc), kv_dim(kd), type(t) {
    if (!be.supports_kv(type))
        fail(std::string("the KV cache type ") + kv_type_name(type) + " (--kv, kvType) is not supported on the " + be.name() +
             " backend: use f32, or the cpu backend");
    // Backends allocate in floats: an F16 layer takes half as many, rounded up.
    const size_t elems = (size_t)n_ctx * kv_dim, floats = (elems * kv_type_bytes(type) + 3) / 4;
    for (int il = 0; il < n_layer; il++) {
        k.push_back(be.alloc(floats));
        v.push_back(be.alloc(floats));
    }
}

kv_cache::~kv_cache() {
    for (auto* p : k) be.free((float*)p);
    for (auto* p : v) be.free((float*)p);
}

void kv_cache::append(const int* ids, int count) {
    if (count < 0 || n + count > n_ctx) fail("kv_cache::append: " + std::to_string(count) + " tokens do not fit the context");
    tokens.resize(n, -1);  // positions written by low-level callers without a token list stay unnamed
    tokens.insert(tokens.end(), ids, ids + count);
    n += count;
}

void kv_cache::truncate(int n_keep) {
    if (n_keep < 0 || n_keep > n) fail("kv_cache::truncate(" + std::to_string(n_keep) + ") outside [0, " + std::to_string(n) + "]");
    n = n_keep;
    if ((int)tokens.size() > n) tokens.resize(n);
}

}  // namespace clasp
