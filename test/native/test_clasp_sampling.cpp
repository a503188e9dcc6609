// Speculative sampling is lossless: the acceptance rule alone, and end to end with real drafting,
// where drafts are made and some rejected, against the exact distribution and against plain sampling.
#include "clasp_fixture.h"
#include "spec/accept.h"
#include <algorithm>
#include <map>

using namespace clasp;
using cf::NEWS;

namespace {

// The chi-square statistic's upper quantile for df degrees of freedom (Wilson-Hilferty), z = 3.09
// for the 0.999 quantile.
double chi2_quantile(int df, double z = 3.09) {
    double a = 2.0 / (9.0 * df);
    return df * std::pow(1 - a + z * std::sqrt(a), 3);
}

// Two-sample chi-square over tokens; tokens seen fewer than 10 times in both samples together are pooled.
double chi2_two_sample(const std::map<int, int>& a, const std::map<int, int>& b, int& df) {
    std::map<int, std::pair<int, int>> cells;
    std::pair<int, int> rare{0, 0};
    std::map<int, std::pair<int, int>> all;
    for (auto& [t, c] : a) all[t].first += c;
    for (auto& [t, c] : b) all[t].second += c;
    for (auto& [t, c] : all) {
        if (c.first + c.second >= 10) cells[t] = c;
        else { rare.first += c.first; rare.second += c.second; }
    }
    if (rare.first + rare.second > 0) cells[-1] = rare;
    double na = 0, nb = 0;
    for (auto& [t, c] : cells) { na += c.first; nb += c.second; }
    double chi2 = 0;
    for (auto& [t, c] : cells) {
        double tot = c.first + c.second;
        double ea = tot * na / (na + nb), eb = tot * nb / (na + nb);
        chi2 += (c.first - ea) * (c.first - ea) / ea + (c.second - eb) * (c.second - eb) / eb;
    }
    df = (int)cells.size() - 1;
    return chi2;
}

}  // namespace

// The acceptance rule alone: the emitted token must follow p exactly, for any q.
TEST(clasp_sampling_rule_matches_p) {
    const int V = 6;
    std::vector<float> p = {0.4f, 0.25f, 0.15f, 0.1f, 0.07f, 0.03f};
    std::vector<float> q = {0.1f, 0.1f, 0.5f, 0.05f, 0.05f, 0.2f};
    rng r(42);
    std::vector<int> count(V, 0);
    std::vector<float> scratch;
    const int N = 200000;
    for (int i = 0; i < N; i++) {
        int d = sample_probs(q, r), res = -1;
        int tok = accept_or_resample(p.data(), q.data(), V, d, r, res, scratch) ? d : res;
        count[tok]++;
    }
    double chi2 = 0;
    for (int v = 0; v < V; v++) {
        double expect = p[v] * N;
        chi2 += (count[v] - expect) * (count[v] - expect) / expect;
    }
    CHECK_MSG(chi2 < chi2_quantile(V - 1), "chi2 " << chi2);
}

// The second generated token is the first one a draft/verify round produces (one draft: the budget
// of 3 tokens leaves room for exactly one). Its exact marginal, sum over t1 of p(t1) p(t2 | t1), is
// computed with full forward passes and compared with what the speculative sampler emits.
TEST(clasp_sampling_end_to_end_against_the_exact_marginal) {
    auto e = cf::demo_engine();
    const int V = e->model->cfg.n_vocab;
    gen_params g;
    g.mode = "clasp";
    g.skip = 6;
    g.max_tokens = 3;
    g.ignore_eos = true;
    g.sampling.temperature = 1.0f;
    g.sampling.top_p = 0.9f;
    const std::vector<int>& prompt = NEWS;  // an open continuation: many likely tokens
    std::vector<float> logits, p1, p2, marginal(V, 0.f);
    gen_stats st;
    e->prefill(prompt, logits, nullptr, st);
    warp_probs(logits.data(), V, g.sampling, p1);
    for (int t1 = 0; t1 < V; t1++) {
        if (p1[t1] <= 0) continue;
        std::vector<int> ctx = prompt;
        ctx.push_back(t1);
        e->prefill(ctx, logits, nullptr, st);
        warp_probs(logits.data(), V, g.sampling, p2);
        for (int v = 0; v < V; v++) marginal[v] += p1[t1] * p2[v];
    }
    const int N = 800;
    std::map<int, int> count;
    int drafted = 0, accepted = 0;
    for (int i = 0; i < N; i++) {
        g.sampling.seed = 1000 + i;
        std::vector<token_fate> fates;
        gen_callbacks cb;
        cb.on_token = [&](int, token_fate f, const token_logprobs*) { fates.push_back(f); };
        auto r = e->generate(prompt, g, cb);
        drafted += r.stats.drafted;
        accepted += r.stats.accepted;
        CHECK(r.ids.size() == 3 && fates.size() == 3);
        if (r.ids.size() == 3) {
            CHECK(fates[1] == token_fate::accepted || fates[1] == token_fate::correction);
            count[r.ids[1]]++;
        }
    }
    CHECK_MSG(drafted == N, "every generation drafts once: " << drafted);
    CHECK_MSG(accepted > N / 10 && accepted < N - N / 10, "some drafts accepted and some rejected: " << accepted << " of " << drafted);
    // Chi-square against the exact marginal, pooling tokens expected fewer than 5 times.
    double chi2 = 0, rare_e = 0, rare_o = 0;
    int df = 0;
    for (int v = 0; v < V; v++) {
        double ex = marginal[v] * N;
        int ob = count.count(v) ? count[v] : 0;
        if (ex < 5) { rare_e += ex; rare_o += ob; continue; }
        chi2 += (ob - ex) * (ob - ex) / ex;
        df++;
    }
    if (rare_e > 0) { chi2 += (rare_o - rare_e) * (rare_o - rare_e) / rare_e; df++; }
    df--;
    std::printf("  end-to-end sampling: %d drafts, %d accepted; chi2 %.1f with %d degrees of freedom (0.999 quantile %.1f)\n", drafted,
                accepted, chi2, df, chi2_quantile(df));
    CHECK_MSG(df > 3 && chi2 < chi2_quantile(df), "chi2 " << chi2 << " df " << df);
}

// Longer replies: many rounds with rejections, corrections and bonus tokens. The token at a fixed
// position must follow the same distribution as under plain sampling (two-sample chi-square over
// many seeds).
TEST(clasp_sampling_end_to_end_against_plain_sampling) {
    auto e = cf::demo_engine();
    gen_params g;
    g.max_tokens = 8;
    g.ignore_eos = true;
    g.sampling.temperature = 0.9f;
    g.sampling.top_k = 40;
    const int N = 400, at = 6;
    std::map<int, int> plain, spec;
    int drafted = 0, accepted = 0, rounds = 0;
    for (int i = 0; i < N; i++) {
        g.sampling.seed = 5000 + i;
        g.mode = "ar";
        auto a = e->generate(NEWS, g, {});
        g.sampling.seed = 90000 + i;  // independent draws from the two samplers
        g.mode = "clasp";
        g.skip = 6;
        auto b = e->generate(NEWS, g, {});
        g.skip = -1;
        plain[a.ids[at]]++;
        spec[b.ids[at]]++;
        drafted += b.stats.drafted;
        accepted += b.stats.accepted;
        rounds += b.stats.rounds;
    }
    int df = 0;
    double chi2 = chi2_two_sample(plain, spec, df);
    std::printf("  sampled replies: %d rounds, %d drafts, %d accepted; token %d: chi2 %.1f, %d degrees of freedom (0.999 quantile %.1f)\n",
                rounds, drafted, accepted, at, chi2, df, chi2_quantile(df));
    CHECK_MSG(drafted > N && accepted > 0 && accepted < drafted, "drafts made and some rejected");
    CHECK_MSG(df >= 3 && chi2 < chi2_quantile(df), "chi2 " << chi2 << " df " << df);
}
