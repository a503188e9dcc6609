#include "cost_table.h"
#include "../core/error.h"
#include "../runtime/engine.h"
#include "../runtime/transformer.h"
#include "dp_solver.h"
#include <algorithm>

namespace clasp {

namespace {

// Fills the gaps (entries <= 0) of a table measured at a few indices: linear between neighbours,
// flat before the first, extrapolated from the last two after the last.
void fill_gaps(std::vector<double>& v, int first) {
    std::vector<int> known;
    for (int i = first; i < (int)v.size(); i++)
        if (v[i] > 0) known.push_back(i);
    if (known.empty()) fail("cost table: nothing was measured");
    for (int i = first; i < (int)v.size(); i++) {
        if (v[i] > 0) continue;
        auto hi = std::lower_bound(known.begin(), known.end(), i);
        if (hi == known.begin()) { v[i] = v[known.front()]; continue; }
        int a = hi == known.end() ? (known.size() > 1 ? known[known.size() - 2] : known.back()) : *(hi - 1);
        int b = hi == known.end() ? known.back() : *hi;
        v[i] = a == b ? v[a] : v[a] + (v[b] - v[a]) * (double)(i - a) / (b - a);
        v[i] = std::max(v[i], 1e-6);
    }
}

double at(const std::vector<double>& v, int i, int first) {
    if (v.size() <= (size_t)first) return 1;
    int n = (int)v.size() - 1;
    if (i < first) i = first;
    if (i <= n) return v[i];
    // Past the table: extend the last step linearly.
    double slope = n - 1 >= first ? v[n] - v[n - 1] : 0;
    return v[n] + std::max(0.0, slope) * (i - n);
}

}  // namespace

double cost_table::c_verify(int T) const { return at(verify, T, 1); }
double cost_table::c_draft(int M) const { return at(draft, std::min(M, L), 0); }
double cost_table::c_dp(int M) const { return at(dp, std::min(M, L), 0); }

cost_table make_costs(int L, std::vector<double> verify_1_to_n, std::vector<double> draft, std::vector<double> dp) {
    if (L < 1 || verify_1_to_n.empty() || (int)draft.size() != L + 1 || (int)dp.size() != L + 1)
        fail("make_costs: verify needs an entry from T = 1, draft and dp one per M = 0..L");
    cost_table c;
    c.L = L;
    c.verify.assign(1, 0);
    c.verify.insert(c.verify.end(), verify_1_to_n.begin(), verify_1_to_n.end());
    c.draft = std::move(draft);
    c.dp = std::move(dp);
    c.measured = true;
    return c;
}

cost_table measure_costs(transformer& tf, int max_T) {
    const int L = tf.cfg().n_layer, d = tf.cfg().n_embd;
    const int pos = tf.cache.n;
    max_T = std::max(1, std::min(max_T, tf.cache.n_ctx - pos));
    cost_table c;
    c.L = L;
    c.verify.assign(max_T + 1, 0);
    c.draft.assign(L + 1, 0);
    c.dp.assign(L + 1, 0);
    std::vector<int32_t> toks(max_T);
    for (int t = 0; t < max_T; t++) toks[t] = (7 * t + 1) % tf.cfg().n_vocab;
    forward_out out;
    auto time_pass = [&](int T, const uint8_t* skip, bool hidden) {
        std::vector<int> rows(T);
        for (int i = 0; i < T; i++) rows[i] = i;
        double t0 = now_ms();
        // Scratch positions: cache.n is unchanged, so the next real pass overwrites them.
        tf.forward(toks.data(), T, pos, skip, true, rows, hidden ? std::vector<int>{0} : std::vector<int>{}, out);
        return now_ms() - t0;
    };
    // What to time: full passes of a few sizes, and one-token passes skipping the last M layers
    // (which layers a draft skips does not change its cost, only how many).
    std::vector<int> sizes;
    for (int T : {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64})
        if (T < max_T) sizes.push_back(T);
    sizes.push_back(max_T);
    std::vector<int> grid = {L / 4, L / 2, (3 * L) / 4, L};
    std::vector<std::vector<uint8_t>> skips;
    for (int M : grid) {
        skips.emplace_back(L, 0);
        for (int l = L - M; l < L; l++) skips.back()[l] = 1;
    }
    time_pass(1, nullptr, false);  // warm-up
    // Three rounds over every size, keeping each one's fastest: interleaved, so that a burst of load
    // on a shared machine does not land on one size only.
    for (int rep = 0; rep < 3; rep++) {
        for (int T : sizes) {
            double ms = time_pass(T, nullptr, false);
            c.verify[T] = rep == 0 ? ms : std::min(c.verify[T], ms);
        }
        for (size_t g = 0; g < grid.size(); g++) {
            double ms = time_pass(1, skips[g].data(), false);
            c.draft[grid[g]] = rep == 0 ? ms : std::min(c.draft[grid[g]], ms);
        }
    }
    // A bigger pass never costs less than a smaller one (noise can say otherwise).
    for (size_t i = 1; i < sizes.size(); i++) c.verify[sizes[i]] = std::max(c.verify[sizes[i]], c.verify[sizes[i - 1]]);
    fill_gaps(c.verify, 1);
    c.draft[0] = c.verify[1];
    fill_gaps(c.draft, 0);

    // The DP on the hidden states of a one-token pass (layer candidates write nothing to the cache).
    time_pass(1, nullptr, true);
    std::vector<float> h = out.hidden;
    auto layer = [&](int il, const float* in, int n, float* o) { tf.layer_candidates(il, in, n, pos, o); };
    for (int M : {1, L / 4, L / 2, (3 * L) / 4, L - 1}) {
        if (M < 1 || M > L) continue;
        double best = 1e30;
        for (int rep = 0; rep < 2; rep++) {
            double t0 = now_ms();
            dp_solve(h.data(), L, d, M, layer, false);
            best = std::min(best, now_ms() - t0);
        }
        c.dp[M] = best;
    }
    c.dp[0] = std::max(1e-6, c.dp[1] * 0.01);  // no layer runs; only cosines
    fill_gaps(c.dp, 0);
    c.measured = true;
    return c;
}

}  // namespace clasp
