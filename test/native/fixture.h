// Small random-weight Llama models for the native tests, written both as GGUF v3 and as a Hugging Face
// directory (config.json + safetensors) from the same float weights. Header-only.
//
// Weights are kept in the Hugging Face layout: every matrix is (n_out, n_in), row-major, and Q/K rows
// are in rotate-half order. The GGUF writer permutes Q and K rows per head into llama.cpp's interleaved
// order, exactly as convert_hf_to_gguf.py does, so the two files describe the same model.
#pragma once
#include "core/dtype.h"
#include "core/error.h"
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace fx {

// ---------------------------------------------------------------- model description

struct model_cfg {
    int n_vocab = 96;
    int n_embd = 64;
    int n_layer = 2;
    int n_head = 4;
    int n_head_kv = 2;
    int head_dim = 0;  // 0: not written to the files (the loaders then use n_embd / n_head)
    int n_ff = 96;
    int n_ctx = 256;
    float rms_eps = 1e-5f;
    float rope_theta = 10000.f;
    bool tied = false;  // no output.weight / lm_head.weight; tie_word_embeddings true
    // llama3 rope scaling; factor 0 means none
    float rope_factor = 0, rope_low_freq = 1, rope_high_freq = 4;
    int rope_orig_ctx = 64;
    int bos_id = 1, eos_id = 2;

    int hd() const { return head_dim > 0 ? head_dim : n_embd / n_head; }
};

struct layer_weights {
    std::vector<float> attn_norm;     // (n_embd)
    std::vector<float> wq;            // (n_head*hd, n_embd)
    std::vector<float> wk, wv;        // (n_head_kv*hd, n_embd)
    std::vector<float> wo;            // (n_embd, n_head*hd)
    std::vector<float> ffn_norm;      // (n_embd)
    std::vector<float> w_gate, w_up;  // (n_ff, n_embd)
    std::vector<float> w_down;        // (n_embd, n_ff)
};

struct model_weights {
    std::vector<float> tok_embd;     // (n_vocab, n_embd)
    std::vector<float> output;       // (n_vocab, n_embd); empty when tied
    std::vector<float> output_norm;  // (n_embd)
    std::vector<layer_weights> layers;
};

inline std::vector<float> randn(size_t n, std::mt19937& g, float mean, float stddev) {
    std::normal_distribution<float> d(mean, stddev);
    std::vector<float> v(n);
    for (auto& x : v) x = d(g);
    return v;
}

// Random weights scaled so activations stay O(1) through a few layers (std 1/sqrt(n_in)).
inline model_weights random_weights(const model_cfg& c, uint32_t seed) {
    std::mt19937 g(seed);
    const size_t E = c.n_embd, Q = (size_t)c.n_head * c.hd(), KV = (size_t)c.n_head_kv * c.hd(), F = c.n_ff;
    auto mat = [&](size_t n_out, size_t n_in) { return randn(n_out * n_in, g, 0.f, 1.f / std::sqrt((float)n_in)); };
    model_weights w;
    w.tok_embd = randn((size_t)c.n_vocab * E, g, 0.f, 1.f);
    if (!c.tied) w.output = mat(c.n_vocab, E);
    w.output_norm = randn(E, g, 1.f, 0.1f);
    for (int il = 0; il < c.n_layer; il++) {
        layer_weights lw;
        lw.attn_norm = randn(E, g, 1.f, 0.1f);
        lw.wq = mat(Q, E);
        lw.wk = mat(KV, E);
        lw.wv = mat(KV, E);
        lw.wo = mat(E, Q);
        lw.ffn_norm = randn(E, g, 1.f, 0.1f);
        lw.w_gate = mat(F, E);
        lw.w_up = mat(F, E);
        lw.w_down = mat(E, F);
        w.layers.push_back(std::move(lw));
    }
    return w;
}

// ---------------------------------------------------------------- dtype encoding

// Raw bytes of a (n_rows, n_in) float matrix in dtype t (Q8_0: n_in must be a multiple of 32).
inline std::vector<uint8_t> encode(const std::vector<float>& v, int64_t n_in, clasp::dtype t) {
    const int64_t n_rows = (int64_t)v.size() / n_in;
    std::vector<uint8_t> out(clasp::row_bytes(t, n_in) * n_rows);
    for (int64_t r = 0; r < n_rows; r++) {
        uint8_t* dst = out.data() + clasp::row_bytes(t, n_in) * r;
        const float* src = v.data() + r * n_in;
        switch (t) {
            case clasp::dtype::F32: std::memcpy(dst, src, n_in * 4); break;
            case clasp::dtype::F16:
                for (int64_t i = 0; i < n_in; i++) {
                    uint16_t h = clasp::fp32_to_fp16(src[i]);
                    std::memcpy(dst + 2 * i, &h, 2);
                }
                break;
            case clasp::dtype::BF16:
                for (int64_t i = 0; i < n_in; i++) {
                    uint16_t h = clasp::fp32_to_bf16(src[i]);
                    std::memcpy(dst + 2 * i, &h, 2);
                }
                break;
            case clasp::dtype::Q8_0: clasp::quantize_row_q8_0(src, (clasp::block_q8_0*)dst, n_in); break;
        }
    }
    return out;
}

// The values dtype t actually stores for v (round-trip through encode).
inline std::vector<float> snap_vec(const std::vector<float>& v, int64_t n_in, clasp::dtype t) {
    if (t == clasp::dtype::F32) return v;
    auto bytes = encode(v, n_in, t);
    std::vector<float> out(v.size());
    for (size_t r = 0; r < v.size() / n_in; r++)
        clasp::dequantize_row(t, bytes.data() + clasp::row_bytes(t, n_in) * r, out.data() + r * n_in, n_in);
    return out;
}

// Rounds every weight to what dtype t stores, so that files of different dtypes written from the
// result hold exactly the same model. Norm vectors: GGUF keeps them F32, so Q8_0 leaves them alone.
inline model_weights snap(const model_weights& w, const model_cfg& c, clasp::dtype t) {
    model_weights s = w;
    const int64_t E = c.n_embd, Q = (int64_t)c.n_head * c.hd(), F = c.n_ff;
    auto vec_t = t == clasp::dtype::Q8_0 ? clasp::dtype::F32 : t;
    s.tok_embd = snap_vec(w.tok_embd, E, t);
    if (!w.output.empty()) s.output = snap_vec(w.output, E, t);
    s.output_norm = snap_vec(w.output_norm, E, vec_t);
    for (size_t il = 0; il < w.layers.size(); il++) {
        const auto& a = w.layers[il];
        auto& b = s.layers[il];
        b.attn_norm = snap_vec(a.attn_norm, E, vec_t);
        b.ffn_norm = snap_vec(a.ffn_norm, E, vec_t);
        b.wq = snap_vec(a.wq, E, t);
        b.wk = snap_vec(a.wk, E, t);
        b.wv = snap_vec(a.wv, E, t);
        b.wo = snap_vec(a.wo, Q, t);
        b.w_gate = snap_vec(a.w_gate, E, t);
        b.w_up = snap_vec(a.w_up, E, t);
        b.w_down = snap_vec(a.w_down, F, t);
    }
    return s;
}

// HF rotate-half row order -> llama.cpp interleaved order, per head (convert_hf_to_gguf.py's permute).
inline std::vector<float> permute_rope_rows(const std::vector<float>& w, int n_head, int hd, int64_t n_in) {
    std::vector<float> out(w.size());
    for (int h = 0; h < n_head; h++)
        for (int i = 0; i < hd / 2; i++) {
            std::memcpy(&out[((size_t)h * hd + 2 * i) * n_in], &w[((size_t)h * hd + i) * n_in], n_in * 4);
            std::memcpy(&out[((size_t)h * hd + 2 * i + 1) * n_in], &w[((size_t)h * hd + hd / 2 + i) * n_in], n_in * 4);
        }
    return out;
}

// llama.cpp's rope_freqs.weight for llama3 scaling: per-frequency divisors (convert_hf_to_gguf.py).
inline std::vector<float> llama3_rope_factors(const model_cfg& c) {
    const int hd = c.hd();
    const double pi = 3.14159265358979323846;
    std::vector<float> fac(hd / 2);
    double low_wl = c.rope_orig_ctx / c.rope_low_freq, high_wl = c.rope_orig_ctx / c.rope_high_freq;
    for (int i = 0; i < hd / 2; i++) {
        float freq = 1.0f / std::pow(c.rope_theta, (float)(2 * i) / (float)hd);
        double wl = 2 * pi / freq;
        if (wl < high_wl) fac[i] = 1.f;
        else if (wl > low_wl) fac[i] = c.rope_factor;
        else {
            double smooth = (c.rope_orig_ctx / wl - c.rope_low_freq) / (c.rope_high_freq - c.rope_low_freq);
            fac[i] = (float)(1.0 / ((1 - smooth) / c.rope_factor + smooth));
        }
    }
    return fac;
}

// ---------------------------------------------------------------- GGUF

enum ggml_type : uint32_t {
    GGML_F32 = 0, GGML_F16 = 1, GGML_Q4_0 = 2, GGML_Q4_1 = 3, GGML_Q5_0 = 6, GGML_Q5_1 = 7, GGML_Q8_0 = 8,
    GGML_Q4_K = 12, GGML_Q5_K = 13, GGML_Q6_K = 14, GGML_IQ4_XS = 23, GGML_BF16 = 30
};
enum gguf_vtype : uint32_t {
    GV_UINT8 = 0, GV_INT8, GV_UINT16, GV_INT16, GV_UINT32, GV_INT32, GV_FLOAT32, GV_BOOL, GV_STRING,
    GV_ARRAY, GV_UINT64, GV_INT64, GV_FLOAT64
};

inline uint32_t ggml_type_of(clasp::dtype t) {
    switch (t) {
        case clasp::dtype::F32: return GGML_F32;
        case clasp::dtype::F16: return GGML_F16;
        case clasp::dtype::BF16: return GGML_BF16;
        case clasp::dtype::Q8_0: return GGML_Q8_0;
        case clasp::dtype::Q4_0: return GGML_Q4_0;
        case clasp::dtype::Q4_1: return GGML_Q4_1;
        case clasp::dtype::Q5_0: return GGML_Q5_0;
        case clasp::dtype::Q5_1: return GGML_Q5_1;
        case clasp::dtype::Q4_K: return GGML_Q4_K;
        case clasp::dtype::Q5_K: return GGML_Q5_K;
        case clasp::dtype::Q6_K: return GGML_Q6_K;
    }
    return GGML_F32;
}

template <typename T>
inline void put(std::vector<uint8_t>& b, T v) {
    size_t n = b.size();
    b.resize(n + sizeof(T));
    std::memcpy(b.data() + n, &v, sizeof(T));
}
inline void put_str(std::vector<uint8_t>& b, const std::string& s) {
    put<uint64_t>(b, s.size());
    b.insert(b.end(), s.begin(), s.end());
}

// Builds a GGUF v3 file in memory. Entries can be replaced or removed before build(), and build()
// reports where each field landed so tests can corrupt exactly one of them.
struct gguf_builder {
    struct kv_entry {
        std::string key;
        uint32_t type;
        std::vector<uint8_t> value;  // serialized value (after the type field)
    };
    struct tensor_entry {
        std::string name;
        std::vector<uint64_t> ne;  // ne[0] innermost
        uint32_t type;
        std::vector<uint8_t> data;
    };
    struct layout {
        std::vector<size_t> kv_key_len;    // byte offset of each kv's key-length field
        std::vector<size_t> kv_value;      // byte offset of each kv's value (after its type field)
        std::vector<size_t> tensor_info;   // byte offset of each tensor info's name-length field
        std::vector<size_t> tensor_ne;     // byte offset of each tensor's ne[0]
        std::vector<size_t> tensor_type;   // byte offset of each tensor's type field
        std::vector<size_t> tensor_offset; // byte offset of each tensor's data-offset field
        size_t data_start = 0;             // first byte of the data section
    };
    uint32_t version = 3;
    uint64_t alignment = 32;
    std::vector<kv_entry> kvs;
    std::vector<tensor_entry> tensors;

    void set(const std::string& key, uint32_t type, std::vector<uint8_t> value) {
        for (auto& e : kvs)
            if (e.key == key) { e.type = type; e.value = std::move(value); return; }
        kvs.push_back({key, type, std::move(value)});
    }
    void erase(const std::string& key) {
        for (size_t i = 0; i < kvs.size(); i++)
            if (kvs[i].key == key) { kvs.erase(kvs.begin() + i); return; }
    }
    void set_str(const std::string& k, const std::string& v) { std::vector<uint8_t> b; put_str(b, v); set(k, GV_STRING, b); }
    void set_u32(const std::string& k, uint32_t v) { std::vector<uint8_t> b; put(b, v); set(k, GV_UINT32, b); }
    void set_i32(const std::string& k, int32_t v) { std::vector<uint8_t> b; put(b, v); set(k, GV_INT32, b); }
    void set_f32(const std::string& k, float v) { std::vector<uint8_t> b; put(b, v); set(k, GV_FLOAT32, b); }
    void set_bool(const std::string& k, bool v) { std::vector<uint8_t> b; put<uint8_t>(b, v); set(k, GV_BOOL, b); }
    void set_arr_str(const std::string& k, const std::vector<std::string>& v) {
        std::vector<uint8_t> b;
        put<uint32_t>(b, GV_STRING);
        put<uint64_t>(b, v.size());
        for (const auto& s : v) put_str(b, s);
        set(k, GV_ARRAY, b);
    }
    void set_arr_f32(const std::string& k, const std::vector<float>& v) {
        std::vector<uint8_t> b;
        put<uint32_t>(b, GV_FLOAT32);
        put<uint64_t>(b, v.size());
        for (float x : v) put(b, x);
        set(k, GV_ARRAY, b);
    }
    void add_tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, std::vector<uint8_t> data) {
        tensors.push_back({name, std::move(ne), type, std::move(data)});
    }
    tensor_entry* tensor(const std::string& name) {
        for (auto& t : tensors)
            if (t.name == name) return &t;
        return nullptr;
    }
    void remove_tensor(const std::string& name) {
        for (size_t i = 0; i < tensors.size(); i++)
            if (tensors[i].name == name) { tensors.erase(tensors.begin() + i); return; }
    }

    std::vector<uint8_t> build(layout* lay = nullptr) const {
        layout out;
        std::vector<uint8_t> b(4);
        std::memcpy(b.data(), "GGUF", 4);
        put<uint32_t>(b, version);
        put<uint64_t>(b, tensors.size());
        put<uint64_t>(b, kvs.size());
        for (const auto& e : kvs) {
            out.kv_key_len.push_back(b.size());
            put_str(b, e.key);
            put<uint32_t>(b, e.type);
            out.kv_value.push_back(b.size());
            b.insert(b.end(), e.value.begin(), e.value.end());
        }
        uint64_t off = 0;
        std::vector<uint64_t> offs;
        for (const auto& t : tensors) {
            out.tensor_info.push_back(b.size());
            put_str(b, t.name);
            put<uint32_t>(b, (uint32_t)t.ne.size());
            out.tensor_ne.push_back(b.size());
            for (uint64_t n : t.ne) put<uint64_t>(b, n);
            out.tensor_type.push_back(b.size());
            put<uint32_t>(b, t.type);
            out.tensor_offset.push_back(b.size());
            put<uint64_t>(b, off);
            offs.push_back(off);
            off = (off + t.data.size() + alignment - 1) / alignment * alignment;
        }
        b.resize((b.size() + alignment - 1) / alignment * alignment, 0);
        out.data_start = b.size();
        for (size_t i = 0; i < tensors.size(); i++) {
            b.resize(out.data_start + offs[i], 0);
            b.insert(b.end(), tensors[i].data.begin(), tensors[i].data.end());
        }
        b.resize(out.data_start + off, 0);
        if (lay) *lay = out;
        return b;
    }
};

// The GGUF of a model: metadata as llama.cpp writes it, matrices in dtype t (norms F32), Q/K permuted.
inline gguf_builder make_gguf(const model_cfg& c, const model_weights& w, clasp::dtype t) {
    gguf_builder g;
    g.set_str("general.architecture", "llama");
    g.set_str("general.name", "fixture");
    g.set_u32("llama.block_count", c.n_layer);
    g.set_u32("llama.context_length", c.n_ctx);
    g.set_u32("llama.embedding_length", c.n_embd);
    g.set_u32("llama.feed_forward_length", c.n_ff);
    g.set_u32("llama.attention.head_count", c.n_head);
    g.set_u32("llama.attention.head_count_kv", c.n_head_kv);
    g.set_f32("llama.rope.freq_base", c.rope_theta);
    g.set_f32("llama.attention.layer_norm_rms_epsilon", c.rms_eps);
    if (c.head_dim > 0) {
        g.set_u32("llama.attention.key_length", c.head_dim);
        g.set_u32("llama.attention.value_length", c.head_dim);
    }
    g.set_u32("llama.vocab_size", c.n_vocab);
    g.set_str("tokenizer.ggml.model", "gpt2");
    std::vector<std::string> toks;
    std::vector<float> scores;
    for (int i = 0; i < c.n_vocab; i++) {
        toks.push_back("t" + std::to_string(i));
        scores.push_back((float)-i);
    }
    g.set_arr_str("tokenizer.ggml.tokens", toks);
    g.set_arr_f32("tokenizer.ggml.scores", scores);
    g.set_u32("tokenizer.ggml.bos_token_id", c.bos_id);
    g.set_u32("tokenizer.ggml.eos_token_id", c.eos_id);

    const uint64_t E = c.n_embd, Q = (uint64_t)c.n_head * c.hd(), KV = (uint64_t)c.n_head_kv * c.hd(), F = c.n_ff;
    const uint32_t gt = ggml_type_of(t);
    auto mat = [&](const std::string& name, const std::vector<float>& v, uint64_t n_out, uint64_t n_in) {
        g.add_tensor(name, {n_in, n_out}, gt, encode(v, (int64_t)n_in, t));
    };
    auto vec = [&](const std::string& name, const std::vector<float>& v) {
        g.add_tensor(name, {(uint64_t)v.size()}, GGML_F32, encode(v, (int64_t)v.size(), clasp::dtype::F32));
    };
    mat("token_embd.weight", w.tok_embd, c.n_vocab, E);
    vec("output_norm.weight", w.output_norm);
    if (!c.tied) mat("output.weight", w.output, c.n_vocab, E);
    if (c.rope_factor > 0) vec("rope_freqs.weight", llama3_rope_factors(c));
    for (int il = 0; il < c.n_layer; il++) {
        const auto& lw = w.layers[il];
        std::string p = "blk." + std::to_string(il) + ".";
        vec(p + "attn_norm.weight", lw.attn_norm);
        mat(p + "attn_q.weight", permute_rope_rows(lw.wq, c.n_head, c.hd(), E), Q, E);
        mat(p + "attn_k.weight", permute_rope_rows(lw.wk, c.n_head_kv, c.hd(), E), KV, E);
        mat(p + "attn_v.weight", lw.wv, KV, E);
        mat(p + "attn_output.weight", lw.wo, E, Q);
        vec(p + "ffn_norm.weight", lw.ffn_norm);
        mat(p + "ffn_gate.weight", lw.w_gate, F, E);
        mat(p + "ffn_up.weight", lw.w_up, F, E);
        mat(p + "ffn_down.weight", lw.w_down, E, F);
    }
    return g;
}

inline void write_file(const std::string& path, const void* data, size_t n) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write((const char*)data, (std::streamsize)n);
    if (!out) throw std::runtime_error("fixture: cannot write " + path);
}
inline void write_file(const std::string& path, const std::vector<uint8_t>& b) { write_file(path, b.data(), b.size()); }
inline void write_file(const std::string& path, const std::string& s) { write_file(path, s.data(), s.size()); }

inline std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("fixture: cannot read " + path);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_gguf(const std::string& path, const model_cfg& c, const model_weights& w, clasp::dtype t) {
    write_file(path, make_gguf(c, w, t).build());
}

// ---------------------------------------------------------------- safetensors / Hugging Face

inline const char* st_dtype_name(clasp::dtype t) {
    switch (t) {
        case clasp::dtype::F32: return "F32";
        case clasp::dtype::F16: return "F16";
        case clasp::dtype::BF16: return "BF16";
        default: break;
    }
    throw std::runtime_error("fixture: safetensors has no quantized types");
}

// Builds one .safetensors file in memory. Tensors are laid out in insertion order; the header is
// padded with spaces to a multiple of 8, as the Python writer does.
struct st_builder {
    struct entry {
        std::string name, dtype;
        std::vector<uint64_t> shape;
        std::vector<uint8_t> data;
    };
    std::vector<entry> entries;

    void add(const std::string& name, const std::string& dtype, std::vector<uint64_t> shape, std::vector<uint8_t> data) {
        entries.push_back({name, dtype, std::move(shape), std::move(data)});
    }
    std::string header() const {
        std::ostringstream h;
        h << "{\"__metadata__\":{\"format\":\"pt\"}";
        uint64_t off = 0;
        for (const auto& e : entries) {
            h << ",\"" << e.name << "\":{\"dtype\":\"" << e.dtype << "\",\"shape\":[";
            for (size_t i = 0; i < e.shape.size(); i++) h << (i ? "," : "") << e.shape[i];
            h << "],\"data_offsets\":[" << off << "," << off + e.data.size() << "]}";
            off += e.data.size();
        }
        h << "}";
        std::string s = h.str();
        while (s.size() % 8) s += ' ';
        return s;
    }
    std::vector<uint8_t> build() const { return build_with_header(header()); }
    std::vector<uint8_t> build_with_header(const std::string& hdr) const {
        std::vector<uint8_t> b;
        put<uint64_t>(b, hdr.size());
        b.insert(b.end(), hdr.begin(), hdr.end());
        for (const auto& e : entries) b.insert(b.end(), e.data.begin(), e.data.end());
        return b;
    }
};

inline std::string hf_config_json(const model_cfg& c, const std::string& model_type = "llama") {
    std::ostringstream j;
    j.precision(9);
    j << "{\n  \"architectures\": [\"LlamaForCausalLM\"],\n  \"model_type\": \"" << model_type << "\",\n"
      << "  \"hidden_size\": " << c.n_embd << ",\n  \"intermediate_size\": " << c.n_ff << ",\n"
      << "  \"num_hidden_layers\": " << c.n_layer << ",\n  \"num_attention_heads\": " << c.n_head << ",\n"
      << "  \"num_key_value_heads\": " << c.n_head_kv << ",\n";
    if (c.head_dim > 0) j << "  \"head_dim\": " << c.head_dim << ",\n";
    j << "  \"max_position_embeddings\": " << c.n_ctx << ",\n  \"rms_norm_eps\": " << c.rms_eps << ",\n"
      << "  \"rope_theta\": " << c.rope_theta << ",\n";
    if (c.rope_factor > 0)
        j << "  \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": " << c.rope_factor
          << ", \"low_freq_factor\": " << c.rope_low_freq << ", \"high_freq_factor\": " << c.rope_high_freq
          << ", \"original_max_position_embeddings\": " << c.rope_orig_ctx << "},\n";
    else
        j << "  \"rope_scaling\": null,\n";
    j << "  \"attention_bias\": false,\n  \"mlp_bias\": false,\n"
      << "  \"tie_word_embeddings\": " << (c.tied ? "true" : "false") << ",\n"
      << "  \"vocab_size\": " << c.n_vocab << ",\n  \"bos_token_id\": " << c.bos_id << ",\n"
      << "  \"eos_token_id\": " << c.eos_id << ",\n  \"torch_dtype\": \"float32\"\n}\n";
    return j.str();
}

// The HF tensors of a model, in dtype t (F32, F16 or BF16), in the order transformers saves them.
inline std::vector<st_builder::entry> hf_tensors(const model_cfg& c, const model_weights& w, clasp::dtype t) {
    std::vector<st_builder::entry> v;
    const uint64_t E = c.n_embd, Q = (uint64_t)c.n_head * c.hd(), KV = (uint64_t)c.n_head_kv * c.hd(), F = c.n_ff;
    const std::string dn = st_dtype_name(t);
    auto mat = [&](const std::string& name, const std::vector<float>& x, uint64_t n_out, uint64_t n_in) {
        v.push_back({name, dn, {n_out, n_in}, encode(x, (int64_t)n_in, t)});
    };
    auto vec = [&](const std::string& name, const std::vector<float>& x) {
        v.push_back({name, dn, {(uint64_t)x.size()}, encode(x, (int64_t)x.size(), t)});
    };
    mat("model.embed_tokens.weight", w.tok_embd, c.n_vocab, E);
    for (int il = 0; il < c.n_layer; il++) {
        const auto& lw = w.layers[il];
        std::string p = "model.layers." + std::to_string(il) + ".";
        vec(p + "input_layernorm.weight", lw.attn_norm);
        mat(p + "self_attn.q_proj.weight", lw.wq, Q, E);
        mat(p + "self_attn.k_proj.weight", lw.wk, KV, E);
        mat(p + "self_attn.v_proj.weight", lw.wv, KV, E);
        mat(p + "self_attn.o_proj.weight", lw.wo, E, Q);
        vec(p + "post_attention_layernorm.weight", lw.ffn_norm);
        mat(p + "mlp.gate_proj.weight", lw.w_gate, F, E);
        mat(p + "mlp.up_proj.weight", lw.w_up, F, E);
        mat(p + "mlp.down_proj.weight", lw.w_down, E, F);
    }
    vec("model.norm.weight", w.output_norm);
    if (!c.tied) mat("lm_head.weight", w.output, c.n_vocab, E);
    return v;
}

// Writes dir/config.json and the weights: model.safetensors, or (shards == 2) two shard files plus
// model.safetensors.index.json.
inline void write_hf_dir(const std::string& dir, const model_cfg& c, const model_weights& w, clasp::dtype t,
                         int shards = 1) {
    std::filesystem::create_directories(dir);
    write_file(dir + "/config.json", hf_config_json(c));
    auto all = hf_tensors(c, w, t);
    if (shards <= 1) {
        st_builder b;
        b.entries = all;
        write_file(dir + "/model.safetensors", b.build());
        return;
    }
    const std::string names[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    st_builder parts[2];
    std::ostringstream idx;
    idx << "{\n  \"metadata\": {\"total_size\": 0},\n  \"weight_map\": {";
    for (size_t i = 0; i < all.size(); i++) {
        int s = i < all.size() / 2 ? 0 : 1;
        parts[s].entries.push_back(all[i]);
        idx << (i ? "," : "") << "\n    \"" << all[i].name << "\": \"" << names[s] << "\"";
    }
    idx << "\n  }\n}\n";
    for (int s = 0; s < 2; s++) write_file(dir + "/" + names[s], parts[s].build());
    write_file(dir + "/model.safetensors.index.json", idx.str());
}

// ---------------------------------------------------------------- temp dirs

// A fresh directory under /tmp, removed with everything in it when the object goes away.
struct temp_dir {
    std::string path;
    temp_dir() {
        char tmpl[] = "/tmp/clasp-native-test-XXXXXX";
        const char* p = mkdtemp(tmpl);
        if (!p) throw std::runtime_error("fixture: mkdtemp failed");
        path = p;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    std::string operator/(const std::string& name) const { return path + "/" + name; }
};

}  // namespace fx
