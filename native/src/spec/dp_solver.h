// The CLaSp dynamic program (DESIGN.md "CLaSp: the decisions" 3): a pure function of the target
// token's hidden states h_0..h_L, the skip budget M, and a way to run one layer on candidate states.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace clasp {

// Runs layer il on n states (n, d) laid out contiguously, writing (n, d) to out.
using layer_fn = std::function<void(int il, const float* in, int n, float* out)>;

struct dp_result {
    std::vector<uint8_t> skip;         // (L): 1 = layer skipped; exactly M ones
    std::vector<float> path_cosine;    // (L+1): cos(chosen path state at l, h_l); index 0 is 1
    std::vector<float> layer_cosine;   // (L+1): cos(h_l, h_{l-1}); index 0 is NaN
    std::vector<float> table;          // (L+1) x (M+1): D(i, j), NaN where j > i; empty unless asked
    std::vector<uint8_t> choice;       // (L+1) x (M+1): 1 = cell (i, j) skipped layer i-1
    int L = 0, M = 0;
    int layer_calls = 0;               // batched layer calls made
    int candidates = 0;                // single-token layer evaluations made

    // The optimal set for any budget m <= M, backtracked from (L, m): cell (i, j) depends only on
    // cells (i-1, j) and (i-1, j-1), so a DP at M holds the DP at every smaller budget.
    std::vector<uint8_t> skip_for(int m) const;
};

// h: (L+1, d). M in [0, L]. Ties between skip and keep go to skip; one choice bit per cell; the
// path is backtracked from (L, M). Cosines accumulate in double.
dp_result dp_solve(const float* h, int L, int d, int M, const layer_fn& layer, bool want_table);

// The same DP with every candidate run on its own (the oracle for the batched call).
dp_result dp_solve_naive(const float* h, int L, int d, int M, const layer_fn& layer, bool want_table);

// The path of a given skip set (1 = skipped) through the same states, without choosing anything:
// path_cosine[l] = cos(state after layer l-1 along the set, h_l), layer_cosine as dp_solve's. One
// single-token layer call per kept layer. The DP's own path evaluated this way gives its path_cosine.
dp_result dp_path(const float* h, int L, int d, const std::vector<uint8_t>& skip, const layer_fn& layer);

double cosine(const float* a, const float* b, int d);

}  // namespace clasp
