#include "policy_chain.h"
#include <algorithm>
#include <cmath>

namespace clasp {

double chain_counts::total() const {
    double n = 0;
    for (double x : drafts) n += x;
    return n;
}

namespace policy {

namespace {

constexpr double PRIOR_DRAFTS = 8;  // drafts' worth of belief in top-1 = 1 (chains that never stop)
constexpr double PRIOR_JUDGED = 4;  // judged drafts' worth of belief in alpha, per bucket
// The chain's confidence is tracked as -log(product of top-1) on a grid of STEP: fine enough that
// a DET's cut-off moves by under 2% per draft; the last cell holds everything below exp(-5.1).
constexpr double STEP = 0.02;
constexpr int CELLS = 256;

}  // namespace

void count_chain(chain_counts& cc, const float* top1, int drafted, int accepted) {
    for (int i = 0; i < drafted; i++) {
        const double t = std::min(1.0, std::max(1e-6, (double)top1[i]));
        const int b = std::min(CHAIN_BUCKETS - 1, (int)(t * CHAIN_BUCKETS));
        cc.drafts[b] += 1;
        cc.log_top1[b] += std::log(t);
        if (i <= accepted) cc.judged[b] += 1;  // accepted, or the first rejection
        if (i < accepted) cc.accepted[b] += 1;
    }
}

chain_model::chain_model(const chain_counts* cc, double alpha, int K) : K_(std::max(1, K)) {
    struct bucket { double p, accept; int step; };
    std::vector<bucket> buckets;
    const double n = (cc ? cc->total() : 0) + PRIOR_DRAFTS;
    buckets.push_back({PRIOR_DRAFTS / n, alpha, 0});
    for (int b = 0; cc && b < CHAIN_BUCKETS; b++) {
        if (cc->drafts[b] <= 0) continue;
        const double mean_log = cc->log_top1[b] / cc->drafts[b];
        const int step = std::min(CELLS - 1, std::max(0, (int)std::lround(-mean_log / STEP)));
        buckets.push_back({cc->drafts[b] / n, (cc->accepted[b] + PRIOR_JUDGED * alpha) / (cc->judged[b] + PRIOR_JUDGED), step});
    }
    for (const bucket& b : buckets) accept_ += b.p * b.accept;
    // The chains' cells after j drafts, with no DET: a DET only cuts them (see rounds()).
    std::vector<double> going(CELLS, 0), all(CELLS, 0), next_going(CELLS), next_all(CELLS);
    going[0] = all[0] = 1;
    int hi = 0;  // the highest cell with any mass (cells only grow)
    auto keep = [&] {
        going_.emplace_back(CELLS);
        all_.emplace_back(CELLS);
        double g = 0, a = 0;
        for (int s = 0; s < CELLS; s++) {
            going_.back()[s] = g += going[s];
            all_.back()[s] = a += all[s];
        }
    };
    keep();
    for (int j = 1; j < K_; j++) {
        std::fill(next_going.begin(), next_going.end(), 0.0);
        std::fill(next_all.begin(), next_all.end(), 0.0);
        int next_hi = 0;
        for (int s = 0; s <= hi; s++) {
            if (going[s] == 0) continue;
            for (const bucket& b : buckets) {
                const int t = std::min(CELLS - 1, s + b.step);
                next_going[t] += going[s] * b.p;
                next_all[t] += all[s] * b.p * b.accept;
                next_hi = std::max(next_hi, t);
            }
        }
        going.swap(next_going);
        all.swap(next_all);
        hi = next_hi;
        keep();
    }
}

std::vector<chain_round> chain_model::rounds(double det, const cost_table& c) const {
    // A chain goes on after a draft while its confidence >= det, i.e. its cell <= last.
    const int last = det > 0 ? std::min(CELLS - 1, (int)std::floor(-std::log(std::min(1.0, det)) / STEP + 1e-9)) : CELLS - 1;
    std::vector<chain_round> out(K_ + 1);
    double drafts = 0, tokens = 1, stopped_verify = 0;  // stopped_verify: chains the DET already ended
    for (int j = 1; j <= K_; j++) {
        const double made = going_[j - 1][last];  // the chance draft j is made: draft j-1 left the chain going
        drafts += made;
        tokens += all_[j - 1][last] * accept_;
        // With a cap of k = j, every chain still going ends here with j drafts.
        out[j] = {drafts, tokens, stopped_verify + made * c.c_verify(j + 1)};
        // Chains whose confidence fell below det end here with j drafts.
        if (j < K_) stopped_verify += (made - going_[j][last]) * c.c_verify(j + 1);
    }
    return out;
}

std::vector<chain_round> expect_chain(const chain_counts* cc, double alpha, double det, int K, const cost_table& c) {
    return chain_model(cc, alpha, K).rounds(det, c);
}

}  // namespace policy
}  // namespace clasp
