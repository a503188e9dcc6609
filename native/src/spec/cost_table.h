// What CLaSp's steps cost on this model and machine, measured once per engine and then kept: the
// policy decides from this table and from token counts only, never from a clock read during a
// reply, so a seeded reply gives the same text however busy the machine is.
#pragma once
#include <vector>

namespace clasp {

struct transformer;

struct cost_table {
    int L = 0;
    std::vector<double> verify;  // verify[T]: ms of one full pass over T tokens (T >= 1; index 0 unused)
    std::vector<double> draft;   // draft[M]: ms of a one-token pass with M of the L layers skipped (M = 0..L)
    std::vector<double> dp;      // dp[M]: ms of one DP run with skip budget M (M = 0..L)
    bool measured = false;

    // A plain decoding step: what every speed-up here is measured against.
    double c1() const { return c_verify(1); }
    // Linear between measured sizes, extrapolated from the last two past the end.
    double c_verify(int T) const;
    double c_draft(int M) const;
    double c_dp(int M) const;
};

// Times full passes of a few batch sizes up to max_T, one-token passes with a few skip counts, and
// DP runs with a few budgets, at scratch positions after the cache (which keeps its length);
// the sizes in between are interpolated. The fastest of three interleaved rounds for passes, of
// two for DP runs.
cost_table measure_costs(transformer& tf, int max_T);

// A table from given figures (tests, and a table kept from an earlier run): verify has entries for
// T = 1..n, draft and dp for M = 0..L.
cost_table make_costs(int L, std::vector<double> verify_1_to_n, std::vector<double> draft, std::vector<double> dp);

}  // namespace clasp
