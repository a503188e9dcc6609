// Bad quantized files: truncated K-quant tensors, rows that are not a whole number of blocks,
// unsupported i-quants, and a fuzz of files mixing the quantized types. Every one is a one-line
// engine_error naming the file and the tensor, never a crash or a read past the map.
#include "bad_input.h"
#include "fixture.h"
#include "model/gguf.h"
#include <random>

using namespace clasp;
using namespace bad_input;

namespace {

// A 1-layer model whose every matrix has rows of 256 (so any quantized type fits), with its
// matrices in quantized types cycling through `types` (random codes under sane scales).
fx::gguf_builder quant_fixture(const std::vector<dtype>& types, uint32_t seed) {
    fx::model_cfg c;
    c.n_vocab = 32, c.n_embd = 256, c.n_layer = 1, c.n_head = 4, c.n_head_kv = 2, c.n_ff = 256, c.n_ctx = 64;
    c.tied = false;
    auto g = fx::make_gguf(c, fx::random_weights(c, seed), dtype::F32);
    size_t k = 0;
    for (auto& t : g.tensors) {
        if (t.ne.size() != 2) continue;
        const dtype q = types[k++ % types.size()];
        auto w = tu::make_weight(q, (int64_t)t.ne[1], (int64_t)t.ne[0], seed + (uint32_t)k, 0.05f);
        t.type = fx::ggml_type_of(q);
        t.data = w.bytes;
    }
    return g;
}

const std::vector<dtype> all_quant = {dtype::Q4_K, dtype::Q6_K, dtype::Q5_K, dtype::Q4_0,
                                      dtype::Q4_1, dtype::Q5_0, dtype::Q5_1, dtype::Q8_0};

}  // namespace

// The fixture loads and runs in every quantized type (the bad variants below differ from it in one thing).
TEST(bad_quant_fixture_loads) {
    fx::temp_dir tmp;
    fx::write_file(tmp / "ok.gguf", quant_fixture(all_quant, 1).build());
    CHECK_MSG(load_error(tmp / "ok.gguf").empty(), load_error(tmp / "ok.gguf"));
    fuzz_stats st;
    fuzz_one(tmp / "ok.gguf", 0, "fixture", st);
    CHECK(st.loaded == 1 && st.ran == 1);
}

// The quantized demo file cut inside its last tensor, and a byte short of the end.
TEST(bad_quant_truncated_k_quant_tensor) {
    fx::temp_dir tmp;
    REQUIRE_REFERENCE_MODEL(src, "clasp-demo-29M-q4_k_m.gguf");
    auto bytes = fx::read_file(src);
    std::string last;
    uint64_t last_start = 0;
    {
        auto f = std::make_shared<mapped_file>(src);
        gguf_file g = gguf_open(f);
        for (const auto& t : g.tensors)
            if ((uint64_t)(t.data - f->data) >= last_start) last_start = t.data - f->data, last = t.name;
        const gguf_tensor* lt = g.tensor(last);
        CHECK_MSG(lt && is_quantized(lt->type) && lt->data + lt->nbytes == f->data + f->size,
                  "the last tensor " << last << " should be quantized and end the file");
    }
    for (uint64_t cut : {last_start + 1, last_start + (bytes.size() - last_start) / 2, (uint64_t)bytes.size() - 1}) {
        std::string p = tmp / ("cut-" + std::to_string(cut) + ".gguf");
        fx::write_file(p, bytes.data(), cut);
        CHECK_LOAD_FAILS(p, last, "truncated");
    }
}

// Rows that are not a whole number of blocks (blocks would straddle rows), for each block size.
TEST(bad_quant_rows_not_multiple_of_block) {
    fx::temp_dir tmp;
    for (dtype t : all_quant) {
        auto g = quant_fixture({t}, 2);
        auto* q = g.tensor("blk.0.attn_q.weight");
        const uint64_t bs = block_elems(t);
        q->ne = {bs + bs / 2, 4};  // 1.5 blocks per row; data for 6 whole blocks
        q->data.assign(row_bytes(t, bs) * 6, 0);
        const std::string p = tmp / (std::string(dtype_name(t)) + ".gguf");
        fx::write_file(p, g.build());
        CHECK_LOAD_FAILS(p, "blk.0.attn_q.weight", dtype_name(t), "not a multiple of its block size " + std::to_string(bs));
    }
}

// A tensor whose data holds fewer blocks than its shape needs (the next tensor's offset, or the
// file's end, comes first): the shape decides, and the reader never reads past the file.
TEST(bad_quant_block_count_does_not_fit_shape) {
    fx::temp_dir tmp;
    auto g = quant_fixture({dtype::Q6_K}, 3);
    // the last tensor in the file: give it 3 rows' data for its 256 or more
    auto& o = g.tensors.back();
    CHECK(o.ne.size() == 2 && o.ne[1] > 3);
    o.data.resize(row_bytes(dtype::Q6_K, 256) * 3);
    fx::write_file(tmp / "short.gguf", g.build());
    CHECK_LOAD_FAILS(tmp / "short.gguf", o.name, "past the end");
    // and a shape claiming more rows than the data holds
    auto h = quant_fixture({dtype::Q4_K}, 4);
    h.tensors.back().ne[1] *= 5;
    fx::write_file(tmp / "tall.gguf", h.build());
    CHECK_LOAD_FAILS(tmp / "tall.gguf", h.tensors.back().name);
}

// Mutations of a file mixing every quantized type: header bytes, truncation, a tensor's type field
// set to any ggml type (sizes then disagree with the data), and odd row lengths.
TEST(bad_quant_fuzz_gguf) {
    fx::temp_dir tmp;
    auto g = quant_fixture(all_quant, 6);
    fx::gguf_builder::layout lay;
    const auto base = g.build(&lay);
    std::mt19937_64 rng(fuzz_seed(20240610));
    fuzz_stats st;
    const std::string path = tmp / "fuzz.gguf";
    const size_t header = std::min<size_t>(lay.data_start, 4096);
    const int n_it = fuzz_iters() / 2;
    for (int it = 0; it < n_it; it++) {
        auto b = base;
        const size_t ti = rng() % g.tensors.size();
        switch (it % 5) {
            case 0:  // a tensor's type: any of ggml's (0..40), including the i-quants and unknown ones
                poke<uint32_t>(b, lay.tensor_type[ti], (uint32_t)(rng() % 41));
                break;
            case 1:  // a tensor's row length: small, odd, or a block size off by a little
                poke<uint64_t>(b, lay.tensor_ne[ti], (uint64_t)(rng() % 2 ? rng() % 600 : 256 + rng() % 64 - 32));
                break;
            case 2:  // truncate, mostly inside the data
                b.resize(lay.data_start / 2 + rng() % (b.size() - lay.data_start / 2));
                break;
            case 3:  // flip bytes in the header
                for (int k = 0, nk = 1 + rng() % 6; k < nk; k++) b[rng() % header] ^= (uint8_t)(1 + rng() % 255);
                break;
            case 4:  // scribble over data bytes (scales included): must still load and run
                for (int k = 0; k < 64; k++) b[lay.data_start + rng() % (b.size() - lay.data_start)] = (uint8_t)rng();
                break;
        }
        fx::write_file(path, b);
        fuzz_one(path, it, "quantized gguf", st);
        if (th::current_failures > 5) break;
    }
    std::printf("    quantized gguf fuzz: %d loaded (%d ran a forward pass), %d rejected\n", st.loaded, st.ran, st.rejected);
    CHECK(st.rejected > n_it / 5 && st.ran > n_it / 10);
}
