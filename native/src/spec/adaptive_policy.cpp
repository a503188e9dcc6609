#include "adaptive_policy.h"
#include "../runtime/engine.h"
#include "../runtime/transformer.h"
#include <algorithm>
#include <cmath>
#include <cstdio>

namespace clasp {

namespace {
constexpr int WINDOW = 6;          // rounds per measurement of one M
constexpr int PROBE_AFTER = 192;   // plain tokens before speculation is tried again
constexpr double PAYS = 1.05;      // efficiency a setting must show (5% above plain decoding) to keep speculating

std::string fmt(const char* f, double a, double b = 0, double c = 0) {
    char buf[256];
    std::snprintf(buf, sizeof buf, f, a, b, c);
    return buf;
}
}  // namespace

void step_costs::calibrate(transformer& tf, int pos, int max_T) {
    // A few sizes only (three passes each after a warm-up): on a large model a 16-token pass is costly.
    // The loop refines these with every pass it times (observe).
    const int L = tf.cfg().n_layer;
    max_T = std::min(max_T, tf.cache.n_ctx - pos);
    step.assign(std::max(2, max_T + 1), 0);
    if (max_T < 1) { step[1] = 1; head_ms = 0; measured = true; return; }
    std::vector<int32_t> toks(max_T, 0);
    for (int t = 0; t < max_T; t++) toks[t] = (7 * t + 1) % tf.cfg().n_vocab;
    forward_out out;
    auto time_pass = [&](int T, const uint8_t* skip) {
        std::vector<int> rows(T);
        for (int i = 0; i < T; i++) rows[i] = i;
        double best = 1e30;
        for (int rep = 0; rep < 3; rep++) {  // the fastest of three: the least disturbed
            double t0 = now_ms();
            tf.forward(toks.data(), T, pos, skip, true, rows, {}, out);  // scratch: cache.n is unchanged
            best = std::min(best, now_ms() - t0);
        }
        return best;
    };
    time_pass(1, nullptr);  // warm-up
    for (int T : {1, 4, 16})
        if (T <= max_T) step[T] = time_pass(T, nullptr);
    std::vector<uint8_t> all(L, 1);
    head_ms = std::min(time_pass(1, all.data()), step[1]);
    measured = true;
}

void step_costs::observe(int T, double ms) {
    if (T < 1 || T >= (int)step.size() || !(ms > 0)) return;
    step[T] = step[T] > 0 ? 0.8 * step[T] + 0.2 * ms : ms;
}

double step_costs::step_ms(int T) const {
    if (step.size() < 2 || step[1] <= 0) return 1;
    T = std::max(1, T);
    int n = (int)step.size() - 1;
    if (T <= n && step[T] > 0) return step[T];
    // Interpolate between the nearest measured sizes (linear extrapolation past the last).
    int lo = 1, hi = -1;
    for (int k = 1; k <= n; k++) {
        if (step[k] <= 0) continue;
        if (k <= T) lo = k;
        if (k >= T && hi < 0) hi = k;
    }
    if (hi < 0) {
        int prev = -1;
        for (int k = lo - 1; k >= 1; k--) if (step[k] > 0) { prev = k; break; }
        double slope = prev > 0 ? (step[lo] - step[prev]) / (lo - prev) : step[lo] / lo;
        return step[lo] + slope * (T - lo);
    }
    if (hi == lo) return step[lo];
    return step[lo] + (step[hi] - step[lo]) * (double)(T - lo) / (hi - lo);
}

double step_costs::draft_ms(int M, int L) const {
    double full = step_ms(1);
    return head_ms + (full - head_ms) * (double)(L - M) / L;
}

adaptive_policy::adaptive_policy(int L, const step_costs& costs, int fixed_M, float det, bool is_static,
                                 const policy_memory& mem)
    : L_(L), costs_(costs), adaptive_(fixed_M < 0), is_static_(is_static), det_(det) {
    step_ = std::max(1, (int)std::lround(L / 8.0));
    if (!adaptive_) {
        M_ = fixed_M;
        return;
    }
    // Start from what worked last time on this model, else skip 40% of the layers.
    M_ = mem.best_M > 0 ? mem.best_M : std::max(1, std::min(L - 1, (int)std::lround(0.4 * L)));
    if (mem.det > 0) det_ = mem.det;
    eff_ = mem.efficiency;
    // A model that never paid: start in plain decoding and only probe now and then.
    if (!eff_.empty()) {
        double best = 0;
        for (auto& [m, e] : eff_) best = std::max(best, e);
        if (best < PAYS && !is_static_) {
            // Known not to pay on this model and machine: decode plainly, re-probing only after
            // PROBE_AFTER plain tokens (a short reply then never pays for a probe).
            speculating_ = false;
            plain_tokens_ = 0;
        }
    }
}

void adaptive_policy::on_dp(double ms) {
    dp_runs_++;
    dp_ms_avg_ += (ms - dp_ms_avg_) / dp_runs_;
    M_pending_ = false;
}

void adaptive_policy::on_plain_step(double) { plain_tokens_++; }

bool adaptive_policy::wants_probe() {
    if (!adaptive_ || speculating_ || plain_tokens_ < PROBE_AFTER) return false;
    plain_tokens_ = 0;
    speculating_ = true;
    win_rounds_ = win_tokens_ = 0;
    win_ms_ = 0;
    set_reason(fmt("probing speculation again with M=%g after %g plain tokens", M_, PROBE_AFTER));
    return true;
}

void adaptive_policy::on_round(int M_used, int drafted, int accepted, const std::vector<float>& top1, double draft_ms,
                               double verify_ms, int T) {
    changed_ = false;
    reason_.clear();
    // Acceptance by the draft's top-1 bucket, counting drafts up to the first rejection.
    for (int i = 0; i < drafted && i <= accepted; i++) {
        int b = std::min(9, std::max(0, (int)(top1[i] * 10)));
        bucket_n_[b]++;
        if (i < accepted) bucket_acc_[b]++;
    }
    if (!adaptive_) return;
    win_rounds_++;
    win_tokens_ += accepted + 1;
    // Amortize the DP over the rounds it serves.
    win_ms_ += draft_ms + verify_ms;
    (void)M_used;
    (void)T;
    if (win_rounds_ >= WINDOW) end_window();
}

void adaptive_policy::end_window() {
    const double t1 = costs_.step_ms(1);
    double dp_share = dp_runs_ > 0 ? dp_ms_avg_ * dp_runs_ : 0;
    dp_runs_ = 0;
    dp_ms_avg_ = 0;
    double e = (win_tokens_ * t1) / std::max(1e-9, win_ms_ + dp_share);
    win_rounds_ = win_tokens_ = 0;
    win_ms_ = 0;
    windows_++;
    double& slot = eff_[M_];
    slot = slot > 0 ? 0.5 * slot + 0.5 * e : e;
    tune_det();
    if (is_static_) return;  // static keeps its one skip set
    // Hill-climb M: try a neighbour unless it was measured worse; go where efficiency is highest.
    int best_M = M_;
    double best = eff_[M_];
    for (auto& [m, v] : eff_)
        if (v > best) { best = v; best_M = m; }
    int cand = M_ + dir_ * step_;
    bool cand_ok = cand >= 1 && cand <= L_ - 1 && (!eff_.count(cand) || eff_[cand] >= best * 0.98);
    if (!cand_ok) {
        dir_ = -dir_;
        cand = M_ + dir_ * step_;
        cand_ok = cand >= 1 && cand <= L_ - 1 && !eff_.count(cand);
    }
    int next = cand_ok && windows_ <= 8 ? cand : best_M;
    if (windows_ > 2 && best < PAYS) {
        speculating_ = false;
        plain_tokens_ = 0;
        M_ = best_M;
        set_reason(fmt("fallback to plain decoding: the best setting (M=%g) reaches %.2fx of plain decoding's speed", best_M, best));
        return;
    }
    if (next != M_) {
        set_reason(fmt("M %g -> %g", M_, next) + fmt(" (measured %.2fx of plain decoding at M=%g)", eff_[M_], M_));
        M_ = next;
        M_pending_ = true;
    }
}

void adaptive_policy::tune_det() {
    // Drafting one more token pays when its acceptance chance times a plain step beats its cost:
    // one more draft step plus one more verified token.
    const double t1 = costs_.step_ms(1);
    double marginal = costs_.draft_ms(M_, L_) + (costs_.step_ms(8) - costs_.step_ms(7));
    float new_det = det_;
    for (int b = 9; b >= 0; b--) {
        if (bucket_n_[b] < 12) continue;
        double alpha = (double)bucket_acc_[b] / bucket_n_[b];
        if (alpha * t1 >= marginal) new_det = b / 10.0f;
        else break;
    }
    new_det = std::max(0.3f, std::min(0.95f, new_det));
    if (std::fabs(new_det - det_) > 1e-6) {
        std::string r = fmt("DET %.2f -> %.2f (acceptance by draft confidence vs a draft step costing %.2f plain steps)", det_, new_det,
                            marginal / t1);
        det_ = new_det;
        if (changed_) reason_ += "; " + r;
        else set_reason(r);
    }
}

void adaptive_policy::remember(policy_memory& mem) const {
    if (!adaptive_) return;
    mem.efficiency = eff_;
    int best_M = M_;
    double best = -1;
    for (auto& [m, v] : eff_)
        if (v > best) { best = v; best_M = m; }
    mem.best_M = best_M;
    mem.det = det_;
}

}  // namespace clasp
