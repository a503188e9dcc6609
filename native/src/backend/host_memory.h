// Host-memory buffer handling shared by the ref and cpu backends.
#pragma once
#include "backend.h"
#include <cstdlib>
#include <cstring>
#include <new>

namespace clasp {

struct host_backend : backend {
    float* alloc(size_t n) override {
        void* p = nullptr;
        if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)) != 0) throw std::bad_alloc();
        return (float*)p;
    }
    void free(float* p) override { std::free(p); }
    void upload(float* dst, const float* src, size_t n) override { std::memcpy(dst, src, n * sizeof(float)); }
    void download(float* dst, const float* src, size_t n) override { std::memcpy(dst, src, n * sizeof(float)); }
    void copy(float* dst, const float* src, size_t n) override { std::memmove(dst, src, n * sizeof(float)); }
};

}  // namespace clasp
