// What a draft chain yields under a draft exit threshold (DET): the expected drafts, tokens and
// verify cost per round, from counts of the drafts' top-1 probabilities and of their acceptance.
// The policy prices rounds with it (policy.h), so a DET that stops chains early is priced by the
// chains it actually lets through, not by k drafts.
#pragma once
#include "cost_table.h"
#include <array>
#include <vector>

namespace clasp {

constexpr int CHAIN_BUCKETS = 10;  // a draft's top-1 probability in [b/10, (b+1)/10)

// Per skip count M, kept with the acceptance counts: per top-1 bucket, the drafts made, the sum of
// their log top-1 (so a bucket is priced at its mean), and of the drafts judged (up to and including
// a chain's first rejection) how many were accepted.
struct chain_counts {
    std::array<double, CHAIN_BUCKETS> drafts{}, log_top1{}, accepted{}, judged{};
    double total() const;
};

// One round with up to k drafts, in expectation: drafts made, tokens yielded (accepted drafts plus
// the correction or bonus token) and the verify pass's cost in ms.
struct chain_round {
    double drafts = 0, tokens = 1, verify_ms = 0;
};

namespace policy {

// Counting: one round's drafts (their top-1 probabilities, in order), of which the first `accepted`
// were accepted.
void count_chain(chain_counts& cc, const float* top1, int drafted, int accepted);

// The draft chains at one M, for any DET: each draft's top-1 falls in bucket b with the counted
// share, independently of the drafts before it, and is accepted with the bucket's counted rate
// (shrunk toward alpha). A prior of a few drafts at top-1 = 1 accepted at rate alpha keeps the
// buckets in check; with no counts (cc null or empty) chains never stop, so a round is k drafts and
// (1 - alpha^(k+1)) / (1 - alpha) tokens: the plain formula.
class chain_model {
public:
    chain_model(const chain_counts* cc, double alpha, int K);
    // The expected round for every cap k = 1..K (index k; index 0 unused) under DET `det` (<= 0:
    // never stops): drafting goes on while the product of the drafts' top-1 stays >= det, as in the
    // decode loop.
    std::vector<chain_round> rounds(double det, const cost_table& c) const;

private:
    int K_;
    double accept_ = 0;  // the chance a draft is accepted
    // After j drafts (j = 0..K-1), over the cells of -log(confidence), cumulative: the chance the
    // chain's confidence lies in cells <= s, and that besides every draft so far was accepted.
    // The confidence only falls, so a chain is still drafting under a DET exactly when its cell
    // is at most the DET's: one pass serves every DET.
    std::vector<std::vector<double>> going_, all_;
};

// chain_model(cc, alpha, K).rounds(det, c).
std::vector<chain_round> expect_chain(const chain_counts* cc, double alpha, double det, int K, const cost_table& c);

}  // namespace policy
}  // namespace clasp
