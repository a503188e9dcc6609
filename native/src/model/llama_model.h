// A Llama 3 / 3.1 / 3.2 model: its configuration and views of its weights inside the mapped files.
// Matrices are used in place from the memory map (a backend may keep its own copy: cpu_backend::prepare);
// only the small norm vectors are converted to f32.
#pragma once
#include "../core/dtype.h"
#include "../core/mapped_file.h"
#include "gguf.h"
#include <memory>
#include <string>
#include <vector>

namespace clasp {

// A weight matrix W of shape (n_out, n_in), row-major: row r holds the n_in inputs of output r.
struct weight {
    std::string name;
    dtype type = dtype::F32;
    const void* data = nullptr;
    int64_t n_in = 0, n_out = 0;
    const uint8_t* row(int64_t r) const { return (const uint8_t*)data + (uint64_t)r * row_bytes(type, n_in); }
    uint64_t nbytes() const { return row_bytes(type, n_in) * (uint64_t)n_out; }
};

struct llama_config {
    int n_vocab = 0;
    int n_embd = 0;
    int n_layer = 0;
    int n_head = 0;
    int n_head_kv = 0;
    int head_dim = 0;
    int n_ff = 0;
    int n_ctx_train = 0;
    float rms_eps = 1e-5f;
    float rope_theta = 10000.f;
    // llama3 rope scaling (3.1+); factor 0 means none.
    float rope_factor = 0, rope_low_freq = 1, rope_high_freq = 4;
    int rope_orig_ctx = 8192;
    bool rope_interleaved = false;  // GGUF: Q/K rows permuted, rotate pairs (2i, 2i+1); HF: rotate-half
    bool tied_embeddings = false;
    int bos_id = -1;
    std::vector<int> eos_ids;
};

struct llama_layer {
    std::vector<float> attn_norm;  // (n_embd)
    weight wq;                     // (n_head*head_dim, n_embd)
    weight wk, wv;                 // (n_head_kv*head_dim, n_embd)
    weight wo;                     // (n_embd, n_head*head_dim)
    std::vector<float> ffn_norm;   // (n_embd)
    weight w_gate, w_up;           // (n_ff, n_embd)
    weight w_down;                 // (n_embd, n_ff)
};

struct llama_model {
    std::string path, name, format;  // format: "gguf" or "safetensors"
    llama_config cfg;
    weight tok_embd;                  // (n_vocab, n_embd)
    weight output;                    // (n_vocab, n_embd); the same data as tok_embd when tied
    std::vector<float> output_norm;   // (n_embd)
    std::vector<llama_layer> layers;  // (n_layer)
    std::vector<float> rope_inv_freq; // (head_dim/2), scaling already applied
    std::vector<std::shared_ptr<mapped_file>> files;
    std::shared_ptr<gguf_file> gguf;  // metadata (tokenizer, chat template) when loaded from GGUF
    std::string hf_dir;               // the directory when loaded from safetensors

    uint64_t weight_bytes() const;
    uint64_t resident_bytes() const;
};

// Loads a GGUF file, a .safetensors file inside an HF directory, or an HF directory.
// Every problem is an engine_error naming the file and what is wrong.
std::shared_ptr<llama_model> llama_load(const std::string& path);

// The rope inverse frequencies for a config (with llama3 scaling), in float32 as transformers does.
std::vector<float> rope_inv_freq(const llama_config& c);

}  // namespace clasp
