// Helpers for the GPU tests: the shared CUDA backend and device buffers that upload on construction
// and download on demand. Random data, weights and error measures come from test/native/util.h.
#pragma once
#include "core/error.h"
#include "util.h"
#include <memory>

namespace tg {

// One CUDA backend for the whole suite (created on first use).
inline clasp::backend& cuda() {
    static std::unique_ptr<clasp::backend> be = clasp::backend_create("cuda", 1);
    return *be;
}

// A float buffer in device memory.
struct dbuf {
    clasp::backend& be;
    float* p = nullptr;
    size_t n = 0;
    dbuf(clasp::backend& b, size_t count) : be(b), p(b.alloc(count)), n(count) {}
    dbuf(clasp::backend& b, const std::vector<float>& host) : dbuf(b, host.size()) { be.upload(p, host.data(), n); }
    ~dbuf() { be.free(p); }
    dbuf(const dbuf&) = delete;
    dbuf& operator=(const dbuf&) = delete;
    std::vector<float> get() const {
        std::vector<float> h(n);
        be.download(h.data(), p, n);
        return h;
    }
};

inline bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

}  // namespace tg
