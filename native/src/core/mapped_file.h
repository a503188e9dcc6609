// A read-only memory map of a model file. Weights are used in place from the map, except where a backend
// keeps its own copy (the CPU backend packs K-quant matrices for its tile kernels; a GPU uploads them).
#pragma once
#include <cstdint>
#include <string>

namespace clasp {

struct mapped_file {
    std::string path;
    const uint8_t* data = nullptr;
    uint64_t size = 0;

    explicit mapped_file(const std::string& path);
    ~mapped_file();
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;

    // Bytes of this mapping currently resident in RAM (mincore), for memory reports.
    uint64_t resident_bytes() const;

    // Whether [p, p + n) lies inside the mapping.
    bool contains(const void* p, uint64_t n) const { return (const uint8_t*)p >= data && (const uint8_t*)p + n <= data + size; }
    // Maps the pages of [p, p + n) in one call before they are read through: far fewer page faults
    // than touching them one by one (a hint: nothing happens where the kernel lacks it).
    void populate(const void* p, uint64_t n) const;
    // This process stops holding the whole pages of [p, p + n), once it has copied what it needs
    // from them; the page cache keeps them, and a later read maps them again.
    void release(const void* p, uint64_t n) const;
};

}  // namespace clasp
