// The demo model on the GPU: golden greedy ids, CUDA against CPU logits, and the lossless invariants
// at model level (verify == decode, DP batch == candidates alone, truncate == never drafted), on each
// demo file present and on the Q8_0 demo converted to BF16 in memory (the weight type of the real
// Llama models).
#include "core/error.h"
#include "core/json.h"
#include "gpu_util.h"
#include "runtime/transformer.h"
#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/stat.h>

using namespace clasp;

namespace {

bool file_exists(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

struct golden_prompt {
    std::string name;
    std::vector<int32_t> prompt;
    std::vector<int> greedy;
    std::vector<double> margins;
};

std::vector<golden_prompt> load_golden() {
    std::string path = th::golden_dir() + "/golden.json";
    std::ifstream f(path, std::ios::binary);
    if (!f) fail(path + ": cannot open");
    std::stringstream ss;
    ss << f.rdbuf();
    std::string text = ss.str();
    json j = json_parse(text.data(), text.size(), path);
    std::vector<golden_prompt> out;
    const json* prompts = j.get("prompts");
    if (!prompts || !prompts->is_obj()) fail(path + ": no prompts");
    for (const auto& kv : prompts->obj) {
        golden_prompt g;
        g.name = kv.first;
        for (const auto& v : kv.second.get("prompt_ids")->arr) g.prompt.push_back((int32_t)v.num);
        for (const auto& v : kv.second.get("greedy_ids")->arr) g.greedy.push_back((int)v.num);
        for (const auto& v : kv.second.get("top1_margins")->arr) g.margins.push_back(v.num);
        out.push_back(std::move(g));
    }
    return out;
}

// The demo models that are present: the F16 GGUF (the golden reference's weights exactly; optional,
// under models_dir()), the Q8_0 GGUF (bundled under resources/, so a GPU server always has it) and
// that Q8_0 model in BF16.
struct demo_model {
    std::string label, path;
};
std::vector<demo_model> demo_models() {
    std::vector<demo_model> v;
    std::string dir = th::models_dir();
    if (file_exists(dir + "/clasp-demo-29M.gguf")) v.push_back({"f16", dir + "/clasp-demo-29M.gguf"});
    if (file_exists(dir + "/clasp-demo-29M")) v.push_back({"hf", dir + "/clasp-demo-29M"});
    if (file_exists(th::demo_model())) {
        v.push_back({"q8_0", th::demo_model()});
        v.push_back({"bf16", th::demo_model()});
    }
    return v;
}

// A copy of the model with every matrix in BF16 (dequantized, then rounded to nearest even); the norms
// stay float32 and tied embeddings stay tied. The converted data lives as long as the process.
std::shared_ptr<llama_model> to_bf16(const llama_model& src) {
    static std::vector<std::vector<uint16_t>> storage;
    auto m = std::make_shared<llama_model>(src);
    std::map<const void*, const void*> converted;
    auto conv = [&](weight& w) {
        auto it = converted.find(w.data);
        if (it == converted.end()) {
            std::vector<uint16_t> bf((size_t)w.n_out * w.n_in);
            std::vector<float> row(w.n_in);
            for (int64_t r = 0; r < w.n_out; r++) {
                dequantize_row(w.type, w.row(r), row.data(), w.n_in);
                for (int64_t i = 0; i < w.n_in; i++) bf[(size_t)r * w.n_in + i] = fp32_to_bf16(row[i]);
            }
            storage.push_back(std::move(bf));
            it = converted.emplace(w.data, storage.back().data()).first;
        }
        w.data = it->second;
        w.type = dtype::BF16;
    };
    conv(m->tok_embd);
    conv(m->output);
    for (auto& lw : m->layers)
        for (weight* w : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w_gate, &lw.w_up, &lw.w_down}) conv(*w);
    m->path += " (BF16 in memory)";
    return m;
}

std::shared_ptr<llama_model> load_cached(const std::string& path, bool bf16 = false) {
    static std::map<std::string, std::shared_ptr<llama_model>> cache;
    auto& m = cache[path + (bf16 ? "#bf16" : "")];
    if (!m) m = bf16 ? to_bf16(*load_cached(path)) : llama_load(path);
    return m;
}
std::shared_ptr<llama_model> load_demo(const demo_model& dm) { return load_cached(dm.path, dm.label == "bf16"); }

// CUDA-vs-CPU logits tolerance: the tensor cores keep ~22 bits of each activation with F16/Q8_0
// weights (f16 hi + lo) but ~16 with BF16 (bf16 hi + lo), against float32 on the CPU; over 32 layers
// that leaves nmse ~1e-10 and ~1e-8. A wrong layout or a dropped term gives ~1.
double logits_tolerance(const demo_model& dm) { return dm.label == "bf16" ? 1e-6 : 1e-8; }

struct greedy_run {
    std::vector<int> ids;
    std::vector<float> margins;     // top-1 minus top-2 logit per step
    std::vector<float> first_logits;  // at the last prompt position
};

greedy_run run_greedy(std::shared_ptr<llama_model> m, backend& be, const std::vector<int32_t>& prompt, int n_gen) {
    greedy_run r;
    const int V = m->cfg.n_vocab, P = (int)prompt.size();
    transformer tf(m, be, P + n_gen + 8);
    forward_out out;
    tf.forward(prompt.data(), P, 0, nullptr, true, {P - 1}, {}, out);
    tf.cache.n = P;
    r.first_logits = out.logits;
    for (int i = 0; i < n_gen; i++) {
        const float* l = out.logits.data();
        int best = (int)(std::max_element(l, l + V) - l);
        float second = -INFINITY;
        for (int v = 0; v < V; v++)
            if (v != best) second = std::max(second, l[v]);
        r.ids.push_back(best);
        r.margins.push_back(l[best] - second);
        if (best == 8183 || best == 8191) break;  // the demo's end ids
        int32_t t = best;
        tf.forward(&t, 1, tf.cache.n, nullptr, true, {0}, {}, out);
        tf.cache.n++;
    }
    return r;
}

// Index of the first step whose margin is below eps (a near tie that rounding may flip), or n.
template <typename V>
size_t first_tie(const V& margins, double eps) {
    for (size_t i = 0; i < margins.size(); i++)
        if (margins[i] < eps) return i;
    return margins.size();
}

}  // namespace

TEST(model_golden_greedy_on_cuda) {
    auto prompts = load_golden();
    auto models = demo_models();
    CHECK_MSG(!models.empty(), "no demo model found under " << th::models_dir() << " or resources/");
    bool have_f16 = false;
    for (const auto& dm : models) {
        // Q8_0 (and BF16 made from it) legitimately leave the float32 reference: see below
        if (dm.label == "q8_0" || dm.label == "bf16") continue;
        have_f16 = true;
        auto m = load_demo(dm);
        for (const auto& g : prompts) {
            auto r = run_greedy(m, tg::cuda(), g.prompt, (int)g.greedy.size());
            size_t n = std::min({first_tie(g.margins, 0.01), g.greedy.size(), r.ids.size() + 1});
            for (size_t i = 0; i < n; i++)
                CHECK_MSG(i < r.ids.size() && r.ids[i] == g.greedy[i],
                          dm.label << " " << g.name << " step " << i << ": cuda " << (i < r.ids.size() ? r.ids[i] : -1)
                                   << ", golden " << g.greedy[i]);
        }
    }
    if (!have_f16)
        std::printf("  note: only the Q8_0 demo model is here; golden ids are covered by model_cuda_matches_cpu\n");
}

// CUDA against the CPU backend on every demo model present: logits at the last prompt position,
// and greedy ids up to the first near tie.
TEST(model_cuda_matches_cpu) {
    auto prompts = load_golden();
    auto cpu = backend_create("cpu", 0);
    for (const auto& dm : demo_models()) {
        auto m = load_demo(dm);
        for (const auto& g : prompts) {
            int n_gen = std::min<int>(24, (int)g.greedy.size());
            auto a = run_greedy(m, *cpu, g.prompt, n_gen);
            auto b = run_greedy(m, tg::cuda(), g.prompt, n_gen);
            double e = tu::nmse(b.first_logits, a.first_logits);
            CHECK_MSG(e < logits_tolerance(dm), dm.label << " " << g.name << " logits nmse " << e << " max diff "
                                         << tu::max_abs_diff(b.first_logits, a.first_logits));
            size_t n = std::min({first_tie(a.margins, 1e-3), a.ids.size(), b.ids.size()});
            for (size_t i = 0; i < n; i++)
                CHECK_MSG(a.ids[i] == b.ids[i], dm.label << " " << g.name << " step " << i << ": cpu " << a.ids[i]
                                                         << ", cuda " << b.ids[i]);
        }
        // A long prompt takes the prefill GEMM and several attention query groups.
        std::vector<int32_t> longp;
        while (longp.size() < 200)
            for (const auto& g : prompts) longp.insert(longp.end(), g.prompt.begin(), g.prompt.end());
        longp.resize(200);
        auto a = run_greedy(m, *cpu, longp, 4);
        auto b = run_greedy(m, tg::cuda(), longp, 4);
        double e = tu::nmse(b.first_logits, a.first_logits);
        CHECK_MSG(e < logits_tolerance(dm), dm.label << " 200-token prefill logits nmse " << e);
    }
}

// The lossless invariant on the GPU: logits of a verify batch equal those of decoding one token at a
// time, bit for bit, with and without skipped layers; the DP's candidate batch equals each candidate
// run alone; drafting, truncating and recomputing leaves the cache that never drafting would.
TEST(model_verify_equals_decode_on_cuda) {
    auto prompts = load_golden();
    auto& be = tg::cuda();
    for (const auto& dm : demo_models()) {
        auto m = load_demo(dm);
        const int V = m->cfg.n_vocab, L = m->cfg.n_layer, d = m->cfg.n_embd;
        const auto& g = prompts.front();
        const int P = (int)g.prompt.size();
        std::vector<uint8_t> none(L, 0), half(L, 0), most(L, 1);
        for (int l = L / 4; l < L / 4 + L / 2; l++) half[l] = 1;
        most[0] = 0;
        // (skip mask, batch size): 40 tokens take the skinny kernel's two-tile path.
        const std::vector<std::pair<const std::vector<uint8_t>*, int>> cases = {
            {&none, 12}, {&half, 12}, {&most, 12}, {&none, 40}};
        for (const auto& [skip, K] : cases) {
            transformer tf(m, be, P + K + 8);
            forward_out out;
            tf.forward(g.prompt.data(), P, 0, nullptr, true, {P - 1}, {}, out);
            tf.cache.n = P;
            // Decode K tokens one by one (greedy under this skip mask), keeping each step's logits.
            std::vector<int32_t> toks;
            std::vector<float> step_logits;
            int next = (int)(std::max_element(out.logits.begin(), out.logits.end()) - out.logits.begin());
            for (int k = 0; k < K; k++) {
                int32_t t = next;
                toks.push_back(t);
                tf.forward(&t, 1, P + k, skip->data(), true, {0}, {}, out);
                step_logits.insert(step_logits.end(), out.logits.begin(), out.logits.end());
                next = (int)(std::max_element(out.logits.begin(), out.logits.end()) - out.logits.begin());
            }
            // The same tokens as one batch at the same positions.
            std::vector<int> rows(K);
            for (int i = 0; i < K; i++) rows[i] = i;
            tf.forward(toks.data(), K, P, skip->data(), true, rows, {}, out);
            for (int i = 0; i < K; i++)
                CHECK_MSG(tg::same_bits(out.logits.data() + (size_t)i * V, step_logits.data() + (size_t)i * V, V),
                          dm.label << " skip " << std::count(skip->begin(), skip->end(), 1) << " K=" << K
                                   << " token " << i);
        }
        {
            // DP candidates: a batch of n states at one position equals each state alone.
            transformer tf(m, be, P + 8);
            forward_out out;
            tf.forward(g.prompt.data(), P, 0, nullptr, true, {}, {P - 1}, out);
            tf.cache.n = P;
            const int n = 9;
            auto states = tu::randv((size_t)n * d, 77);
            std::vector<float> batch((size_t)n * d), one(d);
            for (int il : {0, L / 2, L - 1}) {
                tf.layer_candidates(il, states.data(), n, P - 1, batch.data());
                for (int i = 0; i < n; i++) {
                    tf.layer_candidates(il, states.data() + (size_t)i * d, 1, P - 1, one.data());
                    CHECK_MSG(tg::same_bits(one.data(), batch.data() + (size_t)i * d, d),
                              dm.label << " layer " << il << " candidate " << i);
                }
            }
        }
        {
            // Draft (skipping layers, writing scratch K/V), reject, truncate, recompute.
            transformer a(m, be, P + 16), b(m, be, P + 16);
            forward_out oa, ob;
            std::vector<int32_t> cont = {11, 12, 13};
            for (transformer* tf : {&a, &b}) {
                tf->forward(g.prompt.data(), P, 0, nullptr, true, {P - 1}, {}, oa);
                tf->cache.n = P;
            }
            for (int k = 0; k < 5; k++) {
                int32_t t = 100 + k;
                b.forward(&t, 1, P + k, half.data(), true, {0}, {}, ob);
            }
            b.cache.truncate(P);
            a.forward(cont.data(), 3, P, nullptr, true, {0, 1, 2}, {}, oa);
            b.forward(cont.data(), 3, P, nullptr, true, {0, 1, 2}, {}, ob);
            CHECK_MSG(oa.logits == ob.logits, dm.label << ": recomputing after a rejected draft changed the logits");
        }
    }
}

TEST(model_backend_errors_are_clear) {
    // A model whose weights cannot fit is refused before anything is uploaded, naming both sizes.
    auto models = demo_models();
    CHECK(!models.empty());
    if (models.empty()) return;
    auto m = std::make_shared<llama_model>(*load_demo(models.front()));
    static std::vector<uint8_t> tiny(64);
    m->path = "huge.gguf";
    m->tok_embd.data = tiny.data();
    m->tok_embd.type = dtype::F32;
    m->tok_embd.n_out = (int64_t)1 << 26;
    m->tok_embd.n_in = (int64_t)1 << 16;  // 16 TiB as F32
    CHECK_THROWS(tg::cuda().prepare(*m), "of GPU memory, but only");
}

// The DP's candidate batches must stay within the batch-invariant kernel: up to SKINNY_MAX_T = 80
// states they do (and equal each state alone); beyond, the backend refuses rather than compare
// candidates computed by different kernels (a model of 80+ layers could ask for that many).
TEST(model_dp_batch_limit_on_cuda) {
    auto models = demo_models();
    CHECK(!models.empty());
    if (models.empty()) return;
    auto m = load_demo(models.front());
    const int d = m->cfg.n_embd;
    auto prompt = load_golden().front().prompt;
    const int P = (int)prompt.size();
    transformer tf(m, tg::cuda(), P + 8);
    forward_out out;
    tf.forward(prompt.data(), P, 0, nullptr, true, {P - 1}, {}, out);
    tf.cache.n = P;
    auto states = tu::randv((size_t)81 * d, 5);
    std::vector<float> batch((size_t)81 * d), one(d);
    tf.layer_candidates(1, states.data(), 80, P - 1, batch.data());
    for (int i : {0, 41, 79}) {
        tf.layer_candidates(1, states.data() + (size_t)i * d, 1, P - 1, one.data());
        CHECK_MSG(tg::same_bits(one.data(), batch.data() + (size_t)i * d, d), "80 candidates: candidate " << i);
    }
    CHECK_THROWS(tf.layer_candidates(1, states.data(), 81, P - 1, batch.data()), "batch-invariant limit of 80");
}
