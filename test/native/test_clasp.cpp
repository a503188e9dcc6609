// CLaSp's dynamic program: against brute force, against an independent Algorithm 1, on identity
// layers (all ties), its batched and naive forms, backtracking smaller budgets, and cache hygiene.
#include "clasp_fixture.h"
#include "core/error.h"
#include "spec/dp_solver.h"
#include <algorithm>
#include <cstring>
#include <numeric>

using namespace clasp;
using cf::COUNT;
using cf::NEWS;

namespace {

std::vector<std::vector<float>> snapshot(transformer& tf) {
    std::vector<std::vector<float>> s;
    // the raw bytes as floats (an F16 cache: two values per float), host backends only
    size_t n = (size_t)tf.cache.n_ctx * tf.cache.kv_dim * kv_type_bytes(tf.cache.type) / sizeof(float);
    for (int il = 0; il < tf.cache.n_layer; il++) {
        const float *k = (const float*)tf.cache.k[il], *v = (const float*)tf.cache.v[il];
        s.emplace_back(k, k + n);
        s.emplace_back(v, v + n);
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

// A small random network: layer l maps x to x + tanh(W_l x) (a residual block).
struct toy_net {
    int L, d;
    std::vector<std::vector<float>> W;
    toy_net(int L_, int d_, uint32_t seed) : L(L_), d(d_) {
        for (int l = 0; l < L; l++) W.push_back(tu::randv((size_t)d * d, seed + l, 0.6f / std::sqrt((float)d)));
    }
    void layer(int il, const float* in, int n, float* out) const {
        for (int r = 0; r < n; r++)
            for (int i = 0; i < d; i++) {
                float s = 0;
                for (int j = 0; j < d; j++) s += W[il][(size_t)i * d + j] * in[(size_t)r * d + j];
                out[(size_t)r * d + i] = in[(size_t)r * d + i] + std::tanh(s);
            }
    }
    std::vector<float> states(uint32_t seed) const {  // h_0 random, h_l = layer l-1 of h_{l-1}
        std::vector<float> h((size_t)(L + 1) * d);
        auto h0 = tu::randv(d, seed);
        std::copy(h0.begin(), h0.end(), h.begin());
        for (int l = 0; l < L; l++) layer(l, h.data() + (size_t)l * d, 1, h.data() + (size_t)(l + 1) * d);
        return h;
    }
};

// Algorithm 1 of the paper, written out independently: every cell (i, j) carries its state and its
// whole skip set; the cell keeps layer i-1 or skips it, whichever state is closer (cosine) to h_i.
std::vector<uint8_t> algorithm1(const toy_net& net, const std::vector<float>& h, int M) {
    const int L = net.L, d = net.d;
    struct cell {
        std::vector<float> g;
        std::vector<uint8_t> set;
        bool ok = false;
    };
    std::vector<std::vector<cell>> c(L + 1, std::vector<cell>(M + 1));
    c[0][0] = {std::vector<float>(h.begin(), h.begin() + d), std::vector<uint8_t>(L, 0), true};
    for (int i = 1; i <= L; i++) {
        const float* hi = h.data() + (size_t)i * d;
        for (int j = 0; j <= std::min(i, M); j++) {
            cell best;
            double best_cos = -2;
            if (j >= 1 && c[i - 1][j - 1].ok) {  // skip layer i-1: the state passes through
                best = c[i - 1][j - 1];
                best.set[i - 1] = 1;
                best_cos = cosine(best.g.data(), hi, d);
            }
            if (j <= i - 1 && c[i - 1][j].ok) {  // keep layer i-1
                cell k = c[i - 1][j];
                std::vector<float> y(d);
                net.layer(i - 1, k.g.data(), 1, y.data());
                double kc = j == 0 ? 2 : cosine(y.data(), hi, d);  // j = 0: the exact path
                if (kc > best_cos) {  // a tie goes to skip
                    k.g = y;
                    best = k;
                }
            }
            best.ok = true;
            c[i][j] = best;
        }
    }
    return c[L][M].set;
}

}  // namespace

TEST(clasp_dp_identity_layers_skip_the_last_M) {
    // Identity layers: every state equals h_0, every cosine is 1, every cell ties and goes to skip.
    for (int L : {1, 5, 32}) {
        const int d = 8;
        auto h0 = tu::randv(d, 3);
        std::vector<float> h;
        for (int l = 0; l <= L; l++) h.insert(h.end(), h0.begin(), h0.end());
        auto identity = [&](int, const float* in, int n, float* out) { std::memcpy(out, in, (size_t)n * d * 4); };
        for (int M = 0; M <= L; M++) {
            dp_result r = dp_solve(h.data(), L, d, M, identity, false);
            std::vector<uint8_t> want(L, 0);
            for (int l = L - M; l < L; l++) want[l] = 1;
            CHECK_MSG(r.skip == want, "L=" << L << " M=" << M << ": ties must skip the last M layers");
        }
    }
}

TEST(clasp_dp_matches_independent_algorithm_1) {
    int cases = 0, mismatches = 0;
    for (uint32_t seed : {1u, 2u, 3u}) {
        toy_net net(9, 6, 100 * seed);
        auto h = net.states(seed);
        auto layer = [&](int il, const float* in, int n, float* out) { net.layer(il, in, n, out); };
        for (int M = 0; M <= net.L; M++) {
            dp_result r = dp_solve(h.data(), net.L, net.d, M, layer, false);
            auto want = algorithm1(net, h, M);
            cases++;
            if (r.skip != want) mismatches++;
            CHECK_MSG(std::accumulate(r.skip.begin(), r.skip.end(), 0) == M, "exactly M skipped");
        }
    }
    CHECK_MSG(mismatches == 0, mismatches << " of " << cases << " sets differ from Algorithm 1");
}

TEST(clasp_dp_backtracking_gives_every_smaller_budget) {
    toy_net net(12, 8, 7);
    auto h = net.states(11);
    auto layer = [&](int il, const float* in, int n, float* out) { net.layer(il, in, n, out); };
    dp_result big = dp_solve(h.data(), net.L, net.d, net.L - 1, layer, false);
    for (int m = 0; m < net.L; m++) {
        dp_result own = dp_solve(h.data(), net.L, net.d, m, layer, false);
        CHECK_MSG(big.skip_for(m) == own.skip, "budget " << m << " backtracked from the largest DP differs from its own DP");
    }
    CHECK_THROWS(big.skip_for(net.L), "budget");
}

TEST(clasp_dp_batched_equals_naive_and_leaves_cache_untouched) {
    auto e = cf::demo_engine();
    auto h = prefill_hidden(*e, COUNT);
    const int L = e->model->cfg.n_layer, d = e->model->cfg.n_embd, p = (int)COUNT.size() - 1;
    auto before = snapshot(*e->tf);
    int cache_n = e->tf->cache.n;
    auto layer = [&](int il, const float* in, int n, float* out) { e->tf->layer_candidates(il, in, n, p, out); };
    dp_result big = dp_solve(h.data(), L, d, 31, layer, false);
    for (int M : {1, 4, 12, 20, 31}) {
        dp_result a = dp_solve(h.data(), L, d, M, layer, true);
        dp_result b = dp_solve_naive(h.data(), L, d, M, layer, true);
        CHECK_MSG(a.skip == b.skip, "M=" << M << ": batched and naive DP chose different layers");
        CHECK(std::memcmp(a.table.data(), b.table.data(), a.table.size() * 4) == 0);
        CHECK_MSG(std::accumulate(a.skip.begin(), a.skip.end(), 0) == M, "exactly M layers skipped");
        CHECK_MSG(big.skip_for(M) == a.skip, "M=" << M << ": backtracking the M=31 DP differs from a DP at M");
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
    auto e = cf::demo_engine();
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
    auto e = cf::demo_engine();
    auto& tf = *e->tf;
    const int L = e->model->cfg.n_layer, V = e->model->cfg.n_vocab;
    std::vector<float> l0;
    gen_stats st;
    e->prefill(NEWS, l0, nullptr, st);
    int n = tf.cache.n;
    CHECK(e->cached() == NEWS);
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
    // The cache's token list follows append and truncate.
    tf.cache.append(ver.data(), 2);
    CHECK(tf.cache.n == n + 2 && (int)e->cached().size() == n + 2 && e->cached().back() == 331);
    e->truncate(3);
    CHECK(tf.cache.n == 3 && e->cached() == std::vector<int>(NEWS.begin(), NEWS.begin() + 3));
}
