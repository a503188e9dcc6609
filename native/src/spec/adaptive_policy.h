// The measured step costs, and the adaptive policy behind `--skip auto`: it tunes the skip count M
// and the draft-exit threshold DET online from measured costs and acceptance, and switches
// speculation off (with a reason) where it cannot beat plain decoding.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace clasp {

struct transformer;

// Wall-clock costs of full forward passes, measured once per engine on its backend.
struct step_costs {
    std::vector<double> step;  // step[T]: ms of one full pass over T tokens (T = 1..max)
    double head_ms = 0;        // a 1-token pass with every layer skipped: embedding, norm, output
    bool measured = false;

    // Times full passes of 1, 4 and 16 tokens at scratch positions from pos (the cache length is kept).
    void calibrate(transformer& tf, int pos, int max_T);
    // Refines the cost of a T-token pass with a pass just timed (an exponential average).
    void observe(int T, double ms);
    double step_ms(int T) const;
    // A draft step with M of L layers skipped: the head plus the kept layers' share of the rest.
    double draft_ms(int M, int L) const;
};

// What the policy learned, kept by the engine across generations of the same model.
struct policy_memory {
    int best_M = -1;
    float det = -1;
    std::map<int, double> efficiency;  // M -> tokens per unit of plain-decoding time
};

class adaptive_policy {
public:
    adaptive_policy(int L, const step_costs& costs, int fixed_M, float det, bool is_static, const policy_memory& mem);

    int M() const { return M_; }
    float det() const { return det_; }
    bool speculating() const { return speculating_; }
    // True once when M changed and the next verify should feed a DP with the new M.
    bool M_changed() const { return M_pending_; }
    int max_draft(int K) const { return K; }

    void on_dp(double ms);
    void on_plain_step(double ms);
    // In fallback: whether to try speculation again now (turns it back on when true).
    bool wants_probe();
    void on_round(int M_used, int drafted, int accepted, const std::vector<float>& top1, double draft_ms,
                  double verify_ms, int T);
    void on_dp_ran() { M_pending_ = false; }
    // Switches speculation off for this generation (the reason goes to the next round's event).
    void stop(const std::string& why) {
        speculating_ = false;
        plain_tokens_ = -1000000;  // no probing
        set_reason(why);
    }

    bool changed() const { return changed_; }
    const std::string& reason() const { return reason_; }
    void remember(policy_memory& mem) const;

private:
    void end_window();
    void tune_det();
    void set_reason(const std::string& r) { changed_ = true; reason_ = r; }

    int L_;
    const step_costs& costs_;
    bool adaptive_;
    bool is_static_;
    int M_;
    float det_;
    bool speculating_ = true;
    bool M_pending_ = false;
    bool changed_ = false;
    std::string reason_;
    // current window
    int win_rounds_ = 0, win_tokens_ = 0;
    double win_ms_ = 0, dp_ms_avg_ = 0;
    int dp_runs_ = 0;
    // hill climbing over M
    std::map<int, double> eff_;
    int step_;
    int dir_ = +1;
    int windows_ = 0;
    // fallback
    int plain_tokens_ = 0;
    // DET tuning: acceptance by top-1 bucket
    int bucket_n_[10] = {}, bucket_acc_[10] = {};
};

}  // namespace clasp
