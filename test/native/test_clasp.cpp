// CLaSp: the DP against brute force and against its naive form, cache hygiene, exact greedy
// output in every mode and with extreme skip sets, and the sampling rule's exactness.
#include "core/error.h"
#include "runtime/engine.h"
#include "spec/accept.h"
#include "spec/dp_solver.h"
#include "util.h"
#include <algorithm>
#include <cstring>
#include <numeric>

using namespace clasp;

namespace {

std::string demo_q8() { return th::shared_dir() + "/models/clasp-demo-29M-q8_0.gguf"; }

std::unique_ptr<engine> demo_engine(const std::string& backend = "cpu") {
    engine_options o;
    o.model_path = demo_q8();
    o.backend = backend;
    o.threads = 2;
    return std::make_unique<engine>(o);
}

// "Count from 12 to 30." through the chat template (golden prompt chat_count).
const std::vector<int> COUNT = {8182, 8188, 306, 8189, 257, 586, 393, 220, 537, 288, 220, 785, 13, 8191, 8188, 307, 8189, 257};
const std::vector<int> NEWS = {8182, 473, 5880, 691, 335, 5453, 345, 263, 683};

std::vector<std::vector<float>> snapshot(transformer& tf) {
    std::vector<std::vector<float>> s;
    size_t n = (size_t)tf.cache.n_ctx * tf.cache.kv_dim;
    for (int il = 0; il < tf.cache.n_layer; il++) {
        s.emplace_back(tf.cache.k[il], tf.cache.k[il] + n);
        s.emplace_back(tf.cache.v[il], tf.cache.v[il] + n);
    }
    return s;
}

// Hidden states h_0..h_L of the last prompt token, with the prompt in the cache.
std::vector<float> prefill_hidden(engine& e, const std::vector<int>& prompt) {
    gen_stats st;
    std::vector<float> logits, hidden;
    e.prefill(prompt, logits, &hidden, st);
    return hidden;
}

}  // namespace

TEST(clasp_dp_batched_equals_naive_and_leaves_cache_untouched) {
    auto e = demo_engine();
    auto h = prefill_hidden(*e, COUNT);
    const int L = e->model->cfg.n_layer, d = e->model->cfg.n_embd, p = (int)COUNT.size() - 1;
    auto before = snapshot(*e->tf);
    int cache_n = e->tf->cache.n;
    auto layer = [&](int il, const float* in, int n, float* out) { e->tf->layer_candidates(il, in, n, p, out); };
    for (int M : {1, 4, 12, 20, 31}) {
        dp_result a = dp_solve(h.data(), L, d, M, layer, true);
        dp_result b = dp_solve_naive(h.data(), L, d, M, layer, true);
        CHECK_MSG(a.skip == b.skip, "M=" << M << ": batched and naive DP chose different layers");
        CHECK(std::memcmp(a.table.data(), b.table.data(), a.table.size() * 4) == 0);
        CHECK_MSG(std::accumulate(a.skip.begin(), a.skip.end(), 0) == M, "exactly M layers skipped");
        CHECK(a.layer_calls == L - 1);  // one batched call per layer that has keep-candidates
        CHECK(a.path_cosine.size() == (size_t)L + 1 && a.path_cosine[0] == 1.f);
        CHECK(std::isnan(a.layer_cosine[0]) && a.layer_cosine.size() == (size_t)L + 1);
    }
    CHECK(e->tf->cache.n == cache_n);
    // bitwise: positions past the cache's end hold whatever the allocation held (NaN != NaN)
    auto after = snapshot(*e->tf);
    bool same = after.size() == before.size();
    for (size_t i = 0; same && i < after.size(); i++)
        same = std::memcmp(after[i].data(), before[i].data(), after[i].size() * sizeof(float)) == 0;
    CHECK_MSG(same, "the DP changed the KV cache");
}

// Exhaustive search over the first 10 layers with M = 3 (120 sets), on several target tokens.
TEST(clasp_dp_against_brute_force) {
    auto e = demo_engine();
    const int d = e->model->cfg.n_embd, Lsub = 10, M = 3;
    int found_best = 0, cases = 0;
    double worst_gap = 0, dp_minus_median = 1e9;
    for (const auto& prompt : {COUNT, NEWS}) {
        for (int cut : {0, 2, 4}) {
            std::vector<int> pr(prompt.begin(), prompt.end() - cut);
            e->truncate(0);
            auto h = prefill_hidden(*e, pr);
            const int p = (int)pr.size() - 1;
            auto layer = [&](int il, const float* in, int n, float* out) { e->tf->layer_candidates(il, in, n, p, out); };
            // The DP over the first Lsub layers: h_0..h_Lsub are the first Lsub+1 states.
            dp_result r = dp_solve(h.data(), Lsub, d, M, layer, false);
            auto run_set = [&](const std::vector<uint8_t>& skip) {
                std::vector<float> x(h.begin(), h.begin() + d), y(d);
                for (int il = 0; il < Lsub; il++) {
                    if (skip[il]) continue;
                    layer(il, x.data(), 1, y.data());
                    x = y;
                }
                return cosine(x.data(), h.data() + (size_t)Lsub * d, d);
            };
            double dp_cos = run_set(r.skip);
            CHECK_MSG(std::fabs(dp_cos - r.path_cosine[Lsub]) < 1e-6, "the DP's final cosine is what its set really gives");
            std::vector<double> all;
            double best = -2;
            for (int a = 0; a < Lsub; a++)
                for (int b = a + 1; b < Lsub; b++)
                    for (int c = b + 1; c < Lsub; c++) {
                        std::vector<uint8_t> s(Lsub, 0);
                        s[a] = s[b] = s[c] = 1;
                        double v = run_set(s);
                        all.push_back(v);
                        best = std::max(best, v);
                    }
            std::sort(all.begin(), all.end());
            double median = all[all.size() / 2];
            cases++;
            if (dp_cos >= best - 1e-9) found_best++;
            worst_gap = std::max(worst_gap, best - dp_cos);
            dp_minus_median = std::min(dp_minus_median, dp_cos - median);
        }
    }
    std::printf("  DP vs brute force (10 layers, M=3): best set found in %d/%d cases, worst cosine gap %.5f, "
                "DP above the median set by at least %.5f\n", found_best, cases, worst_gap, dp_minus_median);
    CHECK_MSG(dp_minus_median > 0, "the DP should beat a typical skip set");
    CHECK_MSG(worst_gap < 0.05, "the DP's set should be close to the best: gap " << worst_gap);
}

// Drafting writes scratch K/V; rejecting, truncating and verifying must give exactly the logits of
// never having drafted.
TEST(clasp_draft_reject_truncate_verify_is_exact) {
    auto e = demo_engine();
    auto& tf = *e->tf;
    const int L = e->model->cfg.n_layer, V = e->model->cfg.n_vocab;
    std::vector<float> l0;
    gen_stats st;
    e->prefill(NEWS, l0, nullptr, st);
    int n = tf.cache.n;
    // Reference: verify [x, y] without any drafting.
    std::vector<int32_t> ver = {707, 331};
    forward_out ref, out;
    tf.forward(ver.data(), 2, n, nullptr, true, {0, 1}, {}, ref);
    // Now draft three tokens with half the layers skipped (scratch writes), then verify again.
    std::vector<uint8_t> skip(L, 0);
    for (int l = 1; l < L; l += 2) skip[l] = 1;
    for (int k = 0; k < 3; k++) {
        int32_t t = 100 + k;
        tf.forward(&t, 1, n + k, skip.data(), true, {0}, {}, out);
    }
    tf.cache.truncate(n);
    tf.forward(ver.data(), 2, n, nullptr, true, {0, 1}, {}, out);
    CHECK(std::memcmp(out.logits.data(), ref.logits.data(), (size_t)2 * V * 4) == 0);
}

TEST(clasp_greedy_lossless_all_modes_and_extreme_skips) {
    auto e = demo_engine();
    const int L = e->model->cfg.n_layer;
    for (const auto& prompt : {COUNT, NEWS}) {
        gen_params ar;
        ar.max_tokens = 48;
        ar.ignore_eos = true;
        e->truncate(0);
        auto want = e->generate(prompt, ar, {}).ids;
        CHECK(want.size() == 48);
        for (int M : {0, 1, L / 2, L - 1}) {
            for (const char* mode : {"clasp", "static"}) {
                gen_params g = ar;
                g.mode = mode;
                g.skip = M;
                g.loi = 1;
                e->truncate(0);
                auto got = e->generate(prompt, g, {});
                CHECK_MSG(got.ids == want, mode << " M=" << M << " differs from ar");
                CHECK(got.stats.final_M == M);
                if (M > 0) CHECK(got.stats.rounds > 0);
            }
        }
        gen_params au = ar;
        au.mode = "clasp";
        e->truncate(0);
        auto got = e->generate(prompt, au, {});
        CHECK_MSG(got.ids == want, "clasp with --skip auto differs from ar");
    }
}

TEST(clasp_round_events_are_consistent) {
    auto e = demo_engine();
    gen_params g;
    g.mode = "clasp";
    g.skip = 10;
    g.max_tokens = 40;
    g.loi = 2;
    std::vector<round_event> rounds;
    std::vector<int> tokens;
    gen_callbacks cb;
    cb.on_round = [&](const round_event& r) { rounds.push_back(r); };
    cb.on_token = [&](int id) { tokens.push_back(id); };
    auto r = e->generate(COUNT, g, cb);
    CHECK(tokens == r.ids);
    CHECK((int)rounds.size() == r.stats.rounds);
    int produced = 1, dps = 0;  // the first token comes from the prefill
    for (const auto& ev : rounds) {
        CHECK(ev.accepted <= (int)ev.draft_ids.size());
        CHECK(ev.draft_q.size() == ev.draft_ids.size() && ev.verify_p.size() == ev.draft_ids.size());
        CHECK((int)ev.skip.size() == 10);
        if (ev.dp) {
            dps++;
            CHECK(ev.dp->path_cosine.size() == 33);
        }
        produced += ev.accepted + 1;
    }
    CHECK(dps == r.stats.dp_runs || dps + 1 == r.stats.dp_runs);  // a DP after the last round has no round
    CHECK(produced >= (int)r.ids.size());
    CHECK(r.stats.mean_accepted_length >= 1.0);
}

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
    double chi2 = 0, tv = 0;
    for (int v = 0; v < V; v++) {
        double expect = p[v] * N;
        chi2 += (count[v] - expect) * (count[v] - expect) / expect;
        tv += std::fabs(count[v] / (double)N - p[v]) / 2;
    }
    // chi-square with 5 degrees of freedom: 20.5 is the 0.999 quantile.
    CHECK_MSG(chi2 < 20.5, "chi2 " << chi2 << " tv " << tv);
}

// End to end with temperature and top-p: the second generated token is the first one produced by a
// draft/verify round. Its marginal distribution, sum over t1 of p(t1) p(t2 | t1), is computed
// exactly with full forward passes and compared with the tokens the speculative sampler emits.
TEST(clasp_sampling_end_to_end_distribution) {
    auto e = demo_engine();
    const int V = e->model->cfg.n_vocab;
    gen_params g;
    g.mode = "clasp";
    g.skip = 6;
    g.loi = 1000;
    g.max_tokens = 2;
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
    const int N = 1000;
    std::vector<int> count(V, 0);
    for (int i = 0; i < N; i++) {
        g.sampling.seed = 1000 + i;
        auto r = e->generate(prompt, g, {});
        CHECK(r.ids.size() == 2);
        if (r.ids.size() == 2) count[r.ids[1]]++;
    }
    auto tv_of = [&](const std::vector<int>& c) {
        double tv = 0;
        for (int v = 0; v < V; v++) tv += std::fabs(c[v] / (double)N - marginal[v]) / 2;
        return tv;
    };
    double tv = tv_of(count);
    // The same number of exact draws from the marginal, twenty times: the noise floor of this test.
    double floor_max = 0;
    for (int s = 0; s < 20; s++) {
        rng r(77 + s);
        std::vector<int> c(V, 0);
        for (int i = 0; i < N; i++) c[sample_probs(marginal, r)]++;
        floor_max = std::max(floor_max, tv_of(c));
    }
    std::printf("  end-to-end sampling: total variation %.4f over %d samples (exact draws: up to %.4f)\n", tv, N, floor_max);
    CHECK_MSG(tv < 1.25 * floor_max, "tv " << tv << " vs noise floor " << floor_max);
}
