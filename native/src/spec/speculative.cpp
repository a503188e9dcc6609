// The CLaSp decode loop (DESIGN.md "CLaSp: the decisions" 4-6). Each round drafts with the current
// skip set, verifies the round's input token plus all drafts in one full pass, accepts (greedy
// prefix match, or lossless speculative sampling), keeps in the cache what was accepted, and re-runs
// the DP every LOI rounds on the last accepted position's hidden states. The policy (policy.h)
// decides at the start and every few rounds, from the cost table and acceptance counts only.
#include "speculative.h"
#include "../core/error.h"
#include "accept.h"
#include "dp_solver.h"
#include "policy.h"
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

// The given skip set (gen_params::skip_layers) as one flag per layer, checked: static mode only, no
// skip count or ratio beside it, indices in [0, L), no duplicates, not every layer. Empty: none given.
std::vector<uint8_t> given_skip(const gen_params& p, int L) {
    if (p.skip_layers.empty()) return {};
    if (p.mode != "static") fail("skip layers need mode static (a given skip set is kept for the whole reply), not " + p.mode);
    if (p.skip >= 0 || p.skip_ratio >= 0) fail("skip layers set M themselves: leave skip and skip ratio unset");
    if ((int)p.skip_layers.size() >= L) fail("skip layers: at most " + std::to_string(L - 1) + " of the " + std::to_string(L) + " layers may be skipped");
    std::vector<uint8_t> s(L, 0);
    for (int l : p.skip_layers) {
        if (l < 0 || l >= L) fail("skip layers: layer " + std::to_string(l) + " is out of range (the model has layers 0 to " + std::to_string(L - 1) + ")");
        if (s[l]) fail("skip layers: layer " + std::to_string(l) + " is listed twice");
        s[l] = 1;
    }
    return s;
}

bool same_plan(const decision& a, const decision& b) {
    if (a.speculate != b.speculate) return false;
    if (!a.speculate) return true;  // plain is plain, whatever M would have been
    return a.probe == b.probe && a.M == b.M && a.k == b.k && a.loi == b.loi && std::fabs(a.det - b.det) < 1e-6f;
}

}  // namespace

gen_result speculative_generate(engine& e, const std::vector<int>& prompt, const gen_params& p, const gen_callbacks& cb) {
    transformer& tf = *e.tf;
    const llama_config& c = e.model->cfg;
    const int L = c.n_layer, V = c.n_vocab, d = c.n_embd;
    if (p.max_draft < 1 || p.max_draft > 64) fail("max_draft must be between 1 and 64");
    if (p.loi < 0) fail("loi must be >= 1 (or 0 for automatic)");
    if (!(p.det == -1 || (p.det >= 0 && p.det <= 1))) fail("det must be between 0 and 1 (or -1 for automatic)");
    const bool is_static = p.mode == "static";
    const std::vector<uint8_t> given = given_skip(p, L);
    const int fixed_M = given.empty() ? resolve_M(p, L) : (int)p.skip_layers.size();
    std::string given_text;  // the given set in layer order, as the reason names it
    for (int l = 0; l < (int)given.size(); l++) if (given[l]) given_text += (given_text.empty() ? "" : ",") + std::to_string(l);

    gen_result res;
    gen_stats& st = res.stats;
    st.mode = p.mode;
    st.backend = e.be->name();
    st.backend_reason = e.backend_reason;
    st.n_prompt = (int)prompt.size();
    st.policy = !given.empty() ? "given" : fixed_M >= 0 ? "fixed" : "auto";
    const double t_start = now_ms();

    std::vector<float> logits, hidden;
    e.prefill(prompt, logits, &hidden, st);
    // Measured once per engine, then kept: a one-time cost reported apart from decoding.
    const double t_cal = now_ms();
    const cost_table& costs = e.costs(std::max(17, p.max_draft + 1));
    st.calibration_ms = now_ms() - t_cal;
    st.costs = costs;
    const double t_dec = now_ms();
    const double c1 = costs.c1();

    // static and clasp each keep their own memory, and an explicit skip count in each its own
    // (`counted`: its rounds are counted there and price its prediction, nothing else); a given
    // skip set keeps none.
    policy_memory* mem = fixed_M >= 0 ? nullptr : &e.memory[p.mode];
    policy_memory* counted = mem ? mem : fixed_M > 0 && given.empty() ? &e.memory[p.mode + "-fixed"] : nullptr;
    policy_inputs in;
    in.L = L;
    in.max_draft = p.max_draft;
    in.is_static = is_static;
    in.fixed_M = fixed_M;
    in.det = p.det;
    in.loi = p.loi;
    in.force = p.force_speculation && fixed_M < 0;
    if (mem) st.earlier = mem->measured;

    rng r(p.sampling.seed);
    std::vector<float> q_probs, p_probs, scratch;
    double costed_ms = 0;  // what the cost table says the work done costs

    res.finish_reason = "length";
    // row: the full model's logits at the token's position (for its log-probabilities)
    auto emit = [&](int id, token_fate f, const float* row) -> bool {  // false: stop generating
        const token_logprobs* lp = record_token(res, p, row, V, id);
        if (res.ids.size() == 1) st.ttft_ms = now_ms() - t_start;
        if (cb.on_token) cb.on_token(id, f, lp);
        if (!p.ignore_eos && e.is_eos(id)) { res.finish_reason = "stop"; return false; }
        return (int)res.ids.size() < p.max_tokens;
    };
    auto tokens_left = [&] { return p.max_tokens - (int)res.ids.size(); };

    // ---- the skip set: a DP at budget M holds the optimal set for every smaller budget
    decision dec;
    dp_result last_dp;
    bool have_dp = false;
    std::vector<uint8_t> skip(L, 0);
    std::vector<int> skip_list;
    std::optional<dp_event> pending_dp;  // goes out with the next round
    int rounds_since_dp = 0;
    auto set_skip = [&](const std::vector<uint8_t>& s) {
        skip = s;
        skip_list.clear();
        for (int l = 0; l < L; l++) if (skip[l]) skip_list.push_back(l);
    };
    auto run_dp = [&](const float* h, int pos) {
        double t0 = now_ms();
        auto layer = [&](int il, const float* x, int n, float* out) { tf.layer_candidates(il, x, n, pos, out); };
        last_dp = dp_solve(h, L, d, dec.M, layer, p.dp_table);
        have_dp = true;
        dp_event de;
        de.target_pos = pos;
        de.ms = now_ms() - t0;
        de.M = dec.M;
        de.path_cosine = last_dp.path_cosine;
        de.layer_cosine = last_dp.layer_cosine;
        de.table = std::move(last_dp.table);
        st.dp_runs++;
        st.dp_ms += de.ms;
        costed_ms += costs.c_dp(dec.M);
        set_skip(last_dp.skip);
        pending_dp = std::move(de);
        rounds_since_dp = 0;
    };
    // A given set is used as it is; its path's cosines (at the DP's first target, so that they compare
    // with a DP's choice there) go out with the first round, marked as given. Not a DP run.
    auto use_given = [&](const float* h, int pos) {
        set_skip(given);
        if (!h) return;
        double t0 = now_ms();
        auto layer = [&](int il, const float* x, int n, float* out) { tf.layer_candidates(il, x, n, pos, out); };
        dp_result pr = dp_path(h, L, d, given, layer);
        dp_event de;
        de.target_pos = pos;
        de.M = pr.M;
        de.given = true;
        de.path_cosine = std::move(pr.path_cosine);
        de.layer_cosine = std::move(pr.layer_cosine);
        de.ms = now_ms() - t0;
        pending_dp = std::move(de);
    };

    // ---- decisions, plain stretches and their events
    int plain_pos = 0, plain_n = 0, probe_left = 0, rounds_since_eval = 0;
    bool first_decision = true;
    auto close_stretch = [&] {
        if (!st.stretches.empty()) st.stretches.back().n = (int)res.ids.size() - st.stretches.back().from;
    };
    auto end_plain = [&] {
        if (plain_n > 0 && cb.on_plain) cb.on_plain({plain_pos, plain_n, dec.reason});
        plain_n = 0;
    };
    // Adopts nd at position pos. h: the hidden states of position pos - 1 (null: none at hand).
    // Returns the event to attach to the round that ran last, if the plan changed.
    auto adopt = [&](decision nd, int pos, const float* h) -> std::optional<policy_event> {
        if (is_static && !first_decision && nd.speculate) {
            nd = dec;  // static keeps its one skip set for the reply: it may only stop
            nd.probe = false;
        }
        if (!given.empty()) nd.reason = "skipping layers " + given_text + " as given; " + nd.reason;
        if (mem) policy::note(*mem, dec, nd);
        if (!first_decision && same_plan(nd, dec)) {
            dec = nd;  // the same plan on fresher counts: only the figures and the reason move
            return std::nullopt;
        }
        if (dec.speculate != nd.speculate || first_decision) end_plain();
        const bool was_speculating = dec.speculate && !first_decision;
        const int dp_M = have_dp ? last_dp.M : -1;
        close_stretch();
        st.stretches.push_back({st.stretches.empty() ? 0 : (int)res.ids.size(), 0, nd});
        dec = nd;
        first_decision = false;
        probe_left = nd.probe ? policy::PROBE_ROUNDS : 0;
        rounds_since_eval = 0;
        if (nd.speculate) {
            if (!given.empty()) use_given(h, pos - 1);  // a given set is always honoured: decide() speculates at M > 0
            else if (was_speculating && nd.M <= dp_M) set_skip(last_dp.skip_for(nd.M));  // no fresh DP needed
            else if (h) run_dp(h, pos - 1);
        }
        policy_event pe{pos, nd};
        if (cb.on_policy) cb.on_policy(pe);
        return pe;
    };

    // The first token comes from the prefill's logits, exactly as in plain decoding.
    bool going = p.max_tokens > 0;
    int x = -1;
    if (going) {
        x = sample_token(logits.data(), V, p.sampling, r, scratch);
        going = emit(x, token_fate::plain, logits.data());
    }
    adopt(policy::decide(costs, counted, in, p.max_tokens - 1), (int)prompt.size(), going ? hidden.data() : nullptr);
    st.predicted_speedup = dec.speculate ? dec.predicted_speedup : 1.0;

    forward_out out;
    int round_index = 0;
    while (going) {
        if (cb.cancel && cb.cancel->load()) { res.finish_reason = "cancelled"; break; }
        const int n = tf.cache.n;  // x goes at position n
        if (n >= e.n_ctx()) { res.finish_reason = "length"; break; }

        if (!dec.speculate || dec.M == 0) {
            // Plain decoding; after the step, a probe may be due (it needs this position's states).
            // Where no acceptance could pay, nothing counted can change that within the reply.
            const bool may_probe = mem && dec.can_pay && mem->plain_tokens + 1 >= policy::probe_after(mem->backoff);
            if (plain_n == 0) plain_pos = n;
            const double t_plain = now_ms();
            int32_t t = x;
            tf.forward(&t, 1, n, nullptr, true, {0}, may_probe ? std::vector<int>{0} : std::vector<int>{}, out);
            tf.cache.append(x);
            x = sample_token(out.logits.data(), V, p.sampling, r, scratch);
            st.plain_ms += now_ms() - t_plain;
            costed_ms += c1;
            st.plain_steps++;
            plain_n++;
            if (mem) mem->plain_tokens++;
            going = emit(x, token_fate::plain, out.logits.data());
            if (going && may_probe) adopt(policy::decide(costs, mem, in, tokens_left()), n + 1, out.hidden.data());
            continue;
        }

        round_event ev;
        ev.dp = std::move(pending_dp);
        pending_dp.reset();
        ev.index = round_index++;
        ev.pos = n;
        ev.skip = skip_list;
        ev.det = dec.det;

        // ---- draft: stop when the chain's confidence (product of the drafts' top-1) falls below DET
        const int M = (int)skip_list.size();
        const int max_k = std::min({dec.k, tokens_left() - 1, e.n_ctx() - n - 1});
        ev.stop = max_k < dec.k ? "budget" : "length";
        double t0 = now_ms();
        double chain = 1;
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
            chain *= top1;
            if (!p.ignore_eos && e.is_eos(dtok)) { ev.stop = "eos"; break; }
            if (chain < dec.det && k + 1 < max_k) { ev.stop = "det"; break; }  // kept and verified, no more drafting
        }
        const int k_drafted = (int)ev.draft_ids.size();
        ev.draft_ms = now_ms() - t0;
        costed_ms += k_drafted * costs.c_draft(M);

        // ---- verify: x and every draft, in one full pass that writes the persistent cache
        t0 = now_ms();
        std::vector<int32_t> vin;
        vin.push_back(x);
        for (int id : ev.draft_ids) vin.push_back(id);
        const int T = (int)vin.size();
        std::vector<int> rows(T);
        for (int i = 0; i < T; i++) rows[i] = i;
        const bool dp_due = !is_static && rounds_since_dp + 1 >= dec.loi;
        const bool eval_due = mem && (dec.probe ? probe_left <= 1 : rounds_since_eval + 1 >= policy::EVAL_ROUNDS);
        tf.forward(vin.data(), T, n, nullptr, true, rows, dp_due || eval_due ? rows : std::vector<int>{}, out);
        int a = 0, next = -1;
        if (p.sampling.greedy()) {
            for (; a < k_drafted; a++) {
                int want = argmax(out.logits.data() + (size_t)a * V, V);
                if (want != ev.draft_ids[a]) break;
            }
            for (int i = 0; i < k_drafted; i++) {
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
        tf.cache.append(vin.data(), 1 + a);
        ev.verify_ms = now_ms() - t0;
        costed_ms += costs.c_verify(T);
        st.rounds++;
        st.drafted += k_drafted;
        st.accepted += a;
        rounds_since_dp++;
        rounds_since_eval++;
        if (dec.probe) probe_left--;
        st.draft_ms += ev.draft_ms;
        st.verify_ms += ev.verify_ms;
        if (counted) policy::count_round(*counted, M, ev.draft_top1.data(), k_drafted, a);
        if (mem) {
            mem->measured.tokens += a + 1;
            mem->measured.ms += ev.draft_ms + ev.verify_ms + (ev.dp ? ev.dp->ms : 0);
            mem->measured.plain_ms += (a + 1) * c1;
        }

        // ---- emit
        for (int i = 0; i < a && going; i++) going = emit(ev.draft_ids[i], token_fate::accepted, out.logits.data() + (size_t)i * V);
        if (going) going = emit(next, a < k_drafted ? token_fate::correction : token_fate::bonus, out.logits.data() + (size_t)a * V);
        x = next;

        // ---- decide again every few rounds, then re-choose the skipped layers on the states just computed
        const int target = n + a;  // the last accepted position: its states came from this verify
        const float* h = out.hidden.empty() ? nullptr : out.hidden.data() + (size_t)a * (L + 1) * d;
        if (going && eval_due) {
            int dp_before = st.dp_runs;
            if (auto pe = adopt(policy::decide(costs, mem, in, tokens_left()), target + 1, h)) ev.policy = std::move(*pe);
            if (st.dp_runs != dp_before) h = nullptr;  // the new M's DP already ran on these states
        }
        if (going && h && dp_due && dec.speculate) run_dp(h, target);
        if (cb.on_round) cb.on_round(ev);
    }
    end_plain();
    close_stretch();

    st.n_generated = (int)res.ids.size();
    st.decode_ms = now_ms() - t_dec;
    st.tokens_per_s = st.decode_ms > 0 ? st.n_generated / (st.decode_ms / 1000.0) : 0;
    // Without rounds every token came from one full pass: one token per pass. Without drafts there
    // is no acceptance rate to report (NaN reaches JavaScript as null).
    st.mean_accepted_length = st.rounds > 0 ? (double)(st.accepted + st.rounds) / st.rounds : 1.0;
    st.acceptance_rate = st.drafted > 0 ? (double)st.accepted / st.drafted : NAN;
    // Plain decoding needs one full step per generated token after the first (which the prefill gives).
    const double plain_ms = std::max(0, st.n_generated - 1) * c1;
    st.plain_tokens_per_s = 1000.0 / c1;
    st.speedup = st.decode_ms > 0 && plain_ms > 0 ? plain_ms / st.decode_ms : NAN;
    st.costed_speedup = costed_ms > 0 ? plain_ms / costed_ms : 1.0;
    st.reason = dec.reason;
    st.fallback = st.plain_steps > 0;
    st.final_M = dec.speculate ? dec.M : 0;
    st.det = dec.det;
    st.loi = dec.loi;
    return res;
}

}  // namespace clasp
