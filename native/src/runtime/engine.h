// The engine: one loaded model on one backend, with its KV cache, generating from token ids.
// Everything above it (tokenizer, templates, UI) lives in TypeScript; it sees token ids only.
#pragma once
#include "../backend/backend.h"
#include "../spec/cost_table.h"
#include "../spec/policy.h"
#include "logprobs.h"
#include "sampler.h"
#include "transformer.h"
#include <atomic>
#include <functional>
#include <map>
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
    std::string policy_dir;        // where the cost table and acceptance memory are kept across processes; empty: nowhere
    kv_type kv = kv_type::f32;     // the KV cache's element type (F32 is faster on the demo: docs/PERF.md)
};

struct gen_params {
    int max_tokens = 128;
    sampling_params sampling;
    bool ignore_eos = false;
    std::string mode = "ar";  // ar | clasp | static
    int skip = -1;            // M; -1: chosen by the policy
    float skip_ratio = -1;    // when >= 0: M = round(ratio * L)
    float det = -1;           // draft exit threshold on the chain's confidence; -1: from the cost table
    int max_draft = 12;
    int loi = 0;              // verify rounds between DP runs; 0: the smallest with a DP share <= 5%
    bool dp_table = false;    // include the DP's D(i, j) table in round events
    bool force_speculation = false;  // "try it anyway": speculate this reply whatever the policy predicts (skip auto)
    // Non-empty: draft with exactly these layers skipped for the whole reply (mode static only, skip
    // and skip_ratio unset). Always honoured: no DP, no policy memory read or written.
    std::vector<int> skip_layers;
    // Report each generated token's log-probability and those of the n_logprobs most likely tokens
    // (logprobs.h), 1 to MAX_LOGPROBS; 0: off, and nothing is computed.
    int n_logprobs = 0;
};

struct dp_event {
    int target_pos = 0;
    double ms = 0;
    std::vector<float> path_cosine;   // (L+1)
    std::vector<float> layer_cosine;  // (L+1), index 0 unused (NaN)
    std::vector<float> table;         // (L+1) x (M+1), NaN where j > i; empty unless asked
    int M = 0;
    bool given = false;               // the path of a given skip set (gen_params::skip_layers), not a DP's choice
};

// How a generated token came about. The first token (from the prefill) and plain steps are 'plain'.
enum class token_fate { plain, accepted, correction, bonus };
const char* fate_name(token_fate f);

// A policy decision, at the start of a reply and at every change: what, why, and the costs behind it.
struct policy_event {
    int pos = 0;  // the position of the next token decoded under it
    decision d;
};

// Positions [pos, pos + n) were decoded plainly inside a speculative generation (for `reason`).
struct plain_event {
    int pos = 0, n = 0;
    std::string reason;
};

struct round_event {
    int index = 0;
    int pos = 0;
    std::vector<int> skip;
    float det = 0;             // the DET in force
    std::string stop;          // why drafting stopped: det (chain confidence), length (k drafted), eos, budget (max_tokens or context)
    std::optional<dp_event> dp;
    std::vector<int> draft_ids;
    std::vector<float> draft_q, draft_top1;
    double draft_ms = 0;
    int accepted = 0;
    std::vector<float> verify_p;
    int next_id = -1;
    double verify_ms = 0;
    std::optional<policy_event> policy;  // a change of plan decided right after this round
};

// A stretch of a reply's tokens [from, from + n) decoded under one plan, counting from the first
// generated token (0, which the prefill gives and belongs to the first stretch).
struct plan_stretch {
    int from = 0, n = 0;
    decision d;  // the plan's figures and reason when it was adopted
};

struct gen_stats {
    std::string mode, backend, backend_reason, policy;
    int n_prompt = 0, n_generated = 0, n_reused = 0;
    double prefill_ms = 0, decode_ms = 0, ttft_ms = 0, tokens_per_s = 0;
    // speculative only
    int rounds = 0, drafted = 0, accepted = 0, dp_runs = 0;
    double calibration_ms = 0;
    double dp_ms = 0, mean_accepted_length = 0, acceptance_rate = 0;
    double draft_ms = 0, verify_ms = 0, plain_ms = 0;  // decoding time in drafts, verify passes, plain steps
    std::vector<plan_stretch> stretches;               // the plans the reply ran under, in order
    spec_record earlier;             // this mode's speculation measured on earlier replies (before this one)
    int plain_steps = 0;             // tokens decoded plainly by the policy (after the first)
    double plain_tokens_per_s = 0;   // the plain decoding rate on this machine: 1000 / c1 of the cost table
    double speedup = 0;              // measured: (n_generated - 1) * c1 / decode_ms
    double predicted_speedup = 0;    // the policy's prediction when the reply started (1 when it started plain)
    double costed_speedup = 0;       // the cost table's price of the work actually done, as a speed-up
    std::string reason;              // why speculation was on or off when the reply ended
    bool fallback = false;           // part of the reply was decoded plainly by the policy
    int final_M = 0, loi = 0;
    float det = 0;
    cost_table costs;                // the table the decisions came from
};

struct gen_result {
    std::vector<int> ids;
    std::vector<token_logprobs> logprobs;  // one per id when gen_params::n_logprobs > 0, else empty
    std::string finish_reason;  // stop | length | cancelled
    gen_stats stats;
};

struct gen_callbacks {
    // lp: the token's log-probabilities when gen_params::n_logprobs > 0, else null (valid during the call only)
    std::function<void(int id, token_fate fate, const token_logprobs* lp)> on_token;
    std::function<void(const round_event&)> on_round;
    std::function<void(const plain_event&)> on_plain;
    std::function<void(const policy_event&)> on_policy;
    const std::atomic<bool>* cancel = nullptr;
};

struct engine {
    std::shared_ptr<llama_model> model;
    std::unique_ptr<backend> be;
    std::unique_ptr<transformer> tf;
    std::string backend_reason;
    std::mutex busy;
    // Acceptance counted per mode ("clasp", "static"; an explicit skip count in "clasp-fixed",
    // "static-fixed") on this model, across replies.
    std::map<std::string, policy_memory> memory;
    // Where memory and the cost table are kept across processes (empty: nowhere), and why a kept
    // file was not used or could not be written (empty: no problem).
    std::string policy_file, policy_warning;
    bool policy_loaded = false;  // memory and costs came from policy_file

    // The cost table on this backend, measured on first use (scratch positions after the cache) and
    // then kept; a call asking for longer verifies than measured measures again.
    const cost_table& costs(int max_T = 17);
    // Uses a table measured earlier (or a synthetic one, in tests) instead of measuring.
    void set_costs(cost_table c) { costs_ = std::move(c); }
    const std::vector<int>& cached() const { return tf->cache.tokens; }
    // Writes memory and the cost table to policy_file (a failure goes to policy_warning).
    void save_learned();
    // Forgets what was learned on this model and machine: every mode's acceptance memory and the
    // cost table (measured again at the next speculative reply), and the kept file.
    void forget();

    explicit engine(const engine_options& o);

    int n_ctx() const { return tf->cache.n_ctx; }
    // The weights' bytes in memory: the file's pages this process holds, plus the backend's host copies.
    uint64_t resident_bytes() const { return model->resident_bytes() + be->weight_copy_bytes(); }
    bool is_eos(int id) const;
    // Runs the prompt (reusing the longest cached prefix) and returns its last position's logits.
    void prefill(const std::vector<int>& prompt, std::vector<float>& last_logits, std::vector<float>* last_hidden,
                 gen_stats& st);
    gen_result generate(const std::vector<int>& prompt, const gen_params& p, const gen_callbacks& cb);
    // Drops cached tokens from n on (keeps the first n).
    void truncate(int n);
    // The key the policy's memory is kept under (empty: not kept): the model file, the backend's
    // description and the KV cache's type (policy_store.h).
    const std::string& policy_key() const { return policy_key_; }

private:
    cost_table costs_;
    std::string policy_key_;
};

double now_ms();

// Records token id in r (and its log-probabilities from `logits`, the full model's row at its
// position, when p asks for them) and returns those, or null when off.
const token_logprobs* record_token(gen_result& r, const gen_params& p, const float* logits, int n_vocab, int id);

}  // namespace clasp
