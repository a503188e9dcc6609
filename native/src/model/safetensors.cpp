#include "safetensors.h"
#include "../core/error.h"
#include "../core/json.h"
#include <algorithm>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <set>
#include <sstream>

namespace clasp {

bool is_safetensors(const mapped_file& f) {
    if (f.size < 10) return false;
    uint64_t n;
    std::memcpy(&n, f.data, 8);
    return n >= 2 && n <= f.size - 8 && f.data[8] == '{';
}

void safetensors_add(st_set& set, std::shared_ptr<mapped_file> file) {
    const mapped_file& f = *file;
    if (f.size < 8) fail(f.path + ": not a safetensors file (too short)");
    uint64_t n;
    std::memcpy(&n, f.data, 8);
    if (n > f.size - 8)
        fail(f.path + ": truncated or corrupt safetensors file (header claims " + std::to_string(n) +
             " bytes, the file has " + std::to_string(f.size) + ")");
    if (n > 100u * 1024 * 1024) fail(f.path + ": safetensors header is implausibly large (" + std::to_string(n) + " bytes)");
    if (n < 2 || f.data[8] != '{') fail(f.path + ": not a safetensors file (header is not a JSON object)");
    json h = json_parse((const char*)f.data + 8, n, f.path + " header");
    if (!h.is_obj()) fail(f.path + ": safetensors header is not a JSON object");
    uint64_t base = 8 + n, avail = f.size - base;
    for (const auto& [name, v] : h.obj) {
        if (name == "__metadata__") continue;
        const json* dt = v.get("dtype");
        const json* shape = v.get("shape");
        const json* offs = v.get("data_offsets");
        if (!dt || !dt->is_str() || !shape || !shape->is_arr() || !offs || !offs->is_arr() || offs->arr.size() != 2)
            fail(f.path + ": tensor " + name + " has a malformed header entry (needs dtype, shape, data_offsets)");
        st_tensor t;
        t.name = name;
        t.file = f.path;
        uint64_t esize;
        if (dt->str == "F32") { t.type = dtype::F32; esize = 4; }
        else if (dt->str == "F16") { t.type = dtype::F16; esize = 2; }
        else if (dt->str == "BF16") { t.type = dtype::BF16; esize = 2; }
        else fail(f.path + ": tensor " + name + " has dtype " + dt->str + ", which this build does not support (supported: F32, F16, BF16)");
        uint64_t count = 1;
        for (const auto& d : shape->arr) {
            if (!d.is_num() || d.num < 0 || d.num > 1e12 || d.num != (double)(uint64_t)d.num)
                fail(f.path + ": tensor " + name + " has an invalid shape");
            uint64_t e = (uint64_t)d.num;
            if (e != 0 && count > (1ull << 42) / e) fail(f.path + ": tensor " + name + " has an impossible shape");
            count *= e;
            t.shape.push_back(e);
        }
        for (const auto& o : offs->arr)
            // (checking the range first: casting a double of 2^64 or more to uint64_t is undefined)
            if (!o.is_num() || o.num < 0 || o.num >= 18446744073709551616.0 || o.num != (double)(uint64_t)o.num)
                fail(f.path + ": tensor " + name + " has invalid data_offsets");
        uint64_t b = (uint64_t)offs->arr[0].num, e = (uint64_t)offs->arr[1].num;
        if (e < b || e - b != count * esize)
            fail(f.path + ": tensor " + name + " data_offsets [" + std::to_string(b) + ", " + std::to_string(e) +
                 ") do not match its shape and dtype (" + std::to_string(count * esize) + " bytes)");
        if (e > avail)
            fail(f.path + ": truncated or corrupt file: tensor " + name + " ends at byte " + std::to_string(base + e) +
                 " but the file has " + std::to_string(f.size));
        // Weights are read in place as uint16/float, so each must sit at a multiple of its element size
        // (the safetensors writer pads the header and orders tensors to guarantee this).
        if ((base + b) % esize != 0)
            fail(f.path + ": tensor " + name + " data at byte " + std::to_string(base + b) + " is not aligned to its " +
                 std::to_string(esize) + "-byte elements (corrupt file, or written by a very old safetensors)");
        t.data = f.data + base + b;
        t.nbytes = e - b;
        if (set.tensors.count(name)) fail(f.path + ": tensor " + name + " appears in more than one shard");
        set.tensors[name] = std::move(t);
    }
    set.files.push_back(file);
}

st_set safetensors_open_dir(const std::string& dir) {
    st_set set;
    std::vector<std::string> files;
    std::string index = dir + "/model.safetensors.index.json";
    std::ifstream in(index, std::ios::binary);
    if (in) {
        std::stringstream ss;
        ss << in.rdbuf();
        std::string text = ss.str();
        json j = json_parse(text.data(), text.size(), index);
        const json* wm = j.get("weight_map");
        if (!wm || !wm->is_obj()) fail(index + ": missing \"weight_map\" object");
        std::set<std::string> uniq;
        for (const auto& [k, v] : wm->obj) {
            if (!v.is_str() || v.str.find('/') != std::string::npos || v.str.find("..") != std::string::npos)
                fail(index + ": weight_map entry for " + k + " is not a plain file name");
            uniq.insert(v.str);
        }
        files.assign(uniq.begin(), uniq.end());
    } else {
        DIR* d = opendir(dir.c_str());
        if (!d) fail(dir + ": cannot open directory");
        while (dirent* e = readdir(d)) {
            std::string n = e->d_name;
            if (n.size() > 12 && n.substr(n.size() - 12) == ".safetensors") files.push_back(n);
        }
        closedir(d);
        std::sort(files.begin(), files.end());
    }
    if (files.empty()) fail(dir + ": no *.safetensors files found");
    for (const auto& n : files) safetensors_add(set, std::make_shared<mapped_file>(dir + "/" + n));
    return set;
}

}  // namespace clasp
