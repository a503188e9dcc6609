// Whole-model tests on small random-weight fixtures: GGUF and HF layouts of the same weights agree,
// cpu matches ref over awkward shapes, and the invariants speculative decoding relies on (batch
// invariance, skip mask, layer_candidates, KV truncation) hold exactly.
#include "core/error.h"
#include "fixture.h"
#include "runtime/transformer.h"
#include "util.h"
#include <cstring>

using namespace clasp;

namespace {

// A model loaded on one backend with its transformer.
struct loaded {
    std::shared_ptr<llama_model> m;
    std::unique_ptr<backend> be;
    std::unique_ptr<transformer> tf;
    loaded(const std::string& path, const std::string& kind, int n_ctx = 128, kv_type kv = kv_type::f32) {
        m = llama_load(path);
        be = backend_create(kind, 2);
        tf = std::make_unique<transformer>(m, *be, n_ctx, kv);
    }
    loaded(const std::string& path, std::unique_ptr<backend> b, int n_ctx = 128, kv_type kv = kv_type::f32) {
        m = llama_load(path);
        be = std::move(b);
        tf = std::make_unique<transformer>(m, *be, n_ctx, kv);
    }
    // Runs toks at [n_past, n_past+T), writing the cache; returns logits and hidden states of every row.
    forward_out run(const std::vector<int32_t>& toks, int n_past) {
        std::vector<int> rows(toks.size());
        for (size_t i = 0; i < rows.size(); i++) rows[i] = (int)i;
        forward_out out;
        tf->forward(toks.data(), (int)toks.size(), n_past, nullptr, true, rows, rows, out);
        tf->cache.n = n_past + (int)toks.size();
        return out;
    }
    // Prefill of toks[0, n_prefill) then one token at a time; logits and hidden of every position, concatenated.
    forward_out prefill_decode(const std::vector<int32_t>& toks, int n_prefill) {
        forward_out all = run(std::vector<int32_t>(toks.begin(), toks.begin() + n_prefill), 0);
        for (size_t i = n_prefill; i < toks.size(); i++) {
            forward_out o = run({toks[i]}, (int)i);
            all.logits.insert(all.logits.end(), o.logits.begin(), o.logits.end());
            all.hidden.insert(all.hidden.end(), o.hidden.begin(), o.hidden.end());
        }
        return all;
    }
    // Every layer's K and V at positions [0, n_pos) (default: the whole cache), downloaded as raw
    // floats (an F16 cache: two values per float): (n_layer, 2, n_pos, kv_dim).
    std::vector<float> cache_bytes(int n_pos = -1) {
        auto& c = tf->cache;
        size_t n = (size_t)(n_pos < 0 ? c.n_ctx : n_pos) * c.kv_dim * kv_type_bytes(c.type) / sizeof(float);
        std::vector<float> v(2 * c.n_layer * n);
        for (int il = 0; il < c.n_layer; il++) {
            be->download(v.data() + (2 * il) * n, (const float*)c.k[il], n);
            be->download(v.data() + (2 * il + 1) * n, (const float*)c.v[il], n);
        }
        return v;
    }
    void fill_cache(float value) {  // a float32 cache
        auto& c = tf->cache;
        std::vector<float> s((size_t)c.n_ctx * c.kv_dim, value);
        for (int il = 0; il < c.n_layer; il++) {
            be->upload((float*)c.k[il], s.data(), s.size());
            be->upload((float*)c.v[il], s.data(), s.size());
        }
    }
};

std::vector<int32_t> tokens(int n, int n_vocab, uint32_t seed) {
    std::mt19937 g(seed);
    std::vector<int32_t> t(n);
    for (auto& x : t) x = (int32_t)(g() % (uint32_t)n_vocab);
    return t;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Compares two runs' logits and hidden states by nmse.
void check_close(const forward_out& got, const forward_out& want, double tol, const std::string& what) {
    CHECK_MSG(got.logits.size() == want.logits.size() && got.hidden.size() == want.hidden.size(), what << ": sizes differ");
    if (got.logits.size() != want.logits.size() || got.hidden.size() != want.hidden.size()) return;
    double el = tu::nmse(got.logits, want.logits), eh = tu::nmse(got.hidden, want.hidden);
    CHECK_MSG(el < tol, what << ": logits" << tu::first_mismatches(got.logits, want.logits, 1e-3));
    CHECK_MSG(eh < tol, what << ": hidden" << tu::first_mismatches(got.hidden, want.hidden, 1e-3));
}

}  // namespace

// GGUF (Q/K rows permuted, interleaved RoPE) and HF (rotate-half) files of the same weights must
// give the same model, in every dtype, and a sharded HF directory the same as one file.
TEST(models_gguf_matches_hf_all_dtypes) {
    fx::temp_dir tmp;
    fx::model_cfg c;  // 96 vocab, 64 embd, 2 layers, 4/2 heads, head_dim 16, n_ff 96
    auto w = fx::random_weights(c, 42);
    auto toks = tokens(6, c.n_vocab, 1);
    for (dtype t : {dtype::F32, dtype::F16, dtype::BF16, dtype::Q8_0}) {
        auto ws = fx::snap(w, c, t);
        std::string tn = dtype_name(t);
        fx::write_gguf(tmp / ("m-" + tn + ".gguf"), c, ws, t);
        fx::write_hf_dir(tmp / ("hf32-" + tn), c, ws, dtype::F32);
        loaded g(tmp / ("m-" + tn + ".gguf"), "cpu"), h(tmp / ("hf32-" + tn), "cpu");
        CHECK(g.m->cfg.rope_interleaved && !h.m->cfg.rope_interleaved);
        CHECK(g.m->format == "gguf" && h.m->format == "safetensors");
        forward_out og = g.run(toks, 0), oh = h.run(toks, 0);
        // Q8_0 runs on the integer kernels: 8-bit activations (nmse about 1e-4 against float)
        check_close(og, oh, t == dtype::Q8_0 ? 1e-3 : 1e-10, "gguf " + tn + " vs hf F32");
        if (t == dtype::Q8_0) continue;
        // The HF file in the same dtype, once as one file and once in two shards.
        fx::write_hf_dir(tmp / ("hf-" + tn), c, ws, t, 1);
        fx::write_hf_dir(tmp / ("hf2-" + tn), c, ws, t, 2);
        loaded h1(tmp / ("hf-" + tn), "cpu"), h2(tmp / ("hf2-" + tn), "cpu");
        CHECK(h2.m->files.size() == 2);
        forward_out o1 = h1.run(toks, 0), o2 = h2.run(toks, 0);
        check_close(og, o1, 1e-10, "gguf " + tn + " vs hf " + tn);
        CHECK_MSG(same_bits(o1.logits, o2.logits) && same_bits(o1.hidden, o2.hidden), "sharded HF " << tn);
        // Loading the .safetensors file itself finds its directory.
        loaded hf_file(tmp / ("hf-" + tn + "/model.safetensors"), "cpu");
        CHECK(same_bits(hf_file.run(toks, 0).logits, o1.logits));
    }
    // Negative control: the same GGUF without the Q/K permutation is a different model, so the
    // comparisons above really do see the RoPE layout.
    auto g = fx::make_gguf(c, w, dtype::F32);
    for (int il = 0; il < c.n_layer; il++) {
        g.tensor("blk." + std::to_string(il) + ".attn_q.weight")->data = fx::encode(w.layers[il].wq, c.n_embd, dtype::F32);
        g.tensor("blk." + std::to_string(il) + ".attn_k.weight")->data = fx::encode(w.layers[il].wk, c.n_embd, dtype::F32);
    }
    fx::write_file(tmp / "unpermuted.gguf", g.build());
    loaded bad(tmp / "unpermuted.gguf", "cpu"), good(tmp / "hf32-F32", "cpu");
    double e = tu::nmse(bad.run(toks, 0).logits, good.run(toks, 0).logits);
    CHECK_MSG(e > 1e-4, "unpermuted Q/K should change the logits (nmse " << e << ")");
}

TEST(models_tied_embeddings) {
    fx::temp_dir tmp;
    fx::model_cfg c;
    c.tied = true;
    auto w = fx::snap(fx::random_weights(c, 7), c, dtype::F16);
    fx::write_gguf(tmp / "tied.gguf", c, w, dtype::F16);
    fx::write_hf_dir(tmp / "tied-hf", c, w, dtype::F16);
    auto toks = tokens(10, c.n_vocab, 3);
    std::vector<forward_out> cpu_out;
    for (std::string path : {tmp / "tied.gguf", tmp / "tied-hf"}) {
        loaded a(path, "cpu"), r(path, "ref");
        CHECK_MSG(a.m->cfg.tied_embeddings, path);
        CHECK_MSG(a.m->output.data == a.m->tok_embd.data, path);
        forward_out oa = a.prefill_decode(toks, 7), orf = r.prefill_decode(toks, 7);
        check_close(oa, orf, 1e-6, path + " cpu vs ref");
        cpu_out.push_back(std::move(oa));
    }
    check_close(cpu_out[0], cpu_out[1], 1e-10, "tied gguf vs hf");
}

// transformers' _compute_llama3_parameters, in float32 as torch computes it.
static std::vector<float> llama3_inv_freq_transformers(float base, int dim, float factor, float low, float high,
                                                       float old_ctx) {
    const float pi = 3.14159265358979323846f;
    std::vector<float> out(dim / 2);
    float low_wl = old_ctx / low, high_wl = old_ctx / high;
    for (int i = 0; i < dim / 2; i++) {
        float inv = 1.0f / std::pow(base, (float)(2 * i) / (float)dim);
        float wl = 2 * pi / inv;
        float llama = wl > low_wl ? inv / factor : inv;
        float smooth = (old_ctx / wl - low) / (high - low);
        float smoothed = (1 - smooth) * llama / factor + smooth * llama;
        bool medium = !(wl < high_wl) && !(wl > low_wl);
        out[i] = medium ? smoothed : llama;
    }
    return out;
}

TEST(models_llama3_rope_scaling) {
    fx::temp_dir tmp;
    fx::model_cfg c;
    c.head_dim = 16;
    c.rope_factor = 8;
    c.rope_low_freq = 1;
    c.rope_high_freq = 4;
    c.rope_orig_ctx = 64;
    auto w = fx::random_weights(c, 11);
    fx::write_hf_dir(tmp / "hf", c, w, dtype::F32);
    fx::write_gguf(tmp / "m.gguf", c, w, dtype::F32);

    loaded h(tmp / "hf", "cpu"), g(tmp / "m.gguf", "cpu");
    CHECK(h.m->cfg.rope_factor == 8 && h.m->cfg.rope_orig_ctx == 64);
    auto want = llama3_inv_freq_transformers(c.rope_theta, 16, 8, 1, 4, 64);
    auto got = rope_inv_freq(h.m->cfg);
    CHECK(got == h.m->rope_inv_freq);
    int n_scaled = 0, n_smooth = 0;
    auto plain = llama3_inv_freq_transformers(c.rope_theta, 16, 1, 1, 4, 1e-9f);  // nothing scaled
    for (int i = 0; i < 8; i++) {
        CHECK_MSG(std::fabs(got[i] - want[i]) <= 2e-6 * want[i], "inv_freq[" << i << "] " << got[i] << " vs " << want[i]);
        CHECK_MSG(std::fabs(g.m->rope_inv_freq[i] - want[i]) <= 2e-6 * want[i],
                  "gguf inv_freq[" << i << "] " << g.m->rope_inv_freq[i] << " vs " << want[i]);
        if (std::fabs(want[i] * 8 - plain[i]) < 1e-6 * plain[i]) n_scaled++;
        else if (want[i] != plain[i]) n_smooth++;
    }
    // The fixture's frequencies span all three regions (kept, smoothed, divided by the factor).
    CHECK_MSG(n_scaled > 0 && n_smooth > 0 && want[0] == plain[0], "scaled " << n_scaled << " smooth " << n_smooth);

    // rope_freqs.weight in GGUF must give the model HF gives, at positions past the original context.
    auto toks = tokens(72, c.n_vocab, 5);
    forward_out oh = h.run(toks, 0), og = g.run(toks, 0);
    check_close(og, oh, 1e-10, "llama3 rope gguf vs hf");
    // ...and the scaling matters there: without rope_freqs.weight the late logits differ.
    auto gb = fx::make_gguf(c, w, dtype::F32);
    gb.remove_tensor("rope_freqs.weight");
    fx::write_file(tmp / "noscale.gguf", gb.build());
    loaded n(tmp / "noscale.gguf", "cpu");
    forward_out on = n.run(toks, 0);
    size_t V = c.n_vocab;
    std::vector<float> late_n(on.logits.begin() + 65 * V, on.logits.end()), late_h(oh.logits.begin() + 65 * V, oh.logits.end());
    CHECK_MSG(tu::nmse(late_n, late_h) > 1e-6, "rope scaling had no effect (nmse " << tu::nmse(late_n, late_h) << ")");
}

// cpu against the ref oracle, whole model, over head layouts and sizes that are not the demo's.
TEST(models_shapes_cpu_vs_ref) {
    struct shape {
        const char* what;
        int n_embd, n_head, n_head_kv, head_dim, n_ff;
        dtype t;
    };
    const shape shapes[] = {
        {"6/2 heads, hd 16", 96, 6, 2, 16, 96, dtype::Q8_0},
        {"3/3 heads, n_embd 48", 48, 3, 3, 0, 64, dtype::F32},
        {"8/1 heads, hd 8", 64, 8, 1, 0, 96, dtype::F16},
        {"explicit head_dim 32 (q dim 128)", 64, 4, 2, 32, 64, dtype::BF16},
        {"n_ff 100", 64, 4, 2, 0, 100, dtype::F16},
        {"n_embd 96, hd 24", 96, 4, 4, 0, 160, dtype::Q8_0},
    };
    fx::temp_dir tmp;
    uint32_t seed = 100;
    for (const auto& s : shapes) {
        fx::model_cfg c;
        c.n_embd = s.n_embd;
        c.n_head = s.n_head;
        c.n_head_kv = s.n_head_kv;
        c.head_dim = s.head_dim;
        c.n_ff = s.n_ff;
        c.n_vocab = 80;
        c.n_layer = 2;
        auto w = fx::snap(fx::random_weights(c, seed++), c, s.t);
        std::string gpath = tmp / ("m" + std::to_string(seed) + ".gguf"), hpath = tmp / ("hf" + std::to_string(seed));
        fx::write_gguf(gpath, c, w, s.t);
        fx::write_hf_dir(hpath, c, w, s.t == dtype::Q8_0 ? dtype::F32 : s.t);
        auto toks = tokens(10, c.n_vocab, seed);
        forward_out first;
        for (const std::string& path : {gpath, hpath}) {
            loaded a(path, "cpu"), r(path, "ref");
            CHECK_MSG(a.m->cfg.head_dim == (s.head_dim ? s.head_dim : s.n_embd / s.n_head), s.what);
            forward_out oa = a.prefill_decode(toks, 7), orf = r.prefill_decode(toks, 7);
            CHECK(oa.logits.size() == 10u * c.n_vocab);
            // the GGUF of a Q8_0 shape runs on the integer kernels (8-bit activations); its HF twin is F32
            const double tol = s.t == dtype::Q8_0 && a.m->format == "gguf" ? 1e-3 : 1e-6;
            check_close(oa, orf, tol, std::string(s.what) + " " + a.m->format + " cpu vs ref");
            if (first.logits.empty()) first = std::move(oa);
            else check_close(oa, first, s.t == dtype::Q8_0 ? 1e-3 : 1e-10, std::string(s.what) + " hf vs gguf");
        }
    }
}

// A token's logits must not depend on how many tokens share its forward pass: this is what makes
// greedy speculative decoding exactly lossless. Bit-exact, for every kernel level and dtype.
TEST(models_batch_invariance) {
    fx::temp_dir tmp;
    fx::model_cfg c;
    c.n_embd = 128;
    c.n_head = 4;
    c.n_head_kv = 2;
    c.n_ff = 160;
    c.n_vocab = 64;
    auto w = fx::random_weights(c, 21);
    auto toks = tokens(105, c.n_vocab, 22);  // a 100-token prefix, then 5 tokens
    std::vector<int32_t> prefix(toks.begin(), toks.begin() + 100), tail(toks.begin() + 100, toks.end());
    for (dtype t : {dtype::F32, dtype::F16, dtype::BF16, dtype::Q8_0}) {
        std::string path = tmp / (std::string("m-") + dtype_name(t) + ".gguf");
        fx::write_gguf(path, c, w, t);
        // Per kernel level: a 2-thread backend runs the batch, a 1-thread one the tokens one at a
        // time (so the thread split must not matter either). They run one after the other: on a
        // 2-core machine a second pool's spinning worker would starve the first.
        auto levels_a = tu::cpu_levels(2), levels_b = tu::cpu_levels(1);
        for (size_t k = 0; k < levels_a.size(); k++) {
            std::string what = levels_a[k]->device_info() + " " + dtype_name(t);
            forward_out ob, os;
            std::vector<float> cache_b, cache_s;
            {
                loaded batch(path, std::move(levels_a[k]), 128);
                batch.run(prefix, 0);
                ob = batch.run(tail, 100);
                cache_b = batch.cache_bytes(105);
            }
            {
                loaded single(path, std::move(levels_b[k]), 128);
                single.run(prefix, 0);
                for (int i = 0; i < 5; i++) {
                    forward_out o = single.run({tail[i]}, 100 + i);
                    os.logits.insert(os.logits.end(), o.logits.begin(), o.logits.end());
                    os.hidden.insert(os.hidden.end(), o.hidden.begin(), o.hidden.end());
                }
                cache_s = single.cache_bytes(105);
            }
            CHECK_MSG(same_bits(ob.logits, os.logits), what << " logits" << tu::first_mismatches(ob.logits, os.logits, 0));
            CHECK_MSG(same_bits(ob.hidden, os.hidden), what << " hidden" << tu::first_mismatches(ob.hidden, os.hidden, 0));
            CHECK_MSG(same_bits(cache_b, cache_s), what << " KV cache");
        }
    }
}

// A skipped layer is the identity and leaves its KV cache alone; kept layers write theirs.
TEST(models_skip_mask) {
    fx::temp_dir tmp;
    fx::model_cfg c;
    c.n_layer = 5;
    fx::write_gguf(tmp / "m.gguf", c, fx::random_weights(c, 31), dtype::F16);
    const uint8_t skip[5] = {1, 0, 1, 1, 0};  // the first layer, one in the middle, two in a row
    auto toks = tokens(4, c.n_vocab, 32);
    for (const char* kind : {"cpu", "ref"}) {
        loaded a(tmp / "m.gguf", kind, 16);
        const float sentinel = -12345.5f;
        a.fill_cache(sentinel);
        forward_out out;
        a.tf->forward(toks.data(), 4, 0, skip, true, {0, 1, 2, 3}, {0, 1, 2, 3}, out);
        const size_t d = c.n_embd, L1 = c.n_layer + 1;
        for (int il = 0; il < c.n_layer; il++)
            for (size_t r = 0; r < 4; r++) {
                const float* h0 = &out.hidden[(r * L1 + il) * d];
                const float* h1 = &out.hidden[(r * L1 + il + 1) * d];
                bool same = std::memcmp(h0, h1, d * sizeof(float)) == 0;
                CHECK_MSG(same == (bool)skip[il], kind << " layer " << il << " row " << r << (skip[il] ? " skipped but changed h" : " kept but left h unchanged"));
            }
        auto cache = a.cache_bytes();
        const size_t n = (size_t)a.tf->cache.n_ctx * a.tf->cache.kv_dim, written = 4 * (size_t)a.tf->cache.kv_dim;
        for (int il = 0; il < c.n_layer; il++)
            for (int kv = 0; kv < 2; kv++) {
                const float* p = &cache[(2 * il + kv) * n];
                size_t changed = 0, changed_beyond = 0;
                for (size_t i = 0; i < n; i++)
                    if (p[i] != sentinel) (i < written ? changed : changed_beyond)++;
                CHECK_MSG(changed_beyond == 0, kind << " layer " << il << " wrote past its positions");
                if (skip[il]) CHECK_MSG(changed == 0, kind << " skipped layer " << il << " wrote " << changed << " cache values");
                else CHECK_MSG(changed == written, kind << " kept layer " << il << " wrote " << changed << " of " << written);
            }
        // With every layer skipped the logits are those of the final-normed embeddings.
        const uint8_t all[5] = {1, 1, 1, 1, 1};
        forward_out o2;
        a.tf->forward(toks.data(), 1, 0, all, false, {0}, {0}, o2);
        for (int l = 1; l <= c.n_layer; l++)
            CHECK(std::memcmp(&o2.hidden[0], &o2.hidden[l * d], d * sizeof(float)) == 0);
    }
}

// The DP primitive: layer il on n candidate states at position p is each state alone, is the
// ordinary forward of that layer at p over cache [0, p), and writes nothing to the cache.
TEST(models_layer_candidates) {
    fx::temp_dir tmp;
    fx::model_cfg c;
    c.n_layer = 3;
    fx::write_gguf(tmp / "m.gguf", c, fx::random_weights(c, 41), dtype::Q8_0);
    const int p = 6, n = 4;
    const size_t d = c.n_embd;
    auto prefix = tokens(p, c.n_vocab, 42);
    auto cands = tokens(n, c.n_vocab, 43);
    for (const char* kind : {"cpu", "ref"}) {
        loaded a(tmp / "m.gguf", kind, 32);
        a.fill_cache(7.25f);
        a.run(prefix, 0);
        // The true hidden states of each candidate token at position p (no cache write).
        std::vector<std::vector<float>> h(n);
        for (int j = 0; j < n; j++) {
            forward_out o;
            a.tf->forward(&cands[j], 1, p, nullptr, false, {}, {0}, o);
            h[j] = o.hidden;
        }
        auto before = a.cache_bytes();
        for (int il = 0; il < c.n_layer; il++) {
            // n true states plus one random one, in one batch
            std::vector<float> states;
            for (int j = 0; j < n; j++) states.insert(states.end(), h[j].begin() + il * d, h[j].begin() + (il + 1) * d);
            auto rnd = tu::randv(d, 44 + il);
            states.insert(states.end(), rnd.begin(), rnd.end());
            std::vector<float> out((n + 1) * d), one(d);
            a.tf->layer_candidates(il, states.data(), n + 1, p, out.data());
            for (int j = 0; j <= n; j++) {
                a.tf->layer_candidates(il, states.data() + j * d, 1, p, one.data());
                CHECK_MSG(std::memcmp(one.data(), &out[j * d], d * sizeof(float)) == 0,
                          kind << " layer " << il << " candidate " << j << ": batch differs from alone");
                if (j == n) continue;
                CHECK_MSG(std::memcmp(&h[j][(il + 1) * d], &out[j * d], d * sizeof(float)) == 0,
                          kind << " layer " << il << " candidate " << j << ": differs from the forward pass");
            }
        }
        CHECK_MSG(same_bits(before, a.cache_bytes()), kind << ": layer_candidates changed the cache");
        CHECK(a.tf->cache.n == p);
        CHECK_THROWS(a.tf->layer_candidates(0, h[0].data(), 1, p + 1, h[0].data()), "beyond the cache");
        CHECK_THROWS(a.tf->layer_candidates(c.n_layer, h[0].data(), 1, p, h[0].data()), "layer out of range");
    }
}

// Draft, reject, truncate, recompute: the result is exactly what never drafting would have given.
TEST(models_kv_truncate) {
    fx::temp_dir tmp;
    fx::model_cfg c;
    fx::write_gguf(tmp / "m.gguf", c, fx::random_weights(c, 51), dtype::F16);
    auto t = tokens(5, c.n_vocab, 52);  // A B C D C'
    if (t[4] == t[2]) t[4] = (t[2] + 1) % c.n_vocab;
    for (const char* kind : {"cpu", "ref"}) {
        loaded a(tmp / "m.gguf", kind, 32), fresh(tmp / "m.gguf", kind, 32);
        a.run({t[0], t[1], t[2], t[3]}, 0);
        a.tf->cache.truncate(2);
        CHECK(a.tf->cache.n == 2);
        forward_out oa = a.run({t[4]}, 2);
        forward_out of = fresh.run({t[0], t[1], t[4]}, 0);
        std::vector<float> last(of.logits.end() - c.n_vocab, of.logits.end());
        CHECK_MSG(same_bits(oa.logits, last), kind << tu::first_mismatches(oa.logits, last, 0));
        CHECK_MSG(same_bits(a.cache_bytes(3), fresh.cache_bytes(3)), kind << ": cache [0, 3) differs");
        CHECK_THROWS(a.tf->cache.truncate(4), "truncate");
    }
}
