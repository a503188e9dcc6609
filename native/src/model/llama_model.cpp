#include "llama_model.h"
#include "../core/error.h"
#include "../core/json.h"
#include "safetensors.h"
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace clasp {
namespace {

std::vector<float> to_f32(dtype t, const void* data, int64_t n) {
    std::vector<float> out((size_t)n);
    dequantize_row(t, data, out.data(), n);
    return out;
}

void check_config(const llama_config& c, const std::string& path) {
    auto bad = [&](const std::string& why) { fail(path + ": invalid model config: " + why); };
    if (c.n_layer <= 0 || c.n_layer > 1024) bad("layer count " + std::to_string(c.n_layer));
    if (c.n_embd <= 0 || c.n_embd > 65536) bad("hidden size " + std::to_string(c.n_embd));
    if (c.n_head <= 0 || c.n_head_kv <= 0 || c.n_head % c.n_head_kv != 0)
        bad("head counts " + std::to_string(c.n_head) + "/" + std::to_string(c.n_head_kv) +
            " (the attention heads must be a multiple of the KV heads)");
    if (c.head_dim <= 0 || c.head_dim % 2 != 0 || c.head_dim > 1024) bad("head_dim " + std::to_string(c.head_dim));
    if (c.n_ff <= 0) bad("intermediate size " + std::to_string(c.n_ff));
    if (c.n_vocab <= 0) bad("vocabulary size " + std::to_string(c.n_vocab));
    if (!(c.rope_theta > 0)) bad("rope_theta must be positive");
    if (!(c.rms_eps > 0)) bad("rms_norm_eps must be positive");
    if (c.rope_factor < 0 || (c.rope_factor > 0 && c.rope_low_freq >= c.rope_high_freq))
        bad("llama3 rope scaling parameters");
}

// Checks a weight against the shape the config implies ("shapes that contradict the config").
void check_weight(const weight& w, int64_t n_out, int64_t n_in, const std::string& path) {
    if (w.n_out != n_out || w.n_in != n_in)
        fail(path + ": tensor " + w.name + " has shape (" + std::to_string(w.n_out) + ", " + std::to_string(w.n_in) +
             ") but the config implies (" + std::to_string(n_out) + ", " + std::to_string(n_in) + ")");
}

void check_all(llama_model& m) {
    const auto& c = m.cfg;
    int64_t q = (int64_t)c.n_head * c.head_dim, kv = (int64_t)c.n_head_kv * c.head_dim;
    check_weight(m.tok_embd, c.n_vocab, c.n_embd, m.path);
    check_weight(m.output, c.n_vocab, c.n_embd, m.path);
    if ((int)m.output_norm.size() != c.n_embd) fail(m.path + ": output norm has the wrong length");
    for (auto& lw : m.layers) {
        check_weight(lw.wq, q, c.n_embd, m.path);
        check_weight(lw.wk, kv, c.n_embd, m.path);
        check_weight(lw.wv, kv, c.n_embd, m.path);
        check_weight(lw.wo, c.n_embd, q, m.path);
        check_weight(lw.w_gate, c.n_ff, c.n_embd, m.path);
        check_weight(lw.w_up, c.n_ff, c.n_embd, m.path);
        check_weight(lw.w_down, c.n_embd, c.n_ff, m.path);
        if ((int)lw.attn_norm.size() != c.n_embd || (int)lw.ffn_norm.size() != c.n_embd)
            fail(m.path + ": a layer norm weight has the wrong length (expected " + std::to_string(c.n_embd) + ")");
    }
    for (const auto& w : {m.tok_embd, m.output})
        if (w.n_in % block_elems(w.type))
            fail(m.path + ": " + w.name + " rows are not a multiple of the " + dtype_name(w.type) + " block size");
}

// ---------------------------------------------------------------- GGUF

// A layer's tensor names after its prefix ("blk.3." in GGUF, "model.layers.3." in HF), in
// llama_layer's order: attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down.
using layer_names = const char* [9];
const layer_names GGUF_LAYER_NAMES = {"attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight",
                                      "ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"};
const layer_names HF_LAYER_NAMES = {"input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                                    "self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
                                    "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"};

// Reads every layer's tensors through the format's own readers (wt: a matrix, vec: a norm vector).
template <class Wt, class Vec>
void read_layers(llama_model& m, int n_layer, const std::string& prefix, const layer_names& n, Wt& wt, Vec& vec) {
    for (int il = 0; il < n_layer; il++) {
        const std::string p = prefix + std::to_string(il) + ".";
        llama_layer lw;
        lw.attn_norm = vec(p + n[0]);
        lw.wq = wt(p + n[1]);
        lw.wk = wt(p + n[2]);
        lw.wv = wt(p + n[3]);
        lw.wo = wt(p + n[4]);
        lw.ffn_norm = vec(p + n[5]);
        lw.w_gate = wt(p + n[6]);
        lw.w_up = wt(p + n[7]);
        lw.w_down = wt(p + n[8]);
        m.layers.push_back(std::move(lw));
    }
}

void load_gguf(llama_model& m, std::shared_ptr<mapped_file> f) {
    m.format = "gguf";
    m.gguf = std::make_shared<gguf_file>(gguf_open(f));
    const gguf_file& g = *m.gguf;
    auto* arch = g.find("general.architecture");
    if (!arch || arch->kind != gguf_value::STRING) fail(f->path + ": missing general.architecture");
    if (arch->s != "llama")
        fail(f->path + ": architecture '" + arch->s + "' is not supported (supported: llama, i.e. Llama 3 / 3.1 / 3.2)");
    auto num = [&](const std::string& key, bool required, double def = 0) -> double {
        auto* v = g.find(key);
        if (!v) {
            if (required) fail(f->path + ": missing metadata key " + key);
            return def;
        }
        if (v->kind == gguf_value::STRING || v->kind == gguf_value::ARRAY)
            fail(f->path + ": metadata key " + key + " is not a number");
        double d = v->kind == gguf_value::FLOAT ? v->f : (double)v->i;
        // Most callers cast to int; outside int's range that cast would be undefined.
        if (!(std::fabs(d) <= 2147483647.0)) fail(f->path + ": metadata key " + key + " is out of range");
        return d;
    };
    if (auto* n = g.find("general.name"); n && n->kind == gguf_value::STRING) m.name = n->s;
    llama_config& c = m.cfg;
    c.n_layer = (int)num("llama.block_count", true);
    c.n_embd = (int)num("llama.embedding_length", true);
    c.n_ff = (int)num("llama.feed_forward_length", true);
    c.n_head = (int)num("llama.attention.head_count", true);
    c.n_head_kv = (int)num("llama.attention.head_count_kv", false, c.n_head);
    c.n_ctx_train = (int)num("llama.context_length", false, 8192);
    c.rms_eps = (float)num("llama.attention.layer_norm_rms_epsilon", false, 1e-5);
    c.rope_theta = (float)num("llama.rope.freq_base", false, 10000);
    c.head_dim = (int)num("llama.attention.key_length", false, c.n_head > 0 ? c.n_embd / c.n_head : 0);
    c.rope_interleaved = true;
    c.bos_id = (int)num("tokenizer.ggml.bos_token_id", false, -1);
    for (const char* k : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"}) {
        int id = (int)num(k, false, -1);
        if (id >= 0 && std::find(c.eos_ids.begin(), c.eos_ids.end(), id) == c.eos_ids.end()) c.eos_ids.push_back(id);
    }
    std::string tmpl;
    if (auto* t = g.find("tokenizer.chat_template"); t && t->kind == gguf_value::STRING) tmpl = t->s;
    if (auto* toks = g.find("tokenizer.ggml.tokens"); toks && toks->kind == gguf_value::ARRAY) {
        for (size_t i = 0; i < toks->strs.size(); i++) {
            const std::string& s = toks->strs[i];
            // <|eom_id|> ends a turn only in templates that use it (Llama 3.1 tool calls).
            bool eom = s == "<|eom_id|>" && tmpl.find("<|eom_id|>") != std::string::npos;
            if ((s == "<|eot_id|>" || s == "<|end_of_text|>" || eom) &&
                std::find(c.eos_ids.begin(), c.eos_ids.end(), (int)i) == c.eos_ids.end())
                c.eos_ids.push_back((int)i);
        }
    }
    if (c.n_head <= 0) fail(f->path + ": invalid head count");

    auto wt = [&](const std::string& name, bool required = true) -> weight {
        const gguf_tensor* t = g.tensor(name);
        weight w;
        w.name = name;
        if (!t) {
            if (required) fail(f->path + ": missing tensor " + name);
            return w;
        }
        if (t->ne.size() > 2) fail(f->path + ": tensor " + name + " should be 2-D");
        w.type = t->type;
        w.data = t->data;
        w.n_in = (int64_t)t->ne[0];
        w.n_out = t->ne.size() > 1 ? (int64_t)t->ne[1] : 1;
        return w;
    };
    auto vec = [&](const std::string& name) {
        weight w = wt(name);
        if (w.n_out != 1) fail(f->path + ": tensor " + name + " should be 1-D");
        return to_f32(w.type, w.data, w.n_in);
    };
    m.tok_embd = wt("token_embd.weight");
    c.n_vocab = (int)m.tok_embd.n_out;
    check_config(c, f->path);
    m.output = wt("output.weight", false);
    if (!m.output.data) { m.output = m.tok_embd; c.tied_embeddings = true; }
    m.output_norm = vec("output_norm.weight");
    read_layers(m, c.n_layer, "blk.", GGUF_LAYER_NAMES, wt, vec);
    if (!m.layers.empty()) c.n_ff = (int)m.layers[0].w_gate.n_out;
    check_all(m);
    m.rope_inv_freq = rope_inv_freq(c);
    // llama.cpp stores Llama 3.1 rope scaling as per-frequency divisors in rope_freqs.weight.
    if (const gguf_tensor* rf = g.tensor("rope_freqs.weight")) {
        if (rf->ne[0] != (uint64_t)c.head_dim / 2) fail(f->path + ": rope_freqs.weight has the wrong length");
        std::vector<float> fac = to_f32(rf->type, rf->data, c.head_dim / 2);
        for (int i = 0; i < c.head_dim / 2; i++) {
            if (!(fac[i] > 0)) fail(f->path + ": rope_freqs.weight holds a non-positive factor");
            m.rope_inv_freq[i] /= fac[i];
        }
    }
}

// ---------------------------------------------------------------- Hugging Face

json read_json_file(const std::string& path, bool required) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (required) fail(path + ": cannot open");
        return json{};
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    if (s.size() > 64 * 1024 * 1024) fail(path + ": file is too large for a config");
    return json_parse(s.data(), s.size(), path);
}

void load_hf(llama_model& m, const std::string& dir) {
    m.format = "safetensors";
    m.hf_dir = dir;
    std::string cpath = dir + "/config.json";
    json cfg = read_json_file(cpath, true);
    if (!cfg.is_obj()) fail(cpath + ": not a JSON object");
    auto num = [&](const json& o, const char* key, bool required, double def) -> double {
        const json* v = o.get(key);
        if (!v || v->kind == json::NUL) {
            if (required) fail(cpath + ": missing \"" + key + "\"");
            return def;
        }
        if (!v->is_num()) fail(cpath + ": \"" + key + "\" is not a number");
        // Most callers cast to int; outside int's range that cast would be undefined.
        if (!(std::fabs(v->num) <= 2147483647.0)) fail(cpath + ": \"" + key + "\" is out of range");
        return v->num;
    };
    const json* mt = cfg.get("model_type");
    std::string type = mt && mt->is_str() ? mt->str : "";
    if (type != "llama") fail(cpath + ": model_type '" + type + "' is not supported (supported: llama, i.e. Llama 3 / 3.1 / 3.2)");
    llama_config& c = m.cfg;
    c.n_layer = (int)num(cfg, "num_hidden_layers", true, 0);
    c.n_embd = (int)num(cfg, "hidden_size", true, 0);
    c.n_ff = (int)num(cfg, "intermediate_size", true, 0);
    c.n_head = (int)num(cfg, "num_attention_heads", true, 0);
    c.n_head_kv = (int)num(cfg, "num_key_value_heads", false, c.n_head);
    c.n_vocab = (int)num(cfg, "vocab_size", true, 0);
    c.n_ctx_train = (int)num(cfg, "max_position_embeddings", false, 8192);
    c.rms_eps = (float)num(cfg, "rms_norm_eps", false, 1e-5);
    c.rope_theta = (float)num(cfg, "rope_theta", false, 10000);
    if (c.n_head <= 0) fail(cpath + ": invalid num_attention_heads");
    c.head_dim = (int)num(cfg, "head_dim", false, c.n_embd / c.n_head);
    const json* tie = cfg.get("tie_word_embeddings");
    c.tied_embeddings = tie && tie->kind == json::BOOL && tie->b;
    if (const json* a = cfg.get("attention_bias"); a && a->kind == json::BOOL && a->b)
        fail(cpath + ": attention_bias is not supported for llama models");
    if (const json* a = cfg.get("mlp_bias"); a && a->kind == json::BOOL && a->b)
        fail(cpath + ": mlp_bias is not supported for llama models");
    // transformers 5 writes rope_parameters; older configs write rope_scaling and rope_theta.
    const json* rs = cfg.get("rope_scaling");
    if (!rs || !rs->is_obj()) rs = cfg.get("rope_parameters");
    if (rs && rs->is_obj()) {
        const json* rt = rs->get("rope_type");
        if (!rt) rt = rs->get("type");
        std::string kind = rt && rt->is_str() ? rt->str : "default";
        if (const json* th = rs->get("rope_theta"); th && th->is_num()) c.rope_theta = (float)th->num;
        if (kind == "llama3") {
            c.rope_factor = (float)num(*rs, "factor", true, 0);
            c.rope_low_freq = (float)num(*rs, "low_freq_factor", false, 1);
            c.rope_high_freq = (float)num(*rs, "high_freq_factor", false, 4);
            c.rope_orig_ctx = (int)num(*rs, "original_max_position_embeddings", false, 8192);
        } else if (kind != "default") {
            fail(cpath + ": rope scaling type '" + kind + "' is not supported (supported: default, llama3)");
        }
    }
    c.bos_id = (int)num(cfg, "bos_token_id", false, -1);
    auto add_eos = [&](const json* e) {
        if (!e) return;
        if (e->is_num()) c.eos_ids.push_back((int)e->num);
        if (e->is_arr())
            for (const auto& x : e->arr)
                if (x.is_num()) c.eos_ids.push_back((int)x.num);
    };
    json gen = read_json_file(dir + "/generation_config.json", false);
    add_eos(gen.get("eos_token_id"));
    if (c.eos_ids.empty()) add_eos(cfg.get("eos_token_id"));
    check_config(c, cpath);

    st_set st = safetensors_open_dir(dir);
    m.files = st.files;
    auto wt = [&](const std::string& name, bool required = true) -> weight {
        const st_tensor* t = st.find(name);
        weight w;
        w.name = name;
        if (!t) {
            if (required) fail(dir + ": missing tensor " + name);
            return w;
        }
        if (t->shape.size() != 2) fail(t->file + ": tensor " + name + " should be 2-D");
        w.type = t->type;
        w.data = t->data;
        w.n_out = (int64_t)t->shape[0];
        w.n_in = (int64_t)t->shape[1];
        return w;
    };
    auto vec = [&](const std::string& name) {
        const st_tensor* t = st.find(name);
        if (!t) fail(dir + ": missing tensor " + name);
        if (t->shape.size() != 1 || (int)t->shape[0] != c.n_embd)
            fail(t->file + ": tensor " + name + " should have shape (" + std::to_string(c.n_embd) + ")");
        return to_f32(t->type, t->data, (int64_t)t->shape[0]);
    };
    m.tok_embd = wt("model.embed_tokens.weight");
    m.output = wt("lm_head.weight", !c.tied_embeddings);
    if (!m.output.data) { m.output = m.tok_embd; c.tied_embeddings = true; }
    m.output_norm = vec("model.norm.weight");
    read_layers(m, c.n_layer, "model.layers.", HF_LAYER_NAMES, wt, vec);
    check_all(m);
    m.rope_inv_freq = rope_inv_freq(c);
}

bool is_dir(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::vector<float> rope_inv_freq(const llama_config& c) {
    int half = c.head_dim / 2;
    std::vector<float> f(half);
    for (int i = 0; i < half; i++) {
        // transformers: 1 / base ** (arange(0, dim, 2).float() / dim), in float32
        float e = (float)(2 * i) / (float)c.head_dim;
        f[i] = (float)(1.0 / std::pow((double)c.rope_theta, (double)e));
    }
    if (c.rope_factor > 0) {
        const double pi = 3.14159265358979323846;
        double low_wl = c.rope_orig_ctx / c.rope_low_freq, high_wl = c.rope_orig_ctx / c.rope_high_freq;
        for (int i = 0; i < half; i++) {
            double fr = f[i], wl = 2 * pi / fr;
            if (wl < high_wl) continue;
            if (wl > low_wl) { f[i] = (float)(fr / c.rope_factor); continue; }
            double smooth = (c.rope_orig_ctx / wl - c.rope_low_freq) / (c.rope_high_freq - c.rope_low_freq);
            f[i] = (float)((1 - smooth) * fr / c.rope_factor + smooth * fr);
        }
    }
    return f;
}

uint64_t llama_model::weight_bytes() const {
    uint64_t n = 0;
    for (const auto& f : files) n += f->size;
    return n;
}

uint64_t llama_model::resident_bytes() const {
    uint64_t n = 0;
    for (const auto& f : files) n += f->resident_bytes();
    return n;
}

std::shared_ptr<llama_model> llama_load(const std::string& path) {
    auto m = std::make_shared<llama_model>();
    m->path = path;
    struct stat st;
    if (path.empty() || stat(path.c_str(), &st) != 0) fail(path + ": no such file or directory");
    std::string dir;
    if (is_dir(path)) {
        dir = path;
    } else {
        auto f = std::make_shared<mapped_file>(path);
        if (is_gguf(*f)) {
            m->files.push_back(f);
            load_gguf(*m, f);
        } else if (is_safetensors(*f)) {
            auto slash = path.find_last_of('/');
            dir = slash == std::string::npos ? "." : path.substr(0, slash);
        } else {
            fail(path + ": not a GGUF or safetensors model (expected a .gguf file or a Hugging Face directory)");
        }
    }
    if (!dir.empty()) load_hf(*m, dir);
    if (m->name.empty()) {
        std::string p = path;
        while (p.size() > 1 && p.back() == '/') p.pop_back();
        auto slash = p.find_last_of('/');
        m->name = slash == std::string::npos ? p : p.substr(slash + 1);
    }
    return m;
}

}  // namespace clasp
