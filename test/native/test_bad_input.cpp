// Bad model files and bad requests give one-line engine_errors that name the file and the problem,
// never a crash, a hang or a huge allocation; plus a bounded, seeded fuzz of the GGUF and
// safetensors parsers.
#include "core/error.h"
#include "fixture.h"
#include "model/gguf.h"
#include "runtime/engine.h"
#include "util.h"
#include <filesystem>
#include <functional>

using namespace clasp;

namespace {

// A small fixture model, shared by the tests below.
fx::model_cfg small_cfg() {
    fx::model_cfg c;
    c.n_vocab = 32;
    c.n_embd = 32;
    c.n_layer = 1;
    c.n_head = 2;
    c.n_head_kv = 1;
    c.n_ff = 64;
    c.n_ctx = 64;
    return c;
}

template <typename T>
void poke(std::vector<uint8_t>& b, size_t at, T v) {
    std::memcpy(b.data() + at, &v, sizeof(T));
}

// The message of the engine_error that load throws ("" if none); other exceptions propagate.
std::string load_error(const std::string& path) {
    try {
        llama_load(path);
    } catch (const engine_error& e) {
        return e.what();
    }
    return "";
}

bool one_line(const std::string& s) { return s.find('\n') == std::string::npos; }

// Whether an error names the file (or, for a model directory's file, the directory).
bool names_file(const std::string& err, const std::string& file) {
    return err.find(file) != std::string::npos ||
           err.find(std::filesystem::path(file).parent_path().string() + "/") != std::string::npos;
}

// Expects loading `file_` to fail with a one-line message naming the file and containing each needle.
#define CHECK_LOAD_FAILS(file_, ...)                                                                 \
    do {                                                                                             \
        std::string p_ = (file_), e_ = load_error(p_);                                               \
        CHECK_MSG(!e_.empty(), "loading " << p_ << " should fail");                                  \
        CHECK_MSG(names_file(e_, p_), "error does not name the file: " << e_);                       \
        CHECK_MSG(one_line(e_), "error is not one line: " << e_);                                    \
        for (const std::string& n_ : std::initializer_list<std::string>{__VA_ARGS__})                \
            CHECK_MSG(e_.find(n_) != std::string::npos, "error '" << e_ << "' does not mention '" << n_ << "'"); \
    } while (0)

}  // namespace

TEST(bad_input_missing_and_non_model_files) {
    fx::temp_dir tmp;
    CHECK_LOAD_FAILS(tmp / "missing.gguf", "no such file");
    CHECK_THROWS(llama_load(""), "no such file");
    // A directory without config.json
    std::filesystem::create_directories(tmp / "empty-dir");
    CHECK_LOAD_FAILS(tmp / "empty-dir", "config.json");
    // A directory with config.json but no weights
    std::filesystem::create_directories(tmp / "no-weights");
    fx::write_file(tmp / "no-weights/config.json", fx::hf_config_json(small_cfg()));
    CHECK_LOAD_FAILS(tmp / "no-weights", "no *.safetensors");
    // A text file, an empty file, a file of zeros
    fx::write_file(tmp / "notes.txt", std::string("these are not the weights you are looking for\n"));
    CHECK_LOAD_FAILS(tmp / "notes.txt", "not a GGUF or safetensors model");
    fx::write_file(tmp / "empty.gguf", std::string());
    CHECK_LOAD_FAILS(tmp / "empty.gguf", "empty");
    fx::write_file(tmp / "zeros.bin", std::vector<uint8_t>(4096, 0));
    CHECK_LOAD_FAILS(tmp / "zeros.bin", "not a GGUF");
    // config.json that is not JSON
    std::filesystem::create_directories(tmp / "bad-config");
    fx::write_file(tmp / "bad-config/config.json", std::string("{\"model_type\": \"llama\", "));
    CHECK_LOAD_FAILS(tmp / "bad-config", "invalid JSON");
    // Unknown backends and models through the engine
    engine_options o;
    o.model_path = tmp / "missing.gguf";
    CHECK_THROWS(engine{o}, "missing.gguf");
}

// The demo Q8_0 file cut at several lengths: header, just before the data, in the middle of the data.
TEST(bad_input_truncated_gguf) {
    fx::temp_dir tmp;
    std::string src = th::demo_model();
    uint64_t data_start = UINT64_MAX, size = 0;
    {
        auto f = std::make_shared<mapped_file>(src);
        gguf_file g = gguf_open(f);
        size = f->size;
        for (const auto& t : g.tensors) data_start = std::min<uint64_t>(data_start, t.data - f->data);
    }
    CHECK(data_start > 1000 && data_start < size);
    const uint64_t cuts[] = {3, 20, data_start / 2, data_start - 1, data_start, data_start + (size - data_start) / 2};
    std::ifstream in(src, std::ios::binary);
    std::vector<char> head(cuts[5]);
    in.read(head.data(), (std::streamsize)head.size());
    CHECK(in.gcount() == (std::streamsize)head.size());
    for (uint64_t n : cuts) {
        std::string p = tmp / ("cut-" + std::to_string(n) + ".gguf");
        fx::write_file(p, head.data(), n);
        std::string e = load_error(p);
        CHECK_MSG(!e.empty() && e.find(p) != std::string::npos && one_line(e), "cut at " << n << ": " << e);
        if (n > 3)
            CHECK_MSG(e.find("truncated") != std::string::npos || e.find("corrupt") != std::string::npos,
                      "cut at " << n << ": " << e);
    }
}

TEST(bad_input_gguf_lying_fields) {
    fx::temp_dir tmp;
    auto c = small_cfg();
    auto g = fx::make_gguf(c, fx::random_weights(c, 1), dtype::F16);
    fx::gguf_builder::layout L;
    const auto good = g.build(&L);
    fx::write_file(tmp / "good.gguf", good);
    CHECK(load_error(tmp / "good.gguf").empty());
    int n = 0;
    auto variant = [&](auto edit) {
        auto b = good;
        edit(b);
        std::string p = tmp / ("bad-" + std::to_string(n++) + ".gguf");
        fx::write_file(p, b);
        return p;
    };
    auto key_index = [&](const std::string& key) {
        for (size_t i = 0; i < g.kvs.size(); i++)
            if (g.kvs[i].key == key) return i;
        return (size_t)0;
    };
    auto tensor_index = [&](const std::string& name) {
        for (size_t i = 0; i < g.tensors.size(); i++)
            if (g.tensors[i].name == name) return i;
        return (size_t)0;
    };
    // counts
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, 8, 1ull << 60); }), "corrupt", "tensors");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, 16, 1ull << 60); }), "corrupt", "metadata");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, 8, 1000); }), "tensor");  // reads junk as tensor infos
    // a key length and a string value length of 2^62
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, L.kv_key_len[0], 1ull << 62); }), "truncated");
    size_t arch = key_index("general.architecture");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, L.kv_value[arch], 1ull << 62); }), "truncated");
    // an array length of 2^61, and UINT64_MAX
    size_t toks = key_index("tokenizer.ggml.tokens");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, L.kv_value[toks] + 4, 1ull << 61); }), "array");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, L.kv_value[toks] + 4, UINT64_MAX); }), "array");
    size_t scores = key_index("tokenizer.ggml.scores");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, L.kv_value[scores] + 4, 1ull << 62); }), "array");
    // unknown value types
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint32_t>(b, L.kv_value[arch] - 4, 99); }), "general.architecture", "type");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint32_t>(b, L.kv_value[toks], 99); }), "tokenizer.ggml.tokens", "array");
    // tensors: offset past EOF, misaligned, dims overflowing, too many dims
    size_t q = tensor_index("blk.0.attn_q.weight");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, L.tensor_offset[q], 1ull << 20); }), "blk.0.attn_q.weight", "past the end");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, L.tensor_offset[q], UINT64_MAX - 31); }), "blk.0.attn_q.weight");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, L.tensor_offset[q], 4); }), "blk.0.attn_q.weight", "misaligned");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, L.tensor_ne[q], 1ull << 40); poke<uint64_t>(b, L.tensor_ne[q] + 8, 1ull << 40); }),
                     "blk.0.attn_q.weight", "shape");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, L.tensor_ne[q], 1ull << 63); }), "blk.0.attn_q.weight", "shape");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, L.tensor_ne[q], 0); }), "blk.0.attn_q.weight", "shape");
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint32_t>(b, L.tensor_ne[q] - 4, 5); }), "blk.0.attn_q.weight", "dimensions");
    // a plausible but wrong shape (within the file): the config check catches it
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint64_t>(b, L.tensor_ne[q] + 8, 16); }), "blk.0.attn_q.weight", "config implies");
    // version
    CHECK_LOAD_FAILS(variant([&](auto& b) { poke<uint32_t>(b, 4, 7); }), "version 7");
}

TEST(bad_input_gguf_unsupported_type_and_arch) {
    fx::temp_dir tmp;
    auto c = small_cfg();
    auto w = fx::random_weights(c, 2);
    {
        auto g = fx::make_gguf(c, w, dtype::F16);
        g.tensor("blk.0.attn_q.weight")->type = fx::GGML_Q4_K;
        fx::write_file(tmp / "q4k.gguf", g.build());
        CHECK_LOAD_FAILS(tmp / "q4k.gguf", "blk.0.attn_q.weight", "Q4_K", "supported: F32, F16, BF16, Q8_0");
        g.tensor("blk.0.attn_q.weight")->type = 1000;
        fx::write_file(tmp / "t1000.gguf", g.build());
        CHECK_LOAD_FAILS(tmp / "t1000.gguf", "blk.0.attn_q.weight", "supported: F32, F16, BF16, Q8_0");
    }
    for (const char* arch : {"gpt2", "mistral"}) {
        auto g = fx::make_gguf(c, w, dtype::F16);
        g.set_str("general.architecture", arch);
        std::string p = tmp / (std::string(arch) + ".gguf");
        fx::write_file(p, g.build());
        CHECK_LOAD_FAILS(p, std::string("'") + arch + "'", "not supported");
    }
    {
        // Strings from the file are quoted in messages with control bytes escaped: still one line.
        auto g = fx::make_gguf(c, w, dtype::F16);
        g.set_str("general.architecture", "lla\nma\x1b[2J");
        fx::write_file(tmp / "ctrl.gguf", g.build());
        CHECK_LOAD_FAILS(tmp / "ctrl.gguf", "'lla\\x0ama\\x1b[2J'");
    }
    {
        auto g = fx::make_gguf(c, w, dtype::F16);
        g.erase("general.architecture");
        fx::write_file(tmp / "noarch.gguf", g.build());
        CHECK_LOAD_FAILS(tmp / "noarch.gguf", "general.architecture");
        g = fx::make_gguf(c, w, dtype::F16);
        g.remove_tensor("blk.0.ffn_down.weight");
        fx::write_file(tmp / "notensor.gguf", g.build());
        CHECK_LOAD_FAILS(tmp / "notensor.gguf", "blk.0.ffn_down.weight");
        g = fx::make_gguf(c, w, dtype::F16);
        g.set_str("llama.block_count", "two");
        fx::write_file(tmp / "strcount.gguf", g.build());
        CHECK_LOAD_FAILS(tmp / "strcount.gguf", "llama.block_count");
    }
    // HF: model_type mistral / gpt2
    for (const char* arch : {"mistral", "gpt2"}) {
        std::string dir = tmp / (std::string("hf-") + arch);
        fx::write_hf_dir(dir, c, w, dtype::F32);
        fx::write_file(dir + "/config.json", fx::hf_config_json(c, arch));
        CHECK_LOAD_FAILS(dir, std::string("'") + arch + "'", "not supported");
    }
}

TEST(bad_input_safetensors) {
    fx::temp_dir tmp;
    auto c = small_cfg();
    auto w = fx::random_weights(c, 3);
    auto entries = fx::hf_tensors(c, w, dtype::F32);
    int n = 0;
    // Writes an HF dir whose model.safetensors is `bytes`; returns the safetensors path.
    auto dir_with = [&](const std::vector<uint8_t>& bytes) {
        std::string dir = tmp / ("st-" + std::to_string(n++));
        std::filesystem::create_directories(dir);
        fx::write_file(dir + "/config.json", fx::hf_config_json(c));
        fx::write_file(dir + "/model.safetensors", bytes);
        return dir + "/model.safetensors";
    };
    fx::st_builder sb;
    sb.entries = entries;
    const auto good = sb.build();
    const std::string hdr = sb.header();
    CHECK(load_error(std::filesystem::path(dir_with(good)).parent_path()).empty());
    auto parent = [](const std::string& p) { return std::filesystem::path(p).parent_path().string(); };

    // header length beyond the file (through the directory, and the file itself)
    {
        auto b = good;
        poke<uint64_t>(b, 0, b.size() + 100);
        std::string f = dir_with(b);
        std::string e = load_error(parent(f));
        CHECK_MSG(e.find(f) != std::string::npos && e.find("header claims") != std::string::npos, e);
        CHECK_LOAD_FAILS(f, "not a GGUF or safetensors");
        poke<uint64_t>(b, 0, UINT64_MAX);
        f = dir_with(b);
        e = load_error(parent(f));
        CHECK_MSG(e.find(f) != std::string::npos && e.find("corrupt") != std::string::npos, e);
    }
    // header not JSON / not an object / a tensor entry missing fields
    for (std::string bad : {std::string("{\"a\": [1, 2,, 3]}"), std::string("{\"x\":{\"dtype\":\"F32\"}}"),
                            std::string("[1, 2, 3]"), std::string("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}")}) {
        std::string f = dir_with(sb.build_with_header(bad));
        std::string e = load_error(parent(f));
        CHECK_MSG(!e.empty() && e.find(f) != std::string::npos && one_line(e), bad << ": " << e);
    }
    {
        std::string f = dir_with(sb.build_with_header("{\"a\": [1, 2,, 3]}   "));
        std::string e = load_error(parent(f));
        CHECK_MSG(e.find("invalid JSON") != std::string::npos, e);
    }
    // offsets inconsistent with the shape, offsets past the end, dtype I64
    {
        fx::st_builder s2 = sb;
        std::string h = s2.header();
        std::string name = "\"model.norm.weight\"";
        size_t at = h.find(name);
        size_t off = h.find("data_offsets\":[", at) + 15;
        size_t comma = h.find(',', off), close = h.find(']', comma);
        uint64_t b0 = std::stoull(h.substr(off, comma - off));
        std::string h_short = h.substr(0, comma + 1) + std::to_string(b0 + 8) + h.substr(close);
        std::string f = dir_with(s2.build_with_header(h_short));
        CHECK_LOAD_FAILS(parent(f), "model.norm.weight", "do not match its shape");
        auto trunc = good;
        trunc.resize(good.size() - 100);
        f = dir_with(trunc);
        std::string e = load_error(parent(f));
        CHECK_MSG(e.find(f) != std::string::npos && e.find("truncated") != std::string::npos && e.find("lm_head.weight") != std::string::npos, e);
    }
    {
        fx::st_builder s3 = sb;
        for (auto& e : s3.entries)
            if (e.name == "model.norm.weight") { e.dtype = "I64"; e.data.resize(c.n_embd * 8); }
        std::string f = dir_with(s3.build());
        CHECK_LOAD_FAILS(parent(f), "model.norm.weight", "I64", "supported: F32, F16, BF16");
    }
    // a header of odd length puts every F16 tensor at an odd byte: refused, not read misaligned
    {
        fx::st_builder s16;
        s16.entries = fx::hf_tensors(c, w, dtype::F16);
        std::string f = dir_with(s16.build_with_header(s16.header() + " "));
        CHECK_LOAD_FAILS(parent(f), "not aligned");
    }
    // a tensor in two shards
    {
        std::string dir = tmp / "dup";
        fx::write_hf_dir(dir, c, w, dtype::F32, 2);
        fx::st_builder extra;
        extra.entries = {entries[0]};
        fx::write_file(dir + "/model-00002-of-00002.safetensors", [&] {
            fx::st_builder s;
            for (size_t i = entries.size() / 2; i < entries.size(); i++) s.entries.push_back(entries[i]);
            s.entries.push_back(entries[0]);
            return s.build();
        }());
        CHECK_LOAD_FAILS(dir, "model.embed_tokens.weight", "more than one shard");
        fx::write_file(dir + "/model.safetensors.index.json", std::string("{\"weight_map\": {\"x\": \"../../etc/passwd\"}}"));
        CHECK_LOAD_FAILS(dir, "not a plain file name");
    }
}

TEST(bad_input_config_contradicts_tensors) {
    fx::temp_dir tmp;
    auto c = small_cfg();
    auto w = fx::random_weights(c, 4);
    fx::write_hf_dir(tmp / "hf", c, w, dtype::F32);
    for (auto edit : std::vector<std::function<void(fx::model_cfg&)>>{
             [](fx::model_cfg& x) { x.n_embd = 64; }, [](fx::model_cfg& x) { x.n_ff = 96; },
             [](fx::model_cfg& x) { x.n_head_kv = 2; }, [](fx::model_cfg& x) { x.n_vocab = 40; },
             [](fx::model_cfg& x) { x.n_layer = 2; }, [](fx::model_cfg& x) { x.head_dim = 8; }}) {
        auto bad = c;
        edit(bad);
        fx::write_file(tmp / "hf/config.json", fx::hf_config_json(bad));
        std::string e = load_error(tmp / "hf");
        CHECK_MSG(!e.empty() && e.find(tmp / "hf") != std::string::npos && one_line(e), e);
    }
    fx::write_file(tmp / "hf/config.json", fx::hf_config_json(c));
    CHECK(load_error(tmp / "hf").empty());
    // GGUF: metadata that disagrees with the tensors
    auto g = fx::make_gguf(c, w, dtype::F16);
    g.set_u32("llama.embedding_length", 64);
    fx::write_file(tmp / "embd.gguf", g.build());
    CHECK_LOAD_FAILS(tmp / "embd.gguf", "config implies");
    g = fx::make_gguf(c, w, dtype::F16);
    g.set_u32("llama.attention.head_count_kv", 2);
    fx::write_file(tmp / "kv.gguf", g.build());
    CHECK_LOAD_FAILS(tmp / "kv.gguf", "blk.0.attn_k.weight");
    g = fx::make_gguf(c, w, dtype::F16);
    g.set_u32("llama.attention.head_count_kv", 3);
    fx::write_file(tmp / "kv3.gguf", g.build());
    CHECK_LOAD_FAILS(tmp / "kv3.gguf", "head counts");
    g = fx::make_gguf(c, w, dtype::F16);
    g.set_u32("llama.attention.head_count", 0);
    fx::write_file(tmp / "h0.gguf", g.build());
    CHECK_LOAD_FAILS(tmp / "h0.gguf", "head");
    // counts stored as huge floats must not reach an int cast (undefined behaviour)
    g = fx::make_gguf(c, w, dtype::F16);
    g.set_f32("llama.block_count", 1e30f);
    fx::write_file(tmp / "f32count.gguf", g.build());
    CHECK_LOAD_FAILS(tmp / "f32count.gguf", "llama.block_count", "out of range");
    g = fx::make_gguf(c, w, dtype::F16);
    g.set_u32("tokenizer.ggml.eos_token_id", 0xffffffffu);
    fx::write_file(tmp / "eos.gguf", g.build());
    CHECK_LOAD_FAILS(tmp / "eos.gguf", "tokenizer.ggml.eos_token_id", "out of range");
    {
        std::string cfg = fx::hf_config_json(c);
        std::string key = "\"hidden_size\": " + std::to_string(c.n_embd);
        cfg.replace(cfg.find(key), key.size(), "\"hidden_size\": 1e30");
        fx::write_file(tmp / "hf/config.json", cfg);
        CHECK_LOAD_FAILS(tmp / "hf", "hidden_size", "out of range");
        fx::write_file(tmp / "hf/config.json", fx::hf_config_json(c));
    }
    g = fx::make_gguf(c, w, dtype::F16);
    g.set_f32("llama.attention.layer_norm_rms_epsilon", -1.f);
    fx::write_file(tmp / "eps.gguf", g.build());
    CHECK_LOAD_FAILS(tmp / "eps.gguf", "rms_norm_eps");
    g = fx::make_gguf(c, w, dtype::F16);
    g.add_tensor("rope_freqs.weight", {7}, fx::GGML_F32, std::vector<uint8_t>(28, 0));
    fx::write_file(tmp / "rf.gguf", g.build());
    CHECK_LOAD_FAILS(tmp / "rf.gguf", "rope_freqs.weight");
}

TEST(bad_input_requests) {
    fx::temp_dir tmp;
    auto c = small_cfg();
    fx::write_gguf(tmp / "m.gguf", c, fx::random_weights(c, 5), dtype::F16);
    engine_options o;
    o.model_path = tmp / "m.gguf";
    o.backend = "cpu";
    o.threads = 1;
    o.n_ctx = 16;
    engine eng(o);
    gen_params p;
    p.max_tokens = 2;
    std::vector<int> long_prompt(20, 3);
    CHECK_THROWS(eng.generate(long_prompt, p, {}), "more than the context of 16");
    CHECK_THROWS(eng.generate({1, 2, 9999}, p, {}), "token id 9999 is outside the vocabulary (0 to 31)");
    CHECK_THROWS(eng.generate({1, -1}, p, {}), "token id -1");
    CHECK_THROWS(eng.generate({}, p, {}), "empty");
    p.mode = "beam";
    CHECK_THROWS(eng.generate({1, 2}, p, {}), "unknown mode 'beam'");
    p.mode = "ar";
    // After the errors the engine still works, and a prompt that fills the context stops at its end.
    gen_result r = eng.generate({1, 2, 3}, p, {});
    CHECK(r.ids.size() == 2);
    p.max_tokens = 100;
    p.ignore_eos = true;
    r = eng.generate(std::vector<int>(14, 4), p, {});
    CHECK_MSG(r.finish_reason == "length" && (int)r.ids.size() <= 3, r.finish_reason << " " << r.ids.size());
    // Direct forward calls
    forward_out out;
    int32_t bad = 32;
    CHECK_THROWS(eng.tf->forward(&bad, 1, 0, nullptr, false, {0}, {}, out), "outside the vocabulary");
    int32_t ok = 1;
    CHECK_THROWS(eng.tf->forward(&ok, 1, 16, nullptr, false, {0}, {}, out), "exceed the context");
    CHECK_THROWS(eng.tf->forward(&ok, 1, 0, nullptr, false, {1}, {}, out), "logit row");
    o.backend = "tpu";
    CHECK_THROWS(engine{o}, "unknown backend 'tpu'");
    o.backend = "cpu";
    o.n_ctx = 4;
    CHECK_THROWS(engine{o}, "context size 4");
}

// ---------------------------------------------------------------- fuzz

namespace {

struct fuzz_stats {
    int loaded = 0, rejected = 0, ran = 0;
};

// Loads one mutated model; it must load or throw engine_error. A model that loads must survive a
// 2-token forward pass (or refuse it with engine_error).
void fuzz_one(const std::string& path, int iter, const char* what, fuzz_stats& st) {
    std::shared_ptr<llama_model> m;
    try {
        m = llama_load(path);
    } catch (const engine_error& e) {
        st.rejected++;
        std::string msg = e.what();
        CHECK_MSG(one_line(msg) && !msg.empty(), what << " iteration " << iter << ": bad message " << msg);
        return;
    } catch (const std::exception& e) {
        CHECK_MSG(false, what << " iteration " << iter << ": non-engine exception: " << e.what());
        return;
    }
    st.loaded++;
    try {
        static auto be = backend_create("cpu", 1);
        transformer tf(m, *be, 8);
        int32_t toks[2] = {0, m->cfg.n_vocab > 1 ? 1 : 0};
        forward_out out;
        tf.forward(toks, 2, 0, nullptr, true, {1}, {1}, out);
        CHECK(out.logits.size() == (size_t)m->cfg.n_vocab);
        st.ran++;
    } catch (const engine_error&) {
    } catch (const std::exception& e) {
        CHECK_MSG(false, what << " iteration " << iter << ": forward threw a non-engine exception: " << e.what());
    }
}

// CLASP_FUZZ_ITERS / CLASP_FUZZ_SEED run a longer or different campaign by hand; CI uses the defaults.
int fuzz_iters() {
    const char* s = std::getenv("CLASP_FUZZ_ITERS");
    return s ? std::atoi(s) : 2000;
}
uint64_t fuzz_seed(uint64_t def) {
    const char* s = std::getenv("CLASP_FUZZ_SEED");
    return s ? std::strtoull(s, nullptr, 10) + def : def;
}

const uint64_t huge_values[] = {UINT64_MAX, 1ull << 63, (1ull << 63) - 1, 1ull << 62, 1ull << 40, 1ull << 32,
                                0xffffffffull, 0x80000000ull, 0, 1};

}  // namespace

TEST(bad_input_fuzz_gguf) {
    fx::temp_dir tmp;
    auto c = small_cfg();
    c.tied = false;
    auto g = fx::make_gguf(c, fx::random_weights(c, 6), dtype::Q8_0);
    g.set_f32("llama.rope.freq_base", 500000.f);
    fx::gguf_builder::layout L;
    const auto base = g.build(&L);
    // The 8-byte fields worth lying in: counts, key/value lengths, dims, offsets.
    std::vector<size_t> fields = {8, 16};
    for (size_t p : L.kv_key_len) fields.push_back(p);
    for (size_t i = 0; i < g.kvs.size(); i++) {
        if (g.kvs[i].type == fx::GV_STRING) fields.push_back(L.kv_value[i]);
        if (g.kvs[i].type == fx::GV_ARRAY) fields.push_back(L.kv_value[i] + 4);
    }
    for (size_t i = 0; i < g.tensors.size(); i++) {
        fields.push_back(L.tensor_info[i]);
        for (size_t d = 0; d < g.tensors[i].ne.size(); d++) fields.push_back(L.tensor_ne[i] + 8 * d);
        fields.push_back(L.tensor_offset[i]);
    }
    std::mt19937_64 rng(fuzz_seed(20240601));
    const size_t header = std::min<size_t>(L.data_start, 2048);
    fuzz_stats st;
    const std::string path = tmp / "fuzz.gguf";
    for (int it = 0, n_it = fuzz_iters(); it < n_it; it++) {
        auto b = base;
        switch (it % 5) {
            case 0:  // flip 1..8 random bytes in the header region
            case 1:
                for (int k = 0, nk = 1 + rng() % 8; k < nk; k++) b[rng() % header] ^= (uint8_t)(1 + rng() % 255);
                break;
            case 2:  // truncate
                b.resize(rng() % b.size());
                break;
            case 3:  // a huge (or zero) value in a known 8-byte field, sometimes at a small shift
                poke<uint64_t>(b, fields[rng() % fields.size()] + (rng() % 4 == 0 ? rng() % 5 : 0),
                               huge_values[rng() % (sizeof(huge_values) / 8)]);
                break;
            case 4:  // a huge value anywhere in the header, plus a flipped byte anywhere in the file
                poke<uint64_t>(b, rng() % (header - 8), huge_values[rng() % (sizeof(huge_values) / 8)]);
                b[rng() % b.size()] ^= 0x80;
                break;
        }
        fx::write_file(path, b);
        fuzz_one(path, it, "gguf", st);
        if (th::current_failures > 5) break;
    }
    std::printf("    gguf fuzz: %d loaded (%d ran a forward pass), %d rejected\n", st.loaded, st.ran, st.rejected);
    CHECK(st.rejected > fuzz_iters() / 4 && st.loaded > fuzz_iters() / 200);
}

TEST(bad_input_fuzz_safetensors) {
    fx::temp_dir tmp;
    auto c = small_cfg();
    auto w = fx::random_weights(c, 7);
    fx::st_builder sb;
    sb.entries = fx::hf_tensors(c, w, dtype::F16);
    const auto base = sb.build();
    const std::string hdr = sb.header();
    const size_t header = 8 + hdr.size();
    const std::string dir = tmp / "hf";
    std::filesystem::create_directories(dir);
    fx::write_file(dir + "/config.json", fx::hf_config_json(c));
    const std::string path = dir + "/model.safetensors";
    const char* numbers[] = {"0", "1", "-1", "2", "1.5", "1e300", "-1e300", "18446744073709551615", "18446744073709551616",
                             "9007199254740993", "4294967296", "4294967328", "1099511627776", "99999999999999999999999"};
    std::mt19937_64 rng(fuzz_seed(20240602));
    fuzz_stats st;
    for (int it = 0, n_it = fuzz_iters(); it < n_it; it++) {
        std::vector<uint8_t> b;
        switch (it % 5) {
            case 0: {  // replace one number in the header (shape or offset) with an awkward one
                std::string h = hdr;
                std::vector<size_t> starts;
                for (size_t i = 0; i < h.size(); i++)
                    if (std::isdigit((unsigned char)h[i]) && (i == 0 || !std::isdigit((unsigned char)h[i - 1]))) starts.push_back(i);
                size_t s = starts[rng() % starts.size()], e = s;
                while (e < h.size() && std::isdigit((unsigned char)h[e])) e++;
                h = h.substr(0, s) + numbers[rng() % (sizeof(numbers) / sizeof(numbers[0]))] + h.substr(e);
                b = sb.build_with_header(h);
                break;
            }
            case 1:  // flip bytes in the header
                b = base;
                for (int k = 0, nk = 1 + rng() % 4; k < nk; k++) b[rng() % header] ^= (uint8_t)(1 + rng() % 255);
                break;
            case 2:  // truncate
                b = base;
                b.resize(rng() % b.size());
                break;
            case 3:  // a huge header length
                b = base;
                poke<uint64_t>(b, 0, huge_values[rng() % (sizeof(huge_values) / 8)] + (rng() % 2 ? 0 : header - 8));
                break;
            case 4:  // a huge 8-byte value anywhere in the header
                b = base;
                poke<uint64_t>(b, 8 + rng() % (header - 16), huge_values[rng() % (sizeof(huge_values) / 8)]);
                break;
        }
        fx::write_file(path, b);
        fuzz_one(dir, it, "safetensors", st);
        if (th::current_failures > 5) break;
    }
    std::printf("    safetensors fuzz: %d loaded (%d ran a forward pass), %d rejected\n", st.loaded, st.ran, st.rejected);
    CHECK(st.rejected > fuzz_iters() / 4 && st.loaded > fuzz_iters() / 200);
}
