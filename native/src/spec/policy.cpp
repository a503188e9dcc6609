#include "policy.h"
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace clasp {
namespace policy {

namespace {

constexpr double PRIOR_S_WEIGHT = 20;  // judged drafts' worth of belief in the curve (1 - M/L)^1
constexpr double PRIOR_M_WEIGHT = 8;   // judged drafts' worth of belief in the curve at one M

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, f);
    std::vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

// The DP's cost per round: one DP every LOI rounds (none for static), plus the DP every reply
// starts with, spread over the rounds the reply has left.
double dp_per_round(const cost_table& c, int M, int loi, bool is_static, double E, int tokens_left) {
    double per = is_static ? 0 : 1.0 / std::max(1, loi);
    return c.c_dp(M) * (per + E / std::max(1, tokens_left));
}

const chain_counts* chain_at(const policy_memory* mem, int M) {
    if (!mem) return nullptr;
    auto it = mem->by_M.find(M);
    return it != mem->by_M.end() && it->second.chain.total() > 0 ? &it->second.chain : nullptr;
}

// Fills a decision's figures for rounds r of (M, k) under det at acceptance alpha.
void evaluate(const cost_table& c, const policy_inputs& in, int M, int k, float det, double alpha, const chain_round& r,
              int tokens_left, decision& d) {
    d.M = M;
    d.k = k;
    d.alpha = alpha;
    d.det = det;
    d.drafts = r.drafts;
    d.tokens = r.tokens;
    d.loi = in.loi > 0 ? in.loi : auto_loi(c, M, r);
    const double dp = dp_per_round(c, M, d.loi, in.is_static, r.tokens, tokens_left);
    d.predicted_speedup = predicted_speedup(c, M, r, dp);
    const double c1 = c.c1();
    d.verify_steps = c.c_verify(k + 1) / c1;
    d.draft_steps = c.c_draft(M) / c1;
    d.dp_steps = c.c_dp(M) / c1;
}

std::string costs_text(const decision& d, bool is_static) {
    return fmt("a %d-token verify costs %.2f plain steps, a draft at M=%d %.2f, the DP %.1f %s", d.k + 1, d.verify_steps, d.M,
               d.draft_steps, d.dp_steps, is_static ? "once per reply" : (fmt("every %d rounds", d.loi)).c_str());
}

std::string alpha_text(const decision& d) {
    return (d.alpha_drafts > 0 ? fmt("acceptance %.2f from %.0f drafts", d.alpha, d.alpha_drafts)
                               : fmt("acceptance %.2f assumed, none counted yet", d.alpha)) +
           fmt("; under DET %.2f a round drafts %.1f and yields %.1f tokens", d.det, d.drafts, d.tokens);
}

// The best rounds at M with a cap k in [k_lo, k_hi], over the DETs: the given one; else auto_det,
// and with chain counts at M every DET_GRID value (only a strictly better one replaces auto_det).
void best_at(const cost_table& c, const policy_inputs& in, int M, int k_lo, int k_hi, double alpha, const chain_counts* cc,
             int tokens_left, decision& best) {
    const chain_model model(cc, alpha, k_hi);
    auto try_det = [&](float det, int from, int to) {
        const std::vector<chain_round> rs = model.rounds(det, c);
        for (int k = from; k <= to; k++) {
            decision t;
            evaluate(c, in, M, k, det, alpha, rs[k], tokens_left, t);
            if (t.predicted_speedup > best.predicted_speedup) best = t;  // ties keep the smaller M, k and the first DET
        }
    };
    if (in.det >= 0) return try_det(in.det, k_lo, k_hi);
    for (int k = k_lo; k <= k_hi; k++) try_det(auto_det(c, M, k), k, k);
    if (cc)
        for (double det : DET_GRID) try_det((float)det, k_lo, k_hi);
}

}  // namespace

double expected_tokens(double alpha, int k) {
    if (k <= 0) return 1;
    if (alpha >= 1 - 1e-9) return k + 1;
    return (1 - std::pow(alpha, k + 1)) / (1 - alpha);
}

double predicted_speedup(const cost_table& c, int M, const chain_round& r, double dp) {
    return r.tokens * c.c1() / (r.drafts * c.c_draft(M) + r.verify_ms + dp);
}

double alpha_at(const policy_memory* mem, int M, int L) {
    double num = PRIOR_S_WEIGHT, den = PRIOR_S_WEIGHT;  // s = 1 with the prior's weight
    acceptance here;
    if (mem) {
        for (const auto& [m, a] : mem->by_M) {
            if (m < 1 || m >= L || a.judged <= 0) continue;
            double rate = std::min(0.995, std::max(0.02, a.accepted / a.judged));
            num += a.judged * std::log(rate) / std::log(1.0 - (double)m / L);
            den += a.judged;
        }
        auto it = mem->by_M.find(M);
        if (it != mem->by_M.end()) here = it->second;
    }
    double s = std::min(20.0, std::max(0.05, num / den));
    double curve = M >= L ? 0 : std::pow(1.0 - (double)M / L, s);
    double a = (here.accepted + PRIOR_M_WEIGHT * curve) / (here.judged + PRIOR_M_WEIGHT);
    return std::min(0.99, std::max(0.0, a));
}

int auto_loi(const cost_table& c, int M, const chain_round& r) {
    double round = r.drafts * c.c_draft(M) + r.verify_ms;
    double loi = c.c_dp(M) * (1 - DP_SHARE) / (DP_SHARE * round);
    return std::max(1, std::min(1024, (int)std::ceil(loi - 1e-9)));
}

float auto_det(const cost_table& c, int M, int k) {
    double verify_step = k > 0 ? (c.c_verify(k + 1) - c.c_verify(1)) / k : 0;
    double det = (c.c_draft(M) + std::max(0.0, verify_step)) / c.c1();
    return (float)std::min(0.95, std::max(0.05, det));
}

int probe_after(int backoff) {
    return std::min(PROBE_AFTER_MAX, PROBE_AFTER << std::min(backoff, 16));
}

decision decide(const cost_table& c, const policy_memory* mem, const policy_inputs& in, int tokens_left) {
    decision d;
    const int L = in.L, K = std::max(1, in.max_draft);
    if (in.fixed_M >= 0) {
        // Up to K drafts a round. The plan (the DET unless given, the LOI unless given) comes from the
        // cost table alone, never from counts: counts grow with every reply, and a seeded reply with
        // an explicit skip count must give the same text each time. This skip count's own counts
        // (mem: its memory) only price the prediction, at that plan.
        const double alpha = alpha_at(mem, in.fixed_M, L);
        d.predicted_speedup = -1;
        best_at(c, in, in.fixed_M, K, K, alpha, nullptr, tokens_left, d);
        if (const chain_counts* cc = chain_at(mem, in.fixed_M)) {
            policy_inputs at_plan = in;
            at_plan.loi = d.loi;
            decision priced;
            evaluate(c, at_plan, in.fixed_M, K, d.det, alpha, chain_model(cc, alpha, K).rounds(d.det, c)[K], tokens_left, priced);
            d = priced;
        }
        if (mem && mem->by_M.count(in.fixed_M)) d.alpha_drafts = mem->by_M.at(in.fixed_M).judged;
        d.speculate = in.fixed_M > 0;
        d.reason = d.speculate ? fmt("M=%d as set, up to %d drafts a round; predicted %.2fx (", d.M, d.k, d.predicted_speedup) +
                                     alpha_text(d) + "; " + costs_text(d, in.is_static) + ")"
                               : std::string("M=0 as set: plain decoding");
        return d;
    }
    decision best, ideal;
    best.predicted_speedup = ideal.predicted_speedup = -1;
    // Every draft accepted, and chains never stopped early: the most any setting could give.
    const std::vector<chain_round> full = expect_chain(nullptr, 1.0, 0, K, c);
    for (int M = 1; M < L; M++) {
        best_at(c, in, M, 1, K, alpha_at(mem, M, L), chain_at(mem, M), tokens_left, best);
        for (int k = 1; k <= K; k++) {
            decision t;
            evaluate(c, in, M, k, in.det >= 0 ? in.det : auto_det(c, M, k), 1.0, full[k], tokens_left, t);
            if (t.predicted_speedup > ideal.predicted_speedup) ideal = t;
        }
    }
    if (best.predicted_speedup < 0) {  // a one-layer model: nothing to skip
        d.reason = "plain decoding: the model has one layer, nothing to skip";
        return d;
    }
    d = best;
    if (mem) {
        auto it = mem->by_M.find(d.M);
        if (it != mem->by_M.end()) d.alpha_drafts = it->second.judged;
    }
    const std::string why = fmt("predicted %.2fx at M=%d, k=%d (", d.predicted_speedup, d.M, d.k) + alpha_text(d) + "; " +
                            costs_text(d, in.is_static) + ")";
    if (d.predicted_speedup >= MARGIN) {
        d.speculate = true;
        d.reason = "speculating: " + why;
    } else if (ideal.predicted_speedup < MARGIN) {
        d.can_pay = false;
        d.reason = fmt("plain decoding: even with every draft accepted the best is %.2fx (M=%d, k=%d; ", ideal.predicted_speedup,
                       ideal.M, ideal.k) +
                   costs_text(ideal, in.is_static) + "), below the " + fmt("%.2fx margin", MARGIN);
    } else if (mem && mem->by_M.empty()) {
        d.speculate = d.probe = true;
        d.reason = fmt("probing for %d rounds: nothing counted yet in this mode; ", PROBE_ROUNDS) + why;
    } else if (mem && mem->plain_tokens >= probe_after(mem->backoff)) {
        d.speculate = d.probe = true;
        d.reason = fmt("probing for %d rounds after %d plain tokens: ", PROBE_ROUNDS, mem->plain_tokens) + why;
    } else {
        int left = mem ? probe_after(mem->backoff) - mem->plain_tokens : 0;
        d.reason = "plain decoding: " + why + fmt(" is below the %.2fx margin", MARGIN) +
                   (mem ? fmt("; next probe after %d more plain tokens", left) : std::string());
    }
    if (in.force && !d.speculate) {
        // "Try it anyway": the best (M, k) on the counts so far, for the whole reply; the policy's
        // own verdict stays in the reason.
        d.speculate = d.forced = true;
        d.reason = "speculating because asked to (try it anyway); the policy would have said: " + d.reason;
    }
    return d;
}

void note(policy_memory& mem, const decision& prev, const decision& next) {
    if (next.forced) return;
    if (next.probe) mem.plain_tokens = 0;
    else if (next.speculate) mem.backoff = 0;
    else if (prev.probe) mem.backoff++;
}

void count_round(policy_memory& mem, int M, const float* top1, int drafted, int accepted) {
    acceptance& a = mem.by_M[M];
    a.accepted += accepted;
    a.judged += accepted + (accepted < drafted ? 1 : 0);
    count_chain(a.chain, top1, drafted, accepted);
}

}  // namespace policy
}  // namespace clasp
