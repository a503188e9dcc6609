#include "gguf.h"
#include "../core/error.h"
#include <cstring>

namespace clasp {
namespace {

enum : uint32_t {
    GT_UINT8 = 0, GT_INT8, GT_UINT16, GT_INT16, GT_UINT32, GT_INT32, GT_FLOAT32, GT_BOOL, GT_STRING,
    GT_ARRAY, GT_UINT64, GT_INT64, GT_FLOAT64
};

const char* ggml_type_name(uint32_t t) {
    static const char* names[] = {"F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1",
                                  "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K",
                                  "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S",
                                  "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M",
                                  "BF16"};
    return t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}

struct reader {
    const mapped_file& f;
    uint64_t pos = 0;

    [[noreturn]] void trunc(const char* what) {
        fail(f.path + ": truncated or corrupt GGUF header (" + what + " at byte " + std::to_string(pos) +
             " runs past the end of the " + std::to_string(f.size) + "-byte file)");
    }
    void need(uint64_t n, const char* what) {
        if (n > f.size || pos > f.size - n) trunc(what);
    }
    template <typename T>
    T get(const char* what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, f.data + pos, sizeof(T));
        pos += sizeof(T);
        return v;
    }
    std::string str(const char* what) {
        uint64_t n = get<uint64_t>(what);
        need(n, what);
        std::string s((const char*)f.data + pos, n);
        pos += n;
        return s;
    }
    double scalar(uint32_t t, gguf_value::kind_t& kind, const std::string& key) {
        switch (t) {
            case GT_UINT8: kind = gguf_value::UINT; return get<uint8_t>("value");
            case GT_INT8: kind = gguf_value::INT; return get<int8_t>("value");
            case GT_UINT16: kind = gguf_value::UINT; return get<uint16_t>("value");
            case GT_INT16: kind = gguf_value::INT; return get<int16_t>("value");
            case GT_UINT32: kind = gguf_value::UINT; return get<uint32_t>("value");
            case GT_INT32: kind = gguf_value::INT; return get<int32_t>("value");
            case GT_FLOAT32: kind = gguf_value::FLOAT; return get<float>("value");
            case GT_BOOL: kind = gguf_value::BOOL; return get<uint8_t>("value") != 0;
            case GT_UINT64: kind = gguf_value::UINT; return (double)get<uint64_t>("value");
            case GT_INT64: kind = gguf_value::INT; return (double)get<int64_t>("value");
            case GT_FLOAT64: kind = gguf_value::FLOAT; return get<double>("value");
        }
        fail(f.path + ": metadata key '" + key + "' has unknown value type " + std::to_string(t));
    }
};

const char* const supported_types = "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K";

uint64_t elem_size(uint32_t t) {
    switch (t) {
        case GT_UINT8: case GT_INT8: case GT_BOOL: return 1;
        case GT_UINT16: case GT_INT16: return 2;
        case GT_UINT32: case GT_INT32: case GT_FLOAT32: return 4;
        case GT_UINT64: case GT_INT64: case GT_FLOAT64: return 8;
        case GT_STRING: return 8;  // at least the length prefix
    }
    return 0;
}

}  // namespace

bool is_gguf(const mapped_file& f) { return f.size >= 4 && std::memcmp(f.data, "GGUF", 4) == 0; }

const gguf_tensor* gguf_file::tensor(const std::string& name) const {
    for (const auto& t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

gguf_file gguf_open(std::shared_ptr<mapped_file> file) {
    const mapped_file& f = *file;
    if (!is_gguf(f)) fail(f.path + ": not a GGUF file (bad magic)");
    reader r{f, 4};
    gguf_file g;
    g.file = file;
    g.version = r.get<uint32_t>("version");
    if (g.version != 2 && g.version != 3)
        fail(f.path + ": GGUF version " + std::to_string(g.version) + " is not supported (supported: 2, 3)");
    uint64_t n_tensors = r.get<uint64_t>("tensor count");
    uint64_t n_kv = r.get<uint64_t>("metadata count");
    // Each entry takes at least 8+4 bytes (kv) or 8+4+4+8 bytes (tensor); lying counts fail here.
    if (n_kv > f.size / 12 || n_tensors > f.size / 24)
        fail(f.path + ": corrupt GGUF header (claims " + std::to_string(n_kv) + " metadata entries and " +
             std::to_string(n_tensors) + " tensors, more than the file can hold)");

    for (uint64_t k = 0; k < n_kv; k++) {
        std::string key = r.str("metadata key");
        uint32_t t = r.get<uint32_t>("value type");
        gguf_value v;
        if (t == GT_STRING) {
            v.kind = gguf_value::STRING;
            v.s = r.str("string value");
        } else if (t == GT_ARRAY) {
            v.kind = gguf_value::ARRAY;
            uint32_t et = r.get<uint32_t>("array type");
            uint64_t n = r.get<uint64_t>("array length");
            uint64_t es = elem_size(et);
            if (es == 0) fail(f.path + ": metadata key '" + key + "' has an array of unsupported type " + std::to_string(et));
            if (n > (f.size - r.pos) / es) r.trunc("array");
            if (et == GT_STRING) {
                v.elem_kind = gguf_value::STRING;
                v.strs.reserve(n);
                for (uint64_t j = 0; j < n; j++) v.strs.push_back(r.str("array string"));
            } else {
                v.nums.reserve(n);
                for (uint64_t j = 0; j < n; j++) v.nums.push_back(r.scalar(et, v.elem_kind, key));
            }
        } else {
            double d = r.scalar(t, v.kind, key);
            v.f = d;
            // Clamped: casting a double outside the integer's range (a huge float value) is undefined.
            v.i = d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN : d == d ? (int64_t)d : 0;
            v.u = !(d > 0) ? 0 : d >= 1.8e19 ? UINT64_MAX : (uint64_t)d;
            v.b = d != 0;
            if (t == GT_UINT64 || t == GT_INT64) {  // keep 64-bit integers exact
                std::memcpy(&v.u, f.data + r.pos - 8, 8);
                std::memcpy(&v.i, f.data + r.pos - 8, 8);
            }
        }
        g.kv[key] = std::move(v);
    }

    uint64_t alignment = 32;
    if (auto* a = g.find("general.alignment")) {
        alignment = a->u;
        if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > 65536)
            fail(f.path + ": general.alignment " + std::to_string(alignment) + " is not a power of two");
    }

    struct pending { uint64_t offset; };
    std::vector<uint64_t> offsets;
    for (uint64_t k = 0; k < n_tensors; k++) {
        gguf_tensor t;
        t.name = r.str("tensor name");
        uint32_t nd = r.get<uint32_t>("tensor dims");
        if (nd == 0 || nd > 4) fail(f.path + ": tensor " + t.name + " has " + std::to_string(nd) + " dimensions (expected 1 to 4)");
        uint64_t count = 1;
        for (uint32_t d = 0; d < nd; d++) {
            uint64_t ne = r.get<uint64_t>("tensor dim");
            if (ne == 0 || ne > (1ull << 40) || count > (1ull << 40) / ne)
                fail(f.path + ": tensor " + t.name + " has an impossible shape");
            count *= ne;
            t.ne.push_back(ne);
        }
        t.ggml_type = r.get<uint32_t>("tensor type");
        switch (t.ggml_type) {
            case 0: t.type = dtype::F32; break;
            case 1: t.type = dtype::F16; break;
            case 2: t.type = dtype::Q4_0; break;
            case 3: t.type = dtype::Q4_1; break;
            case 6: t.type = dtype::Q5_0; break;
            case 7: t.type = dtype::Q5_1; break;
            case 8: t.type = dtype::Q8_0; break;
            case 12: t.type = dtype::Q4_K; break;
            case 13: t.type = dtype::Q5_K; break;
            case 14: t.type = dtype::Q6_K; break;
            case 30: t.type = dtype::BF16; break;
            default:
                fail(f.path + ": tensor " + t.name + " has type " + ggml_type_name(t.ggml_type) +
                     ", which this build does not support yet (supported: " + supported_types + ")");
        }
        // A quantized row is a whole number of blocks; blocks never straddle rows.
        if (t.ne[0] % block_elems(t.type) != 0)
            fail(f.path + ": tensor " + t.name + " is " + dtype_name(t.type) + " but its rows (" + std::to_string(t.ne[0]) +
                 " elements) are not a multiple of its block size " + std::to_string(block_elems(t.type)));
        t.nbytes = row_bytes(t.type, t.ne[0]) * (count / t.ne[0]);
        offsets.push_back(r.get<uint64_t>("tensor offset"));
        g.tensors.push_back(std::move(t));
    }
    uint64_t data_start = (r.pos + alignment - 1) / alignment * alignment;
    if (data_start > f.size && n_tensors > 0) r.trunc("tensor data");
    for (size_t k = 0; k < g.tensors.size(); k++) {
        gguf_tensor& t = g.tensors[k];
        uint64_t off = offsets[k];
        if (off % alignment != 0)
            fail(f.path + ": tensor " + t.name + " has a misaligned offset " + std::to_string(off));
        if (off > f.size - data_start || t.nbytes > f.size - data_start - off)
            fail(f.path + ": truncated or corrupt file: tensor " + t.name + " (" + std::to_string(t.nbytes) +
                 " bytes at offset " + std::to_string(off) + ") lies past the end of the file");
        t.data = f.data + data_start + off;
    }
    return g;
}

}  // namespace clasp
