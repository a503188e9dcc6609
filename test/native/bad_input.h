// Helpers shared by the bad-input tests: loading a file that must fail, and the bounded fuzz driver.
#pragma once
#include "core/error.h"
#include "model/llama_model.h"
#include "runtime/transformer.h"
#include "util.h"
#include <filesystem>

namespace bad_input {

using namespace clasp;

template <typename T>
void poke(std::vector<uint8_t>& b, size_t at, T v) {
    std::memcpy(b.data() + at, &v, sizeof(T));
}

// The message of the engine_error that load throws ("" if none); other exceptions propagate.
inline std::string load_error(const std::string& path) {
    try {
        llama_load(path);
    } catch (const engine_error& e) {
        return e.what();
    }
    return "";
}

inline bool one_line(const std::string& s) { return s.find('\n') == std::string::npos; }

// Whether an error names the file (or, for a model directory's file, the directory).
inline bool names_file(const std::string& err, const std::string& file) {
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


struct fuzz_stats {
    int loaded = 0, rejected = 0, ran = 0;
};

// Loads one mutated model; it must load or throw engine_error. A model that loads must survive a
// 2-token forward pass (or refuse it with engine_error).
inline void fuzz_one(const std::string& path, int iter, const char* what, fuzz_stats& st) {
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
inline int fuzz_iters() {
    const char* s = std::getenv("CLASP_FUZZ_ITERS");
    return s ? std::atoi(s) : 2000;
}
inline uint64_t fuzz_seed(uint64_t def) {
    const char* s = std::getenv("CLASP_FUZZ_SEED");
    return s ? std::strtoull(s, nullptr, 10) + def : def;
}

inline const uint64_t huge_values[] = {UINT64_MAX, 1ull << 63, (1ull << 63) - 1, 1ull << 62, 1ull << 40, 1ull << 32,
                                0xffffffffull, 0x80000000ull, 0, 1};

}  // namespace bad_input
