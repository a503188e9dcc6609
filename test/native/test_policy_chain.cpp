// The policy prices a round by the chains the draft exit threshold (DET) lets through
// (policy_chain.h): by hand on small cases, against rounds simulated the way the decode loop drafts,
// and the automatic DET is the one the same formula prefers.
#include "clasp_fixture.h"
#include "spec/policy.h"

using namespace clasp;

namespace {

// Counts as if n drafts had top-1 `top1` and were judged at acceptance `rate` (n huge: the prior
// becomes negligible).
void count_bucket(chain_counts& cc, double top1, double rate, double n) {
    const int b = std::min(CHAIN_BUCKETS - 1, (int)(top1 * CHAIN_BUCKETS));
    cc.drafts[b] += n;
    cc.log_top1[b] += n * std::log(top1);
    cc.judged[b] += n;
    cc.accepted[b] += n * rate;
}

bool near(double a, double b, double tol = 1e-6) { return std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b)); }

// Confident drafts rarely accepted, hesitant ones mostly accepted (6000 drafts, 62.5% accepted).
void count_mixed_chains(acceptance& a) {
    count_bucket(a.chain, 0.97, 0.3, 3000);
    count_bucket(a.chain, 0.45, 0.95, 3000);
    a.accepted = 0.625 * 6000;
    a.judged = 6000;
}

// The formula by hand for clasp rounds r at M with LOI 16 and 200 tokens left: tokens per
// round over drafts + verify + the DP's share (every 16 rounds, and once per 200 tokens).
double by_formula(const cost_table& c, int M, const chain_round& r) {
    return r.tokens * c.c1() / (r.drafts * c.c_draft(M) + r.verify_ms + c.c_dp(M) * (1.0 / 16 + r.tokens / 200));
}

}  // namespace

TEST(policy_chain_expectation_by_hand) {
    auto c = cf::gpu_like_costs(32);
    // Every draft's top-1 is 0.6, accepted half the time. Under DET 0.5 a chain drafts 0.6 (>= 0.5,
    // go on) then 0.36 (< 0.5, stop): 2 drafts, 1 + 0.5 + 0.25 tokens, one 3-token verify.
    chain_counts one;
    count_bucket(one, 0.6, 0.5, 1e9);
    auto r = policy::expect_chain(&one, 0.9, 0.5, 12, c);
    CHECK_MSG(near(r[12].drafts, 2) && near(r[12].tokens, 1.75) && near(r[12].verify_ms, c.c_verify(3)),
              r[12].drafts << " " << r[12].tokens << " " << r[12].verify_ms);
    CHECK(near(r[1].drafts, 1) && near(r[1].tokens, 1.5) && near(r[1].verify_ms, c.c_verify(2)));  // capped at k = 1
    // DET 0.3: 0.36 goes on, 0.216 stops: 3 drafts.
    r = policy::expect_chain(&one, 0.9, 0.3, 12, c);
    CHECK(near(r[12].drafts, 3) && near(r[12].tokens, 1.875) && near(r[12].verify_ms, c.c_verify(4)));
    // Half the drafts at 0.95 (always accepted), half at 0.3 (never): under DET 0.5 with k <= 3, a
    // chain stops at its first 0.3. P(1 draft) = 1/2, P(2) = 1/4, P(3) = 1/4.
    chain_counts two;
    count_bucket(two, 0.95, 1.0, 1e9);
    count_bucket(two, 0.3, 0.0, 1e9);
    r = policy::expect_chain(&two, 0.9, 0.5, 3, c);
    CHECK(near(r[3].drafts, 1.75) && near(r[3].tokens, 1.875));
    CHECK(near(r[3].verify_ms, 0.5 * c.c_verify(2) + 0.25 * c.c_verify(3) + 0.25 * c.c_verify(4)));
    // The decision's prediction is the formula on that round: tokens*c1 / (drafts*c_draft + verify + DP).
    policy_memory m;
    m.by_M[8].chain = one;
    m.by_M[8].accepted = 0.5e9;
    m.by_M[8].judged = 1e9;
    policy_inputs in;
    in.L = 32;
    in.fixed_M = 8;
    in.det = 0.5f;
    in.loi = 16;
    decision d = policy::decide(c, &m, in, 100);
    const double by_hand = 1.75 * c.c1() / (2 * c.c_draft(8) + c.c_verify(3) + c.c_dp(8) * (1.0 / 16 + 1.75 / 100));
    CHECK_MSG(near(d.predicted_speedup, by_hand) && d.k == 12 && near(d.drafts, 2), d.reason);
    CHECK_MSG(d.reason.find("under DET 0.50 a round drafts 2.0 and yields 1.8 tokens") != std::string::npos, d.reason);
}

TEST(policy_prediction_follows_the_chains_a_det_lets_through) {
    // A CPU-like table: a verify costs a good part of a step per token, a draft at M=8 0.8 steps.
    std::vector<double> verify, draft, dp;
    for (int T = 1; T <= 65; T++) verify.push_back(1 + 0.35 * (T - 1));
    for (int M = 0; M <= 32; M++) {
        draft.push_back(1.0 - 0.8 * M / 32);
        dp.push_back(3 + 0.2 * M);
    }
    const cost_table c = make_costs(32, verify, draft, dp);
    // Drafts whose top-1 is 0.95, 0.7 or 0.25 (a third each), accepted at 0.9, 0.6 and 0.1; chains
    // drafted as the decode loop does under DET 0.5 with K = 12; a fixed generator.
    const float tops[3] = {0.95f, 0.7f, 0.25f};
    const double rates[3] = {0.9, 0.6, 0.1};
    uint64_t state = 12345;
    auto uniform = [&] {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return (double)(state >> 11) / 9007199254740992.0;
    };
    policy_memory m;
    const int M = 8, K = 12, rounds = 4000;
    double drafts = 0, tokens = 0, verify_ms = 0;
    for (int i = 0; i < rounds; i++) {
        std::vector<float> top1;
        int accepted = 0;
        bool rejected = false;
        double chain = 1;
        for (int k = 0; k < K; k++) {
            const int b = std::min(2, (int)(uniform() * 3));
            top1.push_back(tops[b]);
            if (!rejected && uniform() < rates[b]) accepted++;
            else rejected = true;
            chain *= tops[b];
            if (chain < 0.5 && k + 1 < K) break;
        }
        policy::count_round(m, M, top1.data(), (int)top1.size(), accepted);
        drafts += top1.size();
        tokens += accepted + 1;
        verify_ms += c.c_verify((int)top1.size() + 1);
    }
    policy_inputs in;
    in.L = 32;
    in.max_draft = K;
    in.fixed_M = M;
    in.det = 0.5f;
    in.loi = 16;
    in.is_static = true;  // no periodic DP: the round's own work only
    const int left = 1000000;
    decision d = policy::decide(c, &m, in, left);
    const double D = drafts / rounds, E = tokens / rounds, V = verify_ms / rounds;
    CHECK_MSG(D < 2.5, "the DET should stop chains early: " << D << " drafts a round");
    const double costed = E * c.c1() / (D * c.c_draft(M) + V + c.c_dp(M) * E / left);
    CHECK_MSG(std::fabs(d.drafts / D - 1) < 0.05 && std::fabs(d.tokens / E - 1) < 0.05,
              "predicted " << d.drafts << " drafts, " << d.tokens << " tokens a round; simulated " << D << ", " << E);
    CHECK_MSG(std::fabs(d.predicted_speedup / costed - 1) < 0.05, "predicted " << d.predicted_speedup << "x, simulated " << costed << "x");
    // Without the counts the same settings are priced at K drafts a round, far below.
    decision blind = policy::decide(c, nullptr, in, left);
    CHECK(blind.drafts == K && blind.predicted_speedup < 0.6 * costed);
}

TEST(policy_automatic_det_is_the_formulas_choice) {
    auto c = cf::gpu_like_costs(32);
    policy_memory m;
    // At M=12: confident drafts rarely accepted, hesitant ones mostly accepted; elsewhere drafts
    // are rarely accepted, so M=12 is the best skip count.
    for (int M = 1; M < 32; M++) {
        if (M == 12) continue;
        count_bucket(m.by_M[M].chain, 0.97, 0.02, 3000);
        m.by_M[M].accepted = 0.02 * 3000;
        m.by_M[M].judged = 3000;
    }
    count_mixed_chains(m.by_M[12]);
    policy_inputs in;
    in.L = 32;
    in.loi = 16;
    in.force = true;  // speculate at the best (M, k) whatever the margin says
    decision d = policy::decide(c, &m, in, 200);
    CHECK_MSG(d.speculate && d.M > 0, d.reason);
    // At the (M, k) it picked, the DET is the one of the grid and the cost rule that maximizes the
    // chain model's prediction, and the prediction is that maximum.
    const double alpha = policy::alpha_at(&m, d.M, 32);
    std::vector<double> dets{policy::auto_det(c, d.M, d.k)};  // first: it wins ties
    dets.insert(dets.end(), std::begin(policy::DET_GRID), std::end(policy::DET_GRID));
    double best = -1, best_det = -1;
    for (double det : dets) {
        chain_round r = policy::expect_chain(&m.by_M[d.M].chain, alpha, (float)det, d.k, c)[d.k];
        const double s = by_formula(c, d.M, r);
        if (s > best) best = s, best_det = det;
    }
    CHECK_MSG(near(d.predicted_speedup, best, 1e-9), d.predicted_speedup << " vs the best " << best << ": " << d.reason);
    CHECK_MSG(std::fabs(d.det - best_det) < 1e-6, d.det << " vs " << best_det);
}

TEST(policy_explicit_skip_plans_from_costs_and_prices_with_counts) {
    auto c = cf::gpu_like_costs(32);
    policy_memory m;
    // At M=12: confident drafts rarely accepted, hesitant ones mostly accepted.
    count_mixed_chains(m.by_M[12]);
    policy_inputs in;
    in.L = 32;
    in.fixed_M = 12;
    in.loi = 16;
    // The plan of an explicit skip count is the cost table's alone (the cost rule's DET, K drafts),
    // with or without counts: the counts grow with every reply, and a seeded reply must not change.
    decision d = policy::decide(c, &m, in, 200);
    decision blind = policy::decide(c, nullptr, in, 200);
    CHECK(d.M == 12 && d.k == 12 && d.loi == 16);
    CHECK_MSG(d.det == policy::auto_det(c, 12, 12) && blind.det == d.det && blind.k == d.k && blind.loi == d.loi, d.det << " " << blind.det);
    // The counts price the prediction at that plan: the chain model's value, worked out here.
    const double alpha = policy::alpha_at(&m, 12, 32);
    chain_round r = policy::expect_chain(&m.by_M[12].chain, alpha, d.det, 12, c)[12];
    const double want = by_formula(c, 12, r);
    CHECK_MSG(near(d.predicted_speedup, want, 1e-9), d.predicted_speedup << " vs " << want << ": " << d.reason);
    CHECK(blind.drafts == 12 && d.drafts < 12);
    // An explicit DET is used as given, priced the same way.
    in.det = 0.05f;
    decision given = policy::decide(c, &m, in, 200);
    chain_round g = policy::expect_chain(&m.by_M[12].chain, alpha, 0.05f, 12, c)[12];
    CHECK(given.det == 0.05f);
    CHECK(near(given.predicted_speedup, by_formula(c, 12, g), 1e-9));
}
