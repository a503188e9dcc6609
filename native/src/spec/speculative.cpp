// The CLaSp decode loop (DESIGN.md "CLaSp: the decisions" 4-6). Each round drafts with the current
// skip set, verifies the round's input token plus all drafts in one full pass, accepts (greedy
// prefix match, or lossless speculative sampling), truncates the cache to what was accepted, and
// re-runs the DP every LOI rounds on the last verified position's hidden states.
#include "speculative.h"
#include "../core/error.h"
#include "accept.h"
#include "adaptive_policy.h"
#include "dp_solver.h"
#include <algorithm>
#include <cmath>

namespace clasp {
namespace {

// Softmax top-1 probability and the probability of token `id` at temperature 1: what DET and the
// trace's q/p mean under greedy decoding, where the warped distribution is one-hot.
void plain_probs(const float* logits, int n, int id, float& p_id, float& top1) {
    float mx = logits[0];
    for (int i = 1; i < n; i++) mx = std::max(mx, logits[i]);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += std::exp((double)(logits[i] - mx));
    p_id = (float)(std::exp((double)(logits[id] - mx)) / sum);
    top1 = (float)(1.0 / sum);
}

int resolve_M(const gen_params& p, int L) {
    if (p.skip >= 0) {
        if (p.skip >= L) fail("--skip " + std::to_string(p.skip) + " must be below the layer count (" + std::to_string(L) + ")");
        return p.skip;
    }
    if (p.skip_ratio >= 0) {
        if (p.skip_ratio >= 1) fail("--skip-ratio must be below 1");
        return std::min(L - 1, (int)std::lround(p.skip_ratio * L));
    }
    return -1;  // auto
}

}  // namespace

gen_result speculative_generate(engine& e, const std::vector<int>& prompt, const gen_params& p, const gen_callbacks& cb) {
    transformer& tf = *e.tf;
    const llama_config& c = e.model->cfg;
    const int L = c.n_layer, V = c.n_vocab, d = c.n_embd;
    if (p.max_draft < 1 || p.max_draft > 64) fail("max_draft must be between 1 and 64");
    if (p.loi < 1) fail("loi must be >= 1");
    if (!(p.det >= 0 && p.det <= 1)) fail("det must be between 0 and 1");
    const bool is_static = p.mode == "static";
    const int fixed_M = resolve_M(p, L);

    gen_result res;
    gen_stats& st = res.stats;
    st.mode = p.mode;
    st.backend = e.be->name();
    st.backend_reason = e.backend_reason;
    st.n_prompt = (int)prompt.size();
    st.policy = fixed_M >= 0 ? "fixed" : "auto";
    const double t_start = now_ms();

    std::vector<float> logits, hidden;
    e.prefill(prompt, logits, &hidden, st);
    // Measured once per engine (full passes of 1..17 tokens, and the head alone); a one-time cost
    // reported apart from decoding.
    double t_cal = now_ms();
    step_costs& costs = e.costs(std::max(17, p.max_draft + 1));
    st.calibration_ms = now_ms() - t_cal;
    const double t_dec = now_ms();
    adaptive_policy policy(L, costs, fixed_M, p.det, is_static, e.learned);

    // A DP and a few rounds cost several plain steps: too short a reply cannot pay them back.
    if (fixed_M < 0 && p.max_tokens < 16) policy.stop("plain decoding: fewer than 16 tokens requested");
    rng r(p.sampling.seed);
    std::vector<float> q_probs, p_probs, scratch;
    int M = policy.M();
    std::vector<uint8_t> skip(L, 0);
    std::vector<int> skip_list;
    int target_pos = (int)prompt.size() - 1;  // the DP target: the last position a full pass computed
    int rounds_since_dp = 0;
    bool dp_due = M > 0;
    double pred_ms = 0;  // what the cost model says the spent work costs

    auto run_dp = [&](const float* h, int pos, round_event& ev) {
        double t0 = now_ms();
        auto layer = [&](int il, const float* in, int n, float* out) { tf.layer_candidates(il, in, n, pos, out); };
        dp_result dr = dp_solve(h, L, d, M, layer, p.dp_table);
        double ms = now_ms() - t0;
        skip = dr.skip;
        skip_list.clear();
        for (int l = 0; l < L; l++) if (skip[l]) skip_list.push_back(l);
        dp_event de;
        de.target_pos = pos;
        de.ms = ms;
        de.M = M;
        de.path_cosine = dr.path_cosine;
        de.layer_cosine = dr.layer_cosine;
        de.table = std::move(dr.table);
        ev.dp = std::move(de);
        st.dp_runs++;
        st.dp_ms += ms;
        policy.on_dp(ms);
        policy.on_dp_ran();
        pred_ms += ms;
        rounds_since_dp = 0;
    };

    // The first token comes from the prefill's logits, exactly as in plain decoding.
    res.finish_reason = "length";
    auto emit = [&](int id) -> bool {  // false: stop generating
        res.ids.push_back(id);
        if (res.ids.size() == 1) st.ttft_ms = now_ms() - t_start;
        if (cb.on_token) cb.on_token(id);
        if (!p.ignore_eos && e.is_eos(id)) { res.finish_reason = "stop"; return false; }
        return (int)res.ids.size() < p.max_tokens;
    };
    bool going = p.max_tokens > 0;
    int x = -1;
    if (going) {
        x = sample_token(logits.data(), V, p.sampling, r, scratch);
        going = emit(x);
    }
    round_event pending_dp_event;  // a DP that ran before its round's draft
    bool have_pending = false;
    if (going && dp_due && M > 0 && policy.speculating()) {
        run_dp(hidden.data(), target_pos, pending_dp_event);
        have_pending = true;
    }

    forward_out out;
    int round_index = 0;
    while (going) {
        if (cb.cancel && cb.cancel->load()) { res.finish_reason = "cancelled"; break; }
        const int n = (int)e.cached.size();  // x goes at position n
        if (n >= e.n_ctx()) { res.finish_reason = "length"; break; }
        const int remaining = p.max_tokens - (int)res.ids.size();

        // Plain decoding when the policy has switched speculation off (or M is 0).
        if (!policy.speculating() || M == 0) {
            const bool probe = policy.wants_probe();  // periodically re-test whether speculation pays
            double t0 = now_ms();
            int32_t t = x;
            tf.forward(&t, 1, n, nullptr, true, {0}, probe ? std::vector<int>{0} : std::vector<int>{}, out);
            tf.cache.n = n + 1;
            e.cached.push_back(x);
            x = sample_token(out.logits.data(), V, p.sampling, r, scratch);
            pred_ms += costs.step_ms(1);
            costs.observe(1, now_ms() - t0);
            policy.on_plain_step(now_ms() - t0);
            going = emit(x);
            if (probe && going) {
                M = policy.M();
                if (M > 0) {
                    run_dp(out.hidden.data(), n, pending_dp_event);
                    pending_dp_event.policy_changed = true;
                    have_pending = true;
                }
            }
            continue;
        }

        round_event ev;
        if (have_pending) {
            ev.dp = std::move(pending_dp_event.dp);
            pending_dp_event = round_event{};
            have_pending = false;
        }
        ev.index = round_index++;
        ev.pos = n;
        ev.skip = skip_list;

        // ---- draft
        const float det = policy.det();
        int max_k = std::min({policy.max_draft(p.max_draft), remaining - 1, e.n_ctx() - n - 1});
        double t0 = now_ms();
        int tok = x;
        for (int k = 0; k < max_k; k++) {
            int32_t t = tok;
            tf.forward(&t, 1, n + k, skip.data(), true, {0}, {}, out);  // scratch K/V at kept layers
            int dtok;
            float q_tok, top1;
            if (p.sampling.greedy()) {
                dtok = argmax(out.logits.data(), V);
                plain_probs(out.logits.data(), V, dtok, q_tok, top1);
                q_probs.clear();
            } else {
                warp_probs(out.logits.data(), V, p.sampling, scratch);
                dtok = sample_probs(scratch, r);
                q_tok = scratch[dtok];
                top1 = *std::max_element(scratch.begin(), scratch.end());
                // Keep q for the acceptance test: (k+1) rows of V.
                q_probs.resize((size_t)(k + 1) * V);
                std::copy(scratch.begin(), scratch.end(), q_probs.begin() + (size_t)k * V);
            }
            ev.draft_ids.push_back(dtok);
            ev.draft_q.push_back(q_tok);
            ev.draft_top1.push_back(top1);
            tok = dtok;
            if (top1 < det) break;  // kept and verified, but no more drafting
            if (!p.ignore_eos && e.is_eos(dtok)) break;
        }
        const int k_drafted = (int)ev.draft_ids.size();
        ev.draft_ms = now_ms() - t0;
        pred_ms += k_drafted * costs.draft_ms((int)skip_list.size(), L);

        // ---- verify: x and every draft, in one full pass that writes the persistent cache
        t0 = now_ms();
        std::vector<int32_t> vin;
        vin.push_back(x);
        for (int id : ev.draft_ids) vin.push_back(id);
        const int T = (int)vin.size();
        std::vector<int> rows(T);
        for (int i = 0; i < T; i++) rows[i] = i;
        const bool dp_next = !is_static && policy.speculating() && (rounds_since_dp + 1 >= p.loi || policy.M_changed());
        tf.forward(vin.data(), T, n, nullptr, true, rows, dp_next ? rows : std::vector<int>{}, out);
        int a = 0, next = -1;
        if (p.sampling.greedy()) {
            for (; a < k_drafted; a++) {
                int want = argmax(out.logits.data() + (size_t)a * V, V);
                float pp, t1;
                plain_probs(out.logits.data() + (size_t)a * V, V, ev.draft_ids[a], pp, t1);
                ev.verify_p.push_back(pp);
                if (want != ev.draft_ids[a]) break;
            }
            for (int i = (int)ev.verify_p.size(); i < k_drafted; i++) {
                float pp, t1;
                plain_probs(out.logits.data() + (size_t)i * V, V, ev.draft_ids[i], pp, t1);
                ev.verify_p.push_back(pp);
            }
            next = argmax(out.logits.data() + (size_t)a * V, V);
        } else {
            // Lossless speculative sampling: accept d with probability min(1, p/q), else resample
            // from norm(max(0, p - q)); a bonus token from p when every draft is accepted.
            for (int i = 0; i < k_drafted; i++) {
                warp_probs(out.logits.data() + (size_t)i * V, V, p.sampling, p_probs);
                ev.verify_p.push_back(p_probs[ev.draft_ids[i]]);
                if (next >= 0) continue;  // already rejected: only record p
                if (accept_or_resample(p_probs.data(), q_probs.data() + (size_t)i * V, V, ev.draft_ids[i], r, next, scratch))
                    a++;
            }
            if (next < 0) {
                warp_probs(out.logits.data() + (size_t)k_drafted * V, V, p.sampling, p_probs);
                next = sample_probs(p_probs, r);
            }
        }
        ev.accepted = a;
        ev.next_id = next;
        // Keep x and the accepted drafts; the correction or bonus token is the next round's input.
        tf.cache.n = n + 1 + a;
        e.cached.push_back(x);
        for (int i = 0; i < a; i++) e.cached.push_back(ev.draft_ids[i]);
        ev.verify_ms = now_ms() - t0;
        pred_ms += costs.step_ms(T);
        costs.observe(T, ev.verify_ms);
        st.rounds++;
        st.drafted += k_drafted;
        st.accepted += a;
        rounds_since_dp++;

        // ---- emit
        for (int i = 0; i < a && going; i++) going = emit(ev.draft_ids[i]);
        if (going) going = emit(next);
        x = next;

        // ---- adapt, then re-choose the skipped layers from the states just computed
        policy.on_round(M, k_drafted, a, ev.draft_top1, ev.draft_ms, ev.verify_ms, T);
        if (policy.changed()) {
            ev.policy_changed = true;
            ev.policy_M = policy.M();
            ev.policy_det = policy.det();
            ev.policy_reason = policy.reason();
            st.fallback = st.fallback || !policy.speculating();
        }
        target_pos = n + a;
        if (going && dp_next && policy.speculating()) {
            M = policy.M();  // a new M from the policy takes effect at this DP
            if (M > 0) {
                run_dp(out.hidden.data() + (size_t)a * (L + 1) * d, target_pos, pending_dp_event);
                have_pending = true;
            }
        }
        if (cb.on_round) cb.on_round(ev);
    }

    st.n_generated = (int)res.ids.size();
    st.decode_ms = now_ms() - t_dec;
    st.tokens_per_s = st.decode_ms > 0 ? st.n_generated / (st.decode_ms / 1000.0) : 0;
    // Without rounds every token came from one full pass: one token per pass. Without drafts there
    // is no acceptance rate to report (NaN reaches JavaScript as null).
    st.mean_accepted_length = st.rounds > 0 ? (double)(st.accepted + st.rounds) / st.rounds : 1.0;
    st.acceptance_rate = st.drafted > 0 ? (double)st.accepted / st.drafted : NAN;
    // The cost model: plain decoding would need one full step per generated token after the first.
    double ar_ms = std::max(0, st.n_generated - 1) * costs.step_ms(1);
    st.cost_model_speedup = pred_ms > 0 ? ar_ms / pred_ms : 1.0;
    st.final_M = M;
    st.fallback = st.fallback || !policy.speculating();
    policy.remember(e.learned);
    return res;
}

}  // namespace clasp
