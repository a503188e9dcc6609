// Host-memory buffer handling shared by the ref and cpu backends.
#pragma once
#include "../core/dtype.h"
#include "backend.h"
#include <cstdlib>
#include <cstring>
#include <new>
#include <sys/mman.h>

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
    void store_kv(void* cache, kv_type kv, size_t at, const float* src, size_t n) override {
        if (kv == kv_type::f32) {
            std::memmove((float*)cache + at, src, n * sizeof(float));
            return;
        }
        uint16_t* dst = (uint16_t*)cache + at;
        for (size_t i = 0; i < n; i++) dst[i] = fp32_to_fp16(src[i]);
    }
};

// A large buffer of anonymous memory, in 2 MB pages where the kernel has them (transparent huge
// pages), filled in as it is written. In 4 KB pages, the page faults of filling a 600 MB copy of
// weights took longer than the copying itself, and every page is one more TLB entry for the kernels
// that stream it.
struct page_buffer {
    uint8_t* data = nullptr;
    size_t size = 0;
    explicit page_buffer(size_t n) : size(n ? n : 1) {
        void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
        madvise(p, size, MADV_HUGEPAGE);
#endif
        data = (uint8_t*)p;
    }
    ~page_buffer() { munmap(data, size); }
    page_buffer(const page_buffer&) = delete;
    page_buffer& operator=(const page_buffer&) = delete;
};

// Element i of a host cache buffer of type kv, as a float.
inline float kv_load(const void* cache, kv_type kv, size_t i) {
    return kv == kv_type::f16 ? fp16_to_fp32(((const uint16_t*)cache)[i]) : ((const float*)cache)[i];
}
// x as a cache of type kv holds it.
inline float kv_round(float x, kv_type kv) { return kv == kv_type::f16 ? fp16_to_fp32(fp32_to_fp16(x)) : x; }

}  // namespace clasp
