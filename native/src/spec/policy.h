// The CLaSp policy: whether to speculate, with which skip count M, how many drafts k, which draft
// exit threshold (DET) and which layer-optimisation interval (LOI). It decides from the measured cost
// table and from acceptance counts only, so its decisions (and so a seeded reply's text) never
// depend on the machine's load. Every decision carries its reason and the costs behind it.
#pragma once
#include "cost_table.h"
#include "policy_chain.h"
#include <map>
#include <string>

namespace clasp {

// Drafts accepted out of drafts judged (a chain is judged up to and including its first rejection),
// and the same per top-1 bucket with the drafts made (policy_chain.h): what a DET lets through.
struct acceptance {
    double accepted = 0, judged = 0;
    chain_counts chain;
};

// Measured while speculating, for telling the user, never for deciding (it is read from a clock):
// tokens made by verify rounds, the time those rounds took (drafts, verify, DP runs), and what plain
// decoding would have taken for them (tokens x c1).
struct spec_record {
    double tokens = 0, ms = 0, plain_ms = 0;
};

// What one mode ("clasp" or "static") has counted on one model and machine, across replies (and,
// with a policy file, across processes: policy_store.h). An explicit skip count in a mode keeps its
// own ("clasp-fixed", "static-fixed"), for its counts only; a given skip set keeps none.
struct policy_memory {
    std::map<int, acceptance> by_M;  // per skip count M
    int plain_tokens = 0;            // tokens decoded plainly since speculation was last tried
    int backoff = 0;                 // probes in a row after which speculation still did not pay
    spec_record measured;
};

struct policy_inputs {
    int L = 0;
    int max_draft = 12;    // the user's cap on k
    bool is_static = false;
    int fixed_M = -1;      // >= 0: an explicit skip count, always honoured
    float det = -1;        // >= 0: an explicit DET, always honoured; -1: from the costs
    int loi = 0;           // >= 1: an explicit LOI; 0: the smallest with a DP share <= 5%
    bool force = false;    // "try it anyway": speculate at the best (M, k) whatever the prediction
};

struct decision {
    bool speculate = false;
    bool probe = false;           // speculating only to count acceptance (for PROBE_ROUNDS rounds)
    bool can_pay = true;          // false: not even full acceptance would reach MARGIN (no probe helps)
    bool forced = false;          // speculating only because the user asked (policy_inputs::force)
    int M = 0, k = 0, loi = 1;
    float det = 0;
    double alpha = 0;             // the acceptance rate assumed at M
    double alpha_drafts = 0;      // how many judged drafts at M (this mode) that rests on
    double drafts = 0, tokens = 1; // per round, expected under DET (k and E of the plain formula when nothing is counted)
    double predicted_speedup = 1; // tokens*c1 / (drafts*c_draft(M) + E[c_verify] + DP per round) at (M, k, det)
    // The cost table behind it, in plain decoding steps (c1 = 1).
    double verify_steps = 1, draft_steps = 1, dp_steps = 0;
    std::string reason;
};

namespace policy {

constexpr double MARGIN = 1.05;    // a predicted speed-up must reach this to speculate
constexpr int PROBE_ROUNDS = 6;    // rounds a probe speculates before deciding again
constexpr int EVAL_ROUNDS = 16;    // rounds between re-decisions within a reply
constexpr int PROBE_AFTER = 64;    // plain tokens before the first probe; doubles per failed probe
constexpr int PROBE_AFTER_MAX = 4096;
constexpr double DP_SHARE = 0.05;  // automatic LOI: the DP's share of decoding time at most this

// Tokens one round yields when each of k drafts is accepted with probability alpha, independently,
// up to the first rejection: (1 - alpha^(k+1)) / (1 - alpha), the accepted drafts plus the
// correction or bonus token.
double expected_tokens(double alpha, int k);

// Predicted speed-up of a round (expect_chain) over plain decoding:
// tokens*c1 / (drafts*c_draft(M) + verify_ms + dp), dp being the DP's cost per round.
double predicted_speedup(const cost_table& c, int M, const chain_round& r, double dp_per_round);

// The DETs tried when none is given, besides auto_det, at an M with chain counts.
constexpr double DET_GRID[] = {0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};

// The acceptance rate at M: the counts at M, shrunk toward a curve (1 - M/L)^s fitted to the counts
// at every M (s = 1 before any count), so that an M never tried borrows from its neighbours.
double alpha_at(const policy_memory* mem, int M, int L);

// The smallest LOI whose DP share stays within DP_SHARE for rounds r at M.
int auto_loi(const cost_table& c, int M, const chain_round& r);

// DET before anything is counted at M: draft one more token while the chain's confidence (the
// product of the drafts' top-1 probabilities) is worth its cost: a draft step plus one more verified
// token, in plain steps. Once drafts are counted at M, a DET of DET_GRID replaces it where the chain
// model (expect_chain) predicts a higher speed-up.
float auto_det(const cost_table& c, int M, int k);

// Plain tokens before the next probe after `backoff` failed ones.
int probe_after(int backoff);

// The decision for the rest of a reply with tokens_left tokens to go. A pure function of its
// arguments (the memory is read, not changed): speculate at the (M, k, DET) with the best predicted
// speed-up when it reaches MARGIN; else, when speculation could pay at full acceptance, probe if
// nothing was counted yet or the memory's plain tokens say a probe is due; else decode plainly.
// With an explicit skip count (in.fixed_M), mem is that skip count's own memory (or null), read
// for the prediction only.
decision decide(const cost_table& c, const policy_memory* mem, const policy_inputs& in, int tokens_left);

// Bookkeeping when `next` replaces `prev` (prev.speculate false and prev.reason empty at a reply's
// start): a probe restarts the plain-token count; speculating on its own merit clears the back-off;
// a probe followed by plain decoding doubles the wait for the next probe. A forced decision changes
// nothing here (its rounds are counted like any other).
void note(policy_memory& mem, const decision& prev, const decision& next);

// Counting: a verify round at M whose drafts had top-1 probabilities top1[0..drafted), of which the
// first `accepted` were accepted.
void count_round(policy_memory& mem, int M, const float* top1, int drafted, int accepted);

}  // namespace policy
}  // namespace clasp
