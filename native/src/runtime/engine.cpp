#include "engine.h"
#include "../core/error.h"
#include "../spec/policy_store.h"
#include "../spec/speculative.h"
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

namespace clasp {

double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

static int default_threads() {
    // Hyper-threads share the FMA units, so count physical cores: assume 2-way SMT above 4 threads.
    unsigned hc = std::thread::hardware_concurrency();
    if (hc == 0) return 1;
    return hc > 4 ? (int)hc / 2 : (int)hc;
}

engine::engine(const engine_options& o) {
    model = llama_load(o.model_path);
    std::string kind = o.backend;
    int threads = o.threads > 0 ? o.threads : default_threads();
    if (kind == "auto") {
        std::string why;
        if (cuda_available(why)) {
            kind = "cuda";
        } else {
            kind = "cpu";
            backend_reason = why;
        }
    } else if (kind != "cpu" && kind != "cuda" && kind != "ref") {
        fail("unknown backend '" + kind + "' (expected auto, cpu, cuda or ref)");
    }
    if (o.backend == "auto" && kind == "cuda") {
        // A usable driver and device, yet the backend may still fail (no memory for the weights):
        // fall back to the CPU and say why.
        try {
            be = backend_create("cuda", threads);
        } catch (const engine_error& err) {
            backend_reason = std::string("CUDA failed: ") + err.what();
            kind = "cpu";
        }
    }
    if (!be) be = backend_create(kind, threads);
    int n_ctx = o.n_ctx > 0 ? o.n_ctx : std::min(model->cfg.n_ctx_train > 0 ? model->cfg.n_ctx_train : 4096, 8192);
    if (n_ctx < 8 || n_ctx > 1 << 20) fail("context size " + std::to_string(n_ctx) + " is out of range");
    try {
        tf = std::make_unique<transformer>(model, *be, n_ctx, o.kv);  // uploads the weights on a GPU
    } catch (const engine_error& err) {
        if (o.backend != "auto" || be->name() != "cuda") throw;
        backend_reason = std::string("CUDA failed: ") + err.what();
        be = backend_create("cpu", threads);
        tf = std::make_unique<transformer>(model, *be, n_ctx, o.kv);
    }
    if (!o.policy_dir.empty()) {
        // The KV cache's type changes what attention costs, so it is part of the key too.
        policy_key_ = policy_store::key(o.model_path, be->device_info() + ", kv " + kv_type_name(o.kv));
        policy_file = policy_store::file_for(o.policy_dir, policy_key_);
        learned l;
        if (policy_store::load(policy_file, policy_key_, model->cfg.n_layer, l, policy_warning)) {
            if (l.costs.measured) costs_ = std::move(l.costs);
            memory = std::move(l.memory);
            policy_loaded = true;
        }
    }
}

void engine::save_learned() {
    if (policy_file.empty()) return;
    try {
        policy_store::save(policy_file, policy_key_, learned{costs_, memory});
    } catch (const std::exception& e) {
        policy_warning = std::string("could not keep the policy memory: ") + e.what();
    }
}

void engine::forget() {
    memory.clear();
    costs_ = cost_table{};
    policy_loaded = false;
    if (policy_file.empty()) return;
    std::error_code ec;
    std::filesystem::remove(policy_file, ec);
    if (ec) policy_warning = "could not remove " + policy_file + ": " + ec.message();
}

bool engine::is_eos(int id) const {
    const auto& e = model->cfg.eos_ids;
    return std::find(e.begin(), e.end(), id) != e.end();
}

const char* fate_name(token_fate f) {
    switch (f) {
        case token_fate::accepted: return "accepted";
        case token_fate::correction: return "correction";
        case token_fate::bonus: return "bonus";
        default: return "plain";
    }
}

const cost_table& engine::costs(int max_T) {
    // A longer verify than measured is extrapolated: re-measuring would change later decisions.
    if (!costs_.measured) costs_ = measure_costs(*tf, max_T);
    return costs_;
}

void engine::truncate(int n) { tf->cache.truncate(std::max(0, std::min(n, tf->cache.n))); }

void engine::prefill(const std::vector<int>& prompt, std::vector<float>& last_logits, std::vector<float>* last_hidden,
                     gen_stats& st) {
    const int n = (int)prompt.size();
    if (n == 0) fail("the prompt is empty");
    if (n > n_ctx())
        fail("the prompt has " + std::to_string(n) + " tokens, more than the context of " + std::to_string(n_ctx()));
    int V = model->cfg.n_vocab;
    for (int id : prompt)
        if (id < 0 || id >= V)
            fail("token id " + std::to_string(id) + " is outside the vocabulary (0 to " + std::to_string(V - 1) + ")");
    // Reuse the cached prefix, but always run at least the last prompt token to get its logits.
    const std::vector<int>& cached = tf->cache.tokens;
    int common = 0;
    while (common < (int)cached.size() && common < n - 1 && cached[common] == prompt[common]) common++;
    truncate(common);
    st.n_reused = common;
    double t0 = now_ms();
    forward_out out;
    int T = n - common;
    std::vector<int32_t> ids(prompt.begin() + common, prompt.end());
    std::vector<int> hid;
    if (last_hidden) hid.push_back(T - 1);
    // Long prompts go through in chunks so the scratch buffers stay small.
    const int chunk = 256;
    for (int b = 0; b < T; b += chunk) {
        int e = std::min(T, b + chunk);
        std::vector<int> lr, hr;
        if (e == T) { lr.push_back(e - b - 1); if (last_hidden) hr.push_back(e - b - 1); }
        tf->forward(ids.data() + b, e - b, common + b, nullptr, true, lr, hr, out);
        tf->cache.append(ids.data() + b, e - b);
    }
    last_logits = std::move(out.logits);
    if (last_hidden) *last_hidden = std::move(out.hidden);
    st.prefill_ms = now_ms() - t0;
}

const token_logprobs* record_token(gen_result& r, const gen_params& p, const float* logits, int n_vocab, int id) {
    r.ids.push_back(id);
    if (p.n_logprobs <= 0) return nullptr;
    r.logprobs.push_back(logprobs_of(logits, n_vocab, id, p.n_logprobs));
    return &r.logprobs.back();
}

gen_result engine::generate(const std::vector<int>& prompt, const gen_params& p, const gen_callbacks& cb) {
    std::lock_guard<std::mutex> lk(busy);
    if (p.max_tokens < 0) fail("max_tokens must be >= 0");
    if (p.n_logprobs < 0 || p.n_logprobs > MAX_LOGPROBS)
        fail("logprobs must be between 0 (off) and " + std::to_string(MAX_LOGPROBS) + " (got " + std::to_string(p.n_logprobs) + ")");
    if (p.mode == "clasp" || p.mode == "static") {
        gen_result r = speculative_generate(*this, prompt, p, cb);
        save_learned();
        return r;
    }
    if (p.mode != "ar") fail("unknown mode '" + p.mode + "' (expected ar, clasp or static)");
    if (!p.skip_layers.empty()) fail("skip layers need mode static (a given skip set is kept for the whole reply), not ar");

    gen_result res;
    gen_stats& st = res.stats;
    st.mode = "ar";
    st.backend = be->name();
    st.backend_reason = backend_reason;
    st.n_prompt = (int)prompt.size();
    double t_start = now_ms();
    std::vector<float> logits, scratch;
    prefill(prompt, logits, nullptr, st);
    rng r(p.sampling.seed);
    const int V = model->cfg.n_vocab;
    double t_dec = now_ms();
    res.finish_reason = "length";
    forward_out out;
    while ((int)res.ids.size() < p.max_tokens) {
        if (cb.cancel && cb.cancel->load()) { res.finish_reason = "cancelled"; break; }
        int id = sample_token(logits.data(), V, p.sampling, r, scratch);
        const token_logprobs* lp = record_token(res, p, logits.data(), V, id);
        if (res.ids.size() == 1) st.ttft_ms = now_ms() - t_start;
        if (cb.on_token) cb.on_token(id, token_fate::plain, lp);
        if (!p.ignore_eos && is_eos(id)) { res.finish_reason = "stop"; break; }
        if ((int)res.ids.size() >= p.max_tokens) break;
        int n_past = tf->cache.n;
        if (n_past >= n_ctx()) { res.finish_reason = "length"; break; }
        int32_t t = id;
        tf->forward(&t, 1, n_past, nullptr, true, {0}, {}, out);
        tf->cache.append(id);
        logits.swap(out.logits);
    }
    st.n_generated = (int)res.ids.size();
    st.decode_ms = now_ms() - t_dec;
    st.tokens_per_s = st.decode_ms > 0 ? st.n_generated / (st.decode_ms / 1000.0) : 0;
    return res;
}

}  // namespace clasp
