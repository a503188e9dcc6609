// The CLaSp policy on synthetic cost tables: it falls back where speculation cannot pay, speculates
// where it pays with M at the argmax, recovers across replies through probes with back-off, is a
// pure function of the table and the counts, and honours explicit settings.
#include "clasp_fixture.h"
#include "spec/policy.h"

using namespace clasp;

namespace {

policy_inputs inputs(int L, int K = 12) {
    policy_inputs in;
    in.L = L;
    in.max_draft = K;
    return in;
}

// Counts as if `judged` drafts had been judged at M with acceptance alpha.
void count(policy_memory& m, int M, double alpha, double judged) {
    m.by_M[M].accepted += alpha * judged;
    m.by_M[M].judged += judged;
}

bool same(const decision& a, const decision& b) {
    return a.speculate == b.speculate && a.probe == b.probe && a.M == b.M && a.k == b.k && a.loi == b.loi && a.det == b.det &&
           a.alpha == b.alpha && a.predicted_speedup == b.predicted_speedup && a.reason == b.reason;
}

}  // namespace

TEST(policy_expected_tokens_and_speedup_formula) {
    CHECK(std::fabs(policy::expected_tokens(0.5, 2) - 1.75) < 1e-12);  // 1 + 0.5 + 0.25
    CHECK(policy::expected_tokens(1.0, 4) == 5);
    CHECK(policy::expected_tokens(0.0, 4) == 1);
    auto c = cf::gpu_like_costs(32);
    // E c1 / (k c_draft(M) + c_verify(k+1) + dp), by hand: M=16, k=4, alpha 0.8, dp 0.25
    double E = (1 - std::pow(0.8, 5)) / 0.2, cost = 4 * (0.1 + 0.45) + (1 + 0.08) + 0.25;
    const chain_round r = policy::expect_chain(nullptr, 0.8, 0.5, 4, c)[4];  // nothing counted: chains run to k
    CHECK(r.drafts == 4 && std::fabs(r.tokens - E) < 1e-12 && r.verify_ms == c.c_verify(5));
    CHECK(std::fabs(policy::predicted_speedup(c, 16, r, 0.25) - E / cost) < 1e-9);
}

TEST(policy_falls_back_where_speculation_cannot_pay) {
    auto c = cf::cpu_bound_costs(32);
    policy_memory m;
    count(m, 12, 0.95, 500);  // even with high acceptance
    decision d = policy::decide(c, &m, inputs(32), 200);
    CHECK_MSG(!d.speculate && !d.probe && !d.can_pay, d.reason);
    CHECK_MSG(d.reason.find("even with every draft accepted") != std::string::npos, d.reason);
    // No probe however long it has been: a probe could not find a paying setting.
    m.plain_tokens = 100000;
    CHECK(!policy::decide(c, &m, inputs(32), 200).speculate);
}

TEST(policy_speculates_at_the_argmax) {
    auto c = cf::gpu_like_costs(32);
    policy_memory m;
    for (int M = 4; M <= 28; M += 4) count(m, M, std::pow(1.0 - M / 32.0, 0.25), 400);
    auto in = inputs(32);
    decision d = policy::decide(c, &m, in, 256);
    CHECK_MSG(d.speculate && !d.probe && d.predicted_speedup >= policy::MARGIN, d.reason);
    // The argmax by brute force over (M, k) with the policy's own alpha and LOI.
    double best = -1;
    int bM = -1, bk = -1;
    for (int M = 1; M < 32; M++)
        for (int k = 1; k <= 12; k++) {
            double a = policy::alpha_at(&m, M, 32), E = policy::expected_tokens(a, k);
            const chain_round r{(double)k, E, c.c_verify(k + 1)};  // no chain counts: k drafts a round
            int loi = policy::auto_loi(c, M, r);
            double s = policy::predicted_speedup(c, M, r, c.c_dp(M) * (1.0 / loi + E / 256));
            if (s > best) { best = s; bM = M; bk = k; }
        }
    CHECK_MSG(d.M == bM && d.k == bk, "decided M=" << d.M << " k=" << d.k << ", argmax M=" << bM << " k=" << bk);
    CHECK(std::fabs(d.predicted_speedup - best) < 1e-12);
    // Automatic LOI keeps the DP's share at or below 5%, and is the smallest that does.
    double round = d.k * c.c_draft(d.M) + c.c_verify(d.k + 1);
    auto share = [&](int loi) { return c.c_dp(d.M) / loi / (round + c.c_dp(d.M) / loi); };
    CHECK_MSG(share(d.loi) <= 0.05 + 1e-12 && (d.loi == 1 || share(d.loi - 1) > 0.05), "LOI " << d.loi);
    CHECK(d.reason.find("speculating") == 0 && d.reason.find("verify costs") != std::string::npos);
}

TEST(policy_recovers_across_replies_with_backoff) {
    auto c = cf::gpu_like_costs(32);
    policy_memory m;
    auto in = inputs(32);
    for (int M = 1; M < 32; M++) count(m, M, 0.05, 200);  // acceptance measured very low
    decision plain = policy::decide(c, &m, in, 100);
    CHECK_MSG(!plain.speculate, plain.reason);
    CHECK(plain.reason.find("next probe after 64") != std::string::npos);
    // Plain tokens count across replies: 40 in one reply, 30 in the next reach the first probe.
    m.plain_tokens += 40;
    CHECK(!policy::decide(c, &m, in, 100).speculate);
    m.plain_tokens += 30;
    decision probe = policy::decide(c, &m, in, 100);
    CHECK_MSG(probe.speculate && probe.probe, probe.reason);
    policy::note(m, plain, probe);
    CHECK(m.plain_tokens == 0);
    // The probe finds nothing better: back to plain, and the next probe waits twice as long.
    decision after = policy::decide(c, &m, in, 100);
    policy::note(m, probe, after);
    CHECK(!after.speculate && m.backoff == 1 && policy::probe_after(m.backoff) == 128);
    // Then the text changes and a later probe counts high acceptance: speculation comes back.
    m.plain_tokens = 128;
    decision probe2 = policy::decide(c, &m, in, 100);
    CHECK(probe2.probe);
    policy::note(m, after, probe2);
    count(m, probe2.M, 0.95, 5000);
    decision back = policy::decide(c, &m, in, 100);
    policy::note(m, probe2, back);
    CHECK_MSG(back.speculate && !back.probe && m.backoff == 0, back.reason);
}

TEST(policy_is_deterministic_and_explicit_settings_win) {
    auto c = cf::gpu_like_costs(32);
    policy_memory m;
    count(m, 10, 0.7, 300);
    count(m, 20, 0.4, 300);
    auto in = inputs(32);
    CHECK(same(policy::decide(c, &m, in, 128), policy::decide(c, &m, in, 128)));
    // Explicit M, DET and LOI: used as given, even where the costs say speculation cannot pay.
    auto cpu = cf::cpu_bound_costs(32);
    in.fixed_M = 9;
    in.det = 0.33f;
    in.loi = 7;
    decision d = policy::decide(cpu, nullptr, in, 128);
    CHECK(d.speculate && d.M == 9 && d.det == 0.33f && d.loi == 7 && d.k == 12);
    CHECK(d.reason.find("M=9 as set") == 0);
    in.fixed_M = 0;
    CHECK(!policy::decide(cpu, nullptr, in, 128).speculate);
}

TEST(policy_acceptance_comes_from_counts) {
    policy_memory m;
    // Chains: 3 drafted, 2 accepted (judged 3: two accepts and the rejection); 4 drafted, 4 accepted.
    const float top1[] = {0.9f, 0.9f, 0.9f, 0.9f};
    policy::count_round(m, 8, top1, 3, 2);
    policy::count_round(m, 8, top1, 4, 4);
    CHECK(m.by_M[8].accepted == 6 && m.by_M[8].judged == 7);
    // With many counts the estimate at M approaches the counted rate; untried M follow the curve.
    count(m, 8, 0.9, 10000);
    CHECK(std::fabs(policy::alpha_at(&m, 8, 32) - 0.9) < 0.01);
    CHECK(policy::alpha_at(&m, 4, 32) > policy::alpha_at(&m, 8, 32));
    CHECK(policy::alpha_at(&m, 16, 32) < policy::alpha_at(&m, 8, 32));
    CHECK(std::fabs(policy::alpha_at(nullptr, 8, 32) - 0.75) < 1e-9);  // the prior: 1 - M/L
}
