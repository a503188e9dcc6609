// The engine: one loaded model on one backend, with its KV cache, generating from token ids.
// Everything above it (tokenizer, templates, UI) lives in TypeScript; it sees token ids only.
#pragma once
#include "../backend/backend.h"
#include "../spec/adaptive_policy.h"
#include "sampler.h"
#include "transformer.h"
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace clasp {

struct engine_options {
    std::string model_path;
    std::string backend = "auto";  // auto | cpu | cuda | ref
    int threads = 0;               // 0: the physical cores
    int n_ctx = 0;                 // 0: the model's training context, at most 8192
};

struct gen_params {
    int max_tokens = 128;
    sampling_params sampling;
    bool ignore_eos = false;
    std::string mode = "ar";  // ar | clasp | static
    int skip = -1;            // M; -1: auto (adaptive policy)
    float skip_ratio = -1;    // when >= 0: M = round(ratio * L)
    float det = 0.7f;
    int max_draft = 12;
    int loi = 4;
    bool dp_table = false;    // include the DP's D(i, j) table in round events
};

struct dp_event {
    int target_pos = 0;
    double ms = 0;
    std::vector<float> path_cosine;   // (L+1)
    std::vector<float> layer_cosine;  // (L+1), index 0 unused (NaN)
    std::vector<float> table;         // (L+1) x (M+1), NaN where j > i; empty unless asked
    int M = 0;
};

struct round_event {
    int index = 0;
    int pos = 0;
    std::vector<int> skip;
    std::optional<dp_event> dp;
    std::vector<int> draft_ids;
    std::vector<float> draft_q, draft_top1;
    double draft_ms = 0;
    int accepted = 0;
    std::vector<float> verify_p;
    int next_id = -1;
    double verify_ms = 0;
    bool policy_changed = false;
    int policy_M = 0;
    float policy_det = 0;
    std::string policy_reason;
};

struct gen_stats {
    std::string mode, backend, backend_reason, policy;
    int n_prompt = 0, n_generated = 0, n_reused = 0;
    double prefill_ms = 0, decode_ms = 0, ttft_ms = 0, tokens_per_s = 0;
    // speculative only
    int rounds = 0, drafted = 0, accepted = 0, dp_runs = 0;
    double calibration_ms = 0;
    double dp_ms = 0, mean_accepted_length = 0, acceptance_rate = 0, cost_model_speedup = 0;
    bool fallback = false;
    int final_M = 0;
};

struct gen_result {
    std::vector<int> ids;
    std::string finish_reason;  // stop | length | cancelled
    gen_stats stats;
};

struct gen_callbacks {
    std::function<void(int id)> on_token;
    std::function<void(const round_event&)> on_round;
    const std::atomic<bool>* cancel = nullptr;
};

struct engine {
    std::shared_ptr<llama_model> model;
    std::unique_ptr<backend> be;
    std::unique_ptr<transformer> tf;
    std::string backend_reason;
    std::vector<int> cached;  // the tokens whose K/V are in the cache, in order
    std::mutex busy;
    clasp::policy_memory learned;  // what --skip auto learned about this model

    // Full-pass costs on this backend, measured on first use (scratch positions after the cache).
    step_costs& costs(int max_T = 17);

    explicit engine(const engine_options& o);

    int n_ctx() const { return tf->cache.n_ctx; }
    bool is_eos(int id) const;
    // Runs the prompt (reusing the longest cached prefix) and returns its last position's logits.
    void prefill(const std::vector<int>& prompt, std::vector<float>& last_logits, std::vector<float>* last_hidden,
                 gen_stats& st);
    gen_result generate(const std::vector<int>& prompt, const gen_params& p, const gen_callbacks& cb);
    // Drops cached tokens from n on (keeps the first n).
    void truncate(int n);

private:
    step_costs costs_;
};

double now_ms();

}  // namespace clasp
