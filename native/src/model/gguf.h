// GGUF v2/v3 reader over a memory map. Every count, length and offset in the header is checked
// against the file's real size before use, so a truncated or lying file gives a clear error.
#pragma once
#include "../core/dtype.h"
#include "../core/mapped_file.h"
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace clasp {

struct gguf_value {
    enum kind_t { INT, UINT, FLOAT, BOOL, STRING, ARRAY } kind = INT;
    int64_t i = 0;
    uint64_t u = 0;
    double f = 0;
    bool b = false;
    std::string s;
    // Arrays: elem_kind says which of the vectors below is filled.
    kind_t elem_kind = INT;
    std::vector<std::string> strs;
    std::vector<double> nums;
};

struct gguf_tensor {
    std::string name;
    uint32_t ggml_type = 0;
    dtype type = dtype::F32;
    std::vector<uint64_t> ne;  // ne[0] is the innermost (contiguous) dimension
    const uint8_t* data = nullptr;
    uint64_t nbytes = 0;
};

struct gguf_file {
    std::shared_ptr<mapped_file> file;
    uint32_t version = 0;
    std::map<std::string, gguf_value> kv;
    std::vector<gguf_tensor> tensors;

    const gguf_value* find(const std::string& key) const {
        auto it = kv.find(key);
        return it == kv.end() ? nullptr : &it->second;
    }
    const gguf_tensor* tensor(const std::string& name) const;
};

// Parses the header of a mapped file. Throws engine_error naming the path and the problem.
gguf_file gguf_open(std::shared_ptr<mapped_file> file);

// Whether the first bytes look like GGUF.
bool is_gguf(const mapped_file& f);

}  // namespace clasp
