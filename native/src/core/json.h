// A small strict JSON parser for safetensors headers and config.json. Input is untrusted: depth and
// size are bounded, and every error names the offset.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace clasp {

struct json {
    enum kind_t { NUL, BOOL, NUM, STR, ARR, OBJ } kind = NUL;
    bool b = false;
    double num = 0;
    std::string str;
    std::vector<json> arr;
    std::map<std::string, json> obj;

    bool is_num() const { return kind == NUM; }
    bool is_str() const { return kind == STR; }
    bool is_obj() const { return kind == OBJ; }
    bool is_arr() const { return kind == ARR; }
    bool has(const std::string& k) const { return kind == OBJ && obj.count(k) > 0; }
    const json* get(const std::string& k) const {
        if (kind != OBJ) return nullptr;
        auto it = obj.find(k);
        return it == obj.end() ? nullptr : &it->second;
    }
};

// Parses text; on failure throws engine_error("<what>: invalid JSON at byte N: reason").
json json_parse(const char* text, size_t len, const std::string& what);

}  // namespace clasp
