// The KV cache in F16 (--kv f16): half the bytes, a token's logits still bit-identical alone or in a
// batch, greedy CLaSp still equal to plain greedy (with drafting), and clear errors for what is refused.
// The attention op itself with an F16 cache is checked against ref in the op-case table (op_cases.h).
#include "clasp_fixture.h"
#include "core/error.h"
#include "fixture.h"
#include "runtime/transformer.h"
#include <cstring>

using namespace clasp;

namespace {

std::unique_ptr<engine> demo_engine_kv(kv_type kv) {
    engine_options o;
    o.model_path = cf::demo_q8();
    o.backend = "cpu";
    o.threads = 2;
    o.kv = kv;
    return std::make_unique<engine>(o);
}

// Runs toks at [n_past, n_past + T) writing the cache; logits and hidden states of every row.
forward_out run(transformer& tf, const std::vector<int32_t>& toks, int n_past) {
    std::vector<int> rows(toks.size());
    for (size_t i = 0; i < rows.size(); i++) rows[i] = (int)i;
    forward_out out;
    tf.forward(toks.data(), (int)toks.size(), n_past, nullptr, true, rows, rows, out);
    tf.cache.n = n_past + (int)toks.size();
    return out;
}

// The F16 cache's first n_pos positions of every layer, widened to float: (n_layer, 2, n_pos, kv_dim).
std::vector<float> cache_values(const kv_cache& c, int n_pos) {
    std::vector<float> v;
    for (int il = 0; il < c.n_layer; il++)
        for (const void* p : {c.k[il], c.v[il]})
            for (size_t i = 0; i < (size_t)n_pos * c.kv_dim; i++) v.push_back(fp16_to_fp32(((const uint16_t*)p)[i]));
    return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

// A 100-token prefix and 5 more tokens, as a batch and one at a time: the same logits, hidden states
// and cache bits at every kernel level; the cache takes half the bytes, holds the F32 run's keys to
// F16 precision, and the logits stay close to the F32 cache's.
TEST(kv_f16_batch_invariance_and_half_the_bytes) {
    fx::temp_dir tmp;
    fx::model_cfg c;
    c.n_embd = 128;
    c.n_head = 4;
    c.n_head_kv = 2;
    c.n_ff = 160;
    c.n_vocab = 64;
    const std::string path = tmp / "m.gguf";
    fx::write_gguf(path, c, fx::random_weights(c, 31), dtype::F16);
    auto m = llama_load(path);
    std::mt19937 g(32);
    std::vector<int32_t> toks(105);
    for (auto& t : toks) t = (int32_t)(g() % (uint32_t)c.n_vocab);
    const std::vector<int32_t> prefix(toks.begin(), toks.begin() + 100), tail(toks.begin() + 100, toks.end());
    auto levels_a = tu::cpu_levels(2), levels_b = tu::cpu_levels(1);
    for (size_t k = 0; k < levels_a.size(); k++) {
        const std::string what = levels_a[k]->device_info();
        forward_out ob, os, o32;
        std::vector<float> cache_b, cache_s;
        {
            transformer batch(m, *levels_a[k], 128, kv_type::f16);
            CHECK(batch.cache.bytes() == (uint64_t)2 * c.n_layer * 128 * c.n_head_kv * c.hd() * 2);
            run(batch, prefix, 0);
            ob = run(batch, tail, 100);
            cache_b = cache_values(batch.cache, 105);
        }
        {
            transformer single(m, *levels_b[k], 128, kv_type::f16);
            run(single, prefix, 0);
            for (int i = 0; i < 5; i++) {
                forward_out o = run(single, {tail[i]}, 100 + i);
                os.logits.insert(os.logits.end(), o.logits.begin(), o.logits.end());
                os.hidden.insert(os.hidden.end(), o.hidden.begin(), o.hidden.end());
            }
            cache_s = cache_values(single.cache, 105);
        }
        CHECK_MSG(same_bits(ob.logits, os.logits), what << " logits" << tu::first_mismatches(ob.logits, os.logits, 0));
        CHECK_MSG(same_bits(ob.hidden, os.hidden), what << " hidden" << tu::first_mismatches(ob.hidden, os.hidden, 0));
        CHECK_MSG(same_bits(cache_b, cache_s), what << " KV cache");
        {
            transformer f32(m, *levels_a[k], 128, kv_type::f32);
            CHECK(f32.cache.bytes() == (uint64_t)2 * c.n_layer * 128 * c.n_head_kv * c.hd() * 4);
            run(f32, prefix, 0);
            o32 = run(f32, tail, 100);
            // Layer 0's keys and values depend on the embeddings only: the F16 cache holds the F32 one's,
            // rounded, within half an F16 ulp (2^-11 relative). Later layers differ by more (their input
            // went through attention over the rounded cache).
            std::vector<float> want;
            for (void* p : {f32.cache.k[0], f32.cache.v[0]})
                want.insert(want.end(), (const float*)p, (const float*)p + (size_t)105 * f32.cache.kv_dim);
            cache_b.resize(want.size());
            size_t off = 0;
            for (size_t i = 0; i < want.size(); i++)
                if (std::fabs(cache_b[i] - want[i]) > std::fabs(want[i]) * (1.0 / 2048) + 6e-8) off++;
            CHECK_MSG(off == 0, what << ": " << off << " cached values differ from the F32 cache by more than F16 rounding");
            CHECK_MSG(!same_bits(cache_b, want), what << ": the F16 cache equals the F32 one bit for bit (not rounded?)");
        }
        const double e = tu::nmse(ob.logits, o32.logits);
        CHECK_MSG(e > 0 && e < 1e-5, what << ": F16 vs F32 cache logits nmse " << e);
    }
}

// Greedy CLaSp and static skipping equal plain greedy decoding with an F16 cache too, and drafting happened.
TEST(kv_f16_greedy_clasp_equals_plain) {
    auto e = demo_engine_kv(kv_type::f16);
    CHECK(e->tf->cache.type == kv_type::f16);
    const int L = e->model->cfg.n_layer;
    gen_params ar;
    ar.max_tokens = 40;
    ar.ignore_eos = true;
    e->truncate(0);
    const auto want = e->generate(cf::COUNT, ar, {}).ids;
    CHECK(want.size() == 40);
    for (int M : {1, L / 2})
        for (const char* mode : {"clasp", "static"}) {
            gen_params gp = ar;
            gp.mode = mode;
            gp.skip = M;
            gp.loi = 1;
            e->truncate(0);
            auto got = e->generate(cf::COUNT, gp, {});
            CHECK_MSG(got.ids == want, mode << " M=" << M << " with an F16 cache differs from plain decoding");
            CHECK_MSG(got.stats.rounds > 0 && got.stats.drafted > 0, mode << " M=" << M << ": no drafting happened");
        }
}

TEST(kv_f16_bad_values_and_refusals) {
    CHECK(kv_type_parse("f32", "--kv") == kv_type::f32 && kv_type_parse("f16", "--kv") == kv_type::f16);
    CHECK_THROWS(kv_type_parse("q8", "--kv"), "--kv must be f32 or f16 (got 'q8')");
    CHECK_THROWS(kv_type_parse("", "kvType"), "kvType must be f32 or f16");
    // A backend without an F16 cache (the CUDA backend today) refuses it when the cache is made.
    struct f32_only : ref_backend {
        std::string name() const override { return "f32-only"; }
        bool supports_kv(kv_type kv) const override { return kv == kv_type::f32; }
    } be;
    CHECK_THROWS(kv_cache(be, 2, 16, 8, kv_type::f16), "KV cache type f16 (--kv, kvType) is not supported on the f32-only backend");
    kv_cache ok(be, 2, 16, 8, kv_type::f32);
    CHECK(ok.bytes() == 2u * 2 * 16 * 8 * 4);
}
