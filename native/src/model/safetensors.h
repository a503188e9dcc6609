// safetensors reader over memory maps: one file, or a Hugging Face directory with several shards.
#pragma once
#include "../core/dtype.h"
#include "../core/mapped_file.h"
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace clasp {

struct st_tensor {
    std::string name;
    dtype type = dtype::F32;
    std::vector<uint64_t> shape;  // row-major, outermost first (as PyTorch)
    const uint8_t* data = nullptr;
    uint64_t nbytes = 0;
    std::string file;
};

struct st_set {
    std::vector<std::shared_ptr<mapped_file>> files;
    std::map<std::string, st_tensor> tensors;
    const st_tensor* find(const std::string& n) const {
        auto it = tensors.find(n);
        return it == tensors.end() ? nullptr : &it->second;
    }
};

// Adds every tensor of one .safetensors file to the set (checking header, dtypes and offsets).
void safetensors_add(st_set& set, std::shared_ptr<mapped_file> file);

// Loads a directory: model.safetensors.index.json when present, else every *.safetensors file.
st_set safetensors_open_dir(const std::string& dir);

bool is_safetensors(const mapped_file& f);

}  // namespace clasp
