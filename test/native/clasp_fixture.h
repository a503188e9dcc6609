// Shared by the CLaSp tests: the demo engine, two prompts, and a synthetic cost table under which
// speculation pays (verifies nearly as cheap as one step, as on a GPU), so that policy-driven runs
// really draft.
#pragma once
#include "runtime/engine.h"
#include "spec/cost_table.h"
#include "util.h"
#include <memory>
#include <vector>

namespace cf {

inline std::string demo_q8() { return th::demo_model(); }

inline std::unique_ptr<clasp::engine> demo_engine(const std::string& backend = "cpu") {
    clasp::engine_options o;
    o.model_path = demo_q8();
    o.backend = backend;
    o.threads = 2;
    return std::make_unique<clasp::engine>(o);
}

// "Count from 12 to 30." through the chat template (golden prompt chat_count).
const std::vector<int> COUNT = {8182, 8188, 306, 8189, 257, 586, 393, 220, 537, 288, 220, 785, 13, 8191, 8188, 307, 8189, 257};
const std::vector<int> NEWS = {8182, 473, 5880, 691, 335, 5453, 345, 263, 683};

// Plain step 1 ms; a T-token verify 1 + 0.02 (T - 1) ms; a draft 0.1 ms plus the kept layers' share
// of 0.9 ms; a DP 0.5 + 0.1 M ms.
inline clasp::cost_table gpu_like_costs(int L, int max_T = 65) {
    std::vector<double> verify, draft, dp;
    for (int T = 1; T <= max_T; T++) verify.push_back(1 + 0.02 * (T - 1));
    for (int M = 0; M <= L; M++) {
        draft.push_back(0.1 + 0.9 * (L - M) / L);
        dp.push_back(0.5 + 0.1 * M);
    }
    return clasp::make_costs(L, verify, draft, dp);
}

// The opposite: a T-token verify costs T steps and a draft nearly a full step (speculation cannot pay).
inline clasp::cost_table cpu_bound_costs(int L, int max_T = 65) {
    std::vector<double> verify, draft, dp;
    for (int T = 1; T <= max_T; T++) verify.push_back(T);
    for (int M = 0; M <= L; M++) {
        draft.push_back(0.95 - 0.05 * M / L);
        dp.push_back(2 + 0.5 * M);
    }
    return clasp::make_costs(L, verify, draft, dp);
}

}  // namespace cf
