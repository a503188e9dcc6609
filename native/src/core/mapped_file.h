// A read-only memory map of a model file. Weights are used in place from the map, never copied.
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
};

}  // namespace clasp
