// Per-token log-probabilities (gen_params::n_logprobs): logprobs_of against a naive log-softmax and
// sort, and, in every decoding path (ar; clasp and static drafting; the policy's plain steps; greedy
// and sampled), each emitted token's figures against plain decoding's logits at its position.
#include "clasp_fixture.h"
#include "core/error.h"
#include "runtime/logprobs.h"
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

using namespace clasp;
using cf::COUNT;
using cf::NEWS;

namespace {

// The naive reference: log(exp(x_i) / sum_j exp(x_j)) for every i, in double.
std::vector<double> naive_log_softmax(const std::vector<float>& x) {
    double sum = 0;
    for (float v : x) sum += std::exp((double)v);
    std::vector<double> out;
    for (float v : x) out.push_back(std::log(std::exp((double)v) / sum));
    return out;
}

// Every id, most likely first, ties by the lower id (argmax's rule).
std::vector<int> naive_order(const std::vector<float>& x) {
    std::vector<int> idx(x.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return x[a] > x[b]; });
    return idx;
}

// Plain decoding's logits for each token of `ids` after `prompt`: the prefill's last row, then one
// single-token step per token, exactly as mode ar runs them.
std::vector<std::vector<float>> plain_rows(engine& e, const std::vector<int>& prompt, const std::vector<int>& ids) {
    std::vector<std::vector<float>> rows;
    e.truncate(0);
    gen_stats st;
    std::vector<float> logits;
    e.prefill(prompt, logits, nullptr, st);
    rows.push_back(logits);
    forward_out out;
    for (size_t i = 0; i + 1 < ids.size(); i++) {
        int32_t t = ids[i];
        e.tf->forward(&t, 1, e.tf->cache.n, nullptr, true, {0}, {}, out);
        e.tf->cache.append(t);
        rows.push_back(out.logits);
    }
    e.truncate(0);
    return rows;
}

struct run_out {
    gen_result r;
    std::vector<token_logprobs> streamed;
    int null_lp = 0;
};

run_out run(engine& e, const std::vector<int>& prompt, const gen_params& g) {
    run_out o;
    gen_callbacks cb;
    cb.on_token = [&](int, token_fate, const token_logprobs* lp) {
        if (lp) o.streamed.push_back(*lp);
        else o.null_lp++;
    };
    e.truncate(0);
    o.r = e.generate(prompt, g, cb);
    return o;
}

// Each token's reported figures equal the naive log-softmax of plain decoding's logits at its
// position (within tol), its top list is the n most likely there, in order, and the callback got the same.
void check_against_plain(engine& e, const std::vector<int>& prompt, const run_out& o, int n, const std::string& what) {
    const auto& ids = o.r.ids;
    CHECK_MSG(o.r.logprobs.size() == ids.size(), what << ": " << o.r.logprobs.size() << " logprobs for " << ids.size() << " tokens");
    CHECK_MSG(o.streamed.size() == ids.size() && o.null_lp == 0, what << ": every streamed token carries its logprobs");
    if (o.r.logprobs.size() != ids.size()) return;
    const auto rows = plain_rows(e, prompt, ids);
    const double tol = 1e-5;
    double worst = 0;
    for (size_t i = 0; i < ids.size(); i++) {
        const auto ref = naive_log_softmax(rows[i]);
        const auto order = naive_order(rows[i]);
        const token_logprobs& lp = o.r.logprobs[i];
        worst = std::max(worst, std::fabs(lp.logprob - ref[ids[i]]));
        CHECK_MSG(std::fabs(lp.logprob - ref[ids[i]]) <= tol,
                  what << ": token " << i << " logprob " << lp.logprob << ", plain decoding's " << ref[ids[i]]);
        CHECK_MSG((int)lp.top_ids.size() == n && (int)lp.top_logprobs.size() == n, what << ": token " << i << " lists " << lp.top_ids.size());
        for (int j = 0; j < (int)lp.top_ids.size(); j++) {
            CHECK_MSG(lp.top_ids[j] == order[j], what << ": token " << i << " top " << j << " is " << lp.top_ids[j] << ", want " << order[j]);
            CHECK_MSG(std::fabs(lp.top_logprobs[j] - ref[lp.top_ids[j]]) <= tol, what << ": token " << i << " top " << j);
            if (j > 0) CHECK(lp.top_logprobs[j] <= lp.top_logprobs[j - 1]);
        }
        CHECK(lp.logprob <= 0 && lp.logprob <= lp.top_logprobs[0]);
        if (i < o.streamed.size()) CHECK(o.streamed[i].logprob == lp.logprob && o.streamed[i].top_ids == lp.top_ids);
    }
    std::printf("    %s: %zu tokens, largest difference from plain decoding %.2e\n", what.c_str(), ids.size(), worst);
}

}  // namespace

TEST(logprobs_of_matches_naive_log_softmax_and_sort) {
    std::mt19937 gen(7);
    std::normal_distribution<float> nd(0.f, 4.f);
    std::vector<float> x(5000);
    for (auto& v : x) v = nd(gen);
    // ties, among them the largest value, to check the order's tie rule
    const float big = *std::max_element(x.begin(), x.end()) + 1.f;
    x[17] = x[400] = x[4999] = big;
    x[3] = x[2] = x[5] = big - 0.5f;
    const auto ref = naive_log_softmax(x);
    const auto order = naive_order(x);
    for (int n : {1, 2, 5, 20}) {
        for (int id : {0, 17, 400, 2500}) {
            token_logprobs lp = logprobs_of(x.data(), (int)x.size(), id, n);
            CHECK_MSG(std::fabs(lp.logprob - ref[id]) < 1e-5, "n=" << n << " id " << id << ": " << lp.logprob << " vs " << ref[id]);
            CHECK_MSG((int)lp.top_ids.size() == n, "n=" << n << " lists " << lp.top_ids.size());
            for (int j = 0; j < n && j < (int)lp.top_ids.size(); j++) {
                CHECK_MSG(lp.top_ids[j] == order[j], "n=" << n << " top " << j << ": " << lp.top_ids[j] << " vs " << order[j]);
                CHECK(std::fabs(lp.top_logprobs[j] - ref[order[j]]) < 1e-5);
            }
        }
    }
    // the top-1 is argmax's choice, so a greedy token is always its own top-1
    CHECK(logprobs_of(x.data(), (int)x.size(), 0, 1).top_ids[0] == argmax(x.data(), (int)x.size()));
    double mass = 0;
    for (float v : logprobs_of(x.data(), (int)x.size(), 0, 20).top_logprobs) mass += std::exp((double)v);
    CHECK(mass <= 1 + 1e-6);
}

TEST(logprobs_every_path_equals_plain_decoding) {
    auto e = cf::demo_engine();
    const int L = e->model->cfg.n_layer;
    gen_params ar;
    ar.max_tokens = 40;
    ar.ignore_eos = true;
    ar.n_logprobs = 5;
    auto a = run(*e, COUNT, ar);
    check_against_plain(*e, COUNT, a, 5, "ar greedy");
    // Drafting with layers skipped: the figures are the verify pass's, identical to ar's.
    for (const char* mode : {"clasp", "static"}) {
        gen_params g = ar;
        g.mode = mode;
        g.skip = L / 2;
        g.loi = 1;
        auto c = run(*e, COUNT, g);
        CHECK_MSG(c.r.ids == a.r.ids, mode << ": greedy output differs from ar");
        CHECK_MSG(c.r.stats.rounds > 0 && c.r.stats.accepted > 0, mode << ": no draft was accepted");
        check_against_plain(*e, COUNT, c, 5, std::string(mode) + " greedy");
        for (size_t i = 0; i < c.r.logprobs.size() && i < a.r.logprobs.size(); i++) {
            CHECK_MSG(std::fabs(c.r.logprobs[i].logprob - a.r.logprobs[i].logprob) <= 1e-5, mode << ": token " << i << " differs from ar's");
            CHECK(c.r.logprobs[i].top_ids == a.r.logprobs[i].top_ids);
        }
    }
    // Sampled: speculative sampling keeps the raw (unwarped) figures of plain decoding too.
    gen_params s = ar;
    s.sampling.temperature = 0.8f;
    s.sampling.top_p = 0.9f;
    s.sampling.seed = 11;
    s.n_logprobs = 3;
    check_against_plain(*e, NEWS, run(*e, NEWS, s), 3, "ar sampled");
    s.mode = "clasp";
    s.skip = L / 3;
    auto cs = run(*e, NEWS, s);
    CHECK_MSG(cs.r.stats.rounds > 0 && cs.r.stats.drafted > 0, "clasp sampled: no drafting");
    check_against_plain(*e, NEWS, cs, 3, "clasp sampled");
    // The policy's plain steps inside a speculative reply.
    e->set_costs(cf::cpu_bound_costs(L));
    e->memory.clear();
    gen_params pl = ar;
    pl.mode = "clasp";
    pl.n_logprobs = 1;
    auto p = run(*e, NEWS, pl);
    CHECK_MSG(p.r.stats.plain_steps > 0, "expected the policy to decode plainly");
    check_against_plain(*e, NEWS, p, 1, "clasp plain steps");
    e->set_costs(cost_table{});
    e->memory.clear();
}

TEST(logprobs_off_costs_nothing_and_bad_counts_are_refused) {
    auto e = cf::demo_engine();
    gen_params g;
    g.max_tokens = 8;
    g.ignore_eos = true;
    auto o = run(*e, COUNT, g);
    CHECK(o.r.logprobs.empty() && o.streamed.empty() && o.null_lp == 8);
    g.n_logprobs = MAX_LOGPROBS;
    auto full = run(*e, COUNT, g);
    CHECK(full.r.ids == o.r.ids && full.r.logprobs.size() == 8 && full.r.logprobs[0].top_ids.size() == (size_t)MAX_LOGPROBS);
    g.n_logprobs = MAX_LOGPROBS + 1;
    CHECK_THROWS(e->generate(COUNT, g, {}), "logprobs must be between 0");
    g.n_logprobs = -1;
    CHECK_THROWS(e->generate(COUNT, g, {}), "logprobs must be between 0");
}
