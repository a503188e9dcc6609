// A given skip set (gen_params::skip_layers, the layer lab's "re-run with this set"): greedy output
// equals plain greedy output, drafting happens with exactly that set in every round, no DP runs, no
// policy memory is touched, the first round carries the set's path cosines, and bad sets are refused.
#include "clasp_fixture.h"
#include "core/error.h"
#include "spec/dp_solver.h"
#include <algorithm>
#include <cmath>

using namespace clasp;
using cf::COUNT;
using cf::NEWS;

namespace {

struct given_run {
    gen_result r;
    std::vector<round_event> rounds;
    std::vector<policy_event> decisions;
};

given_run run_given(engine& e, const std::vector<int>& prompt, const gen_params& g) {
    given_run out;
    gen_callbacks cb;
    cb.on_round = [&](const round_event& r) { out.rounds.push_back(r); };
    cb.on_policy = [&](const policy_event& p) { out.decisions.push_back(p); };
    e.truncate(0);
    out.r = e.generate(prompt, g, cb);
    return out;
}

gen_params base(int max_tokens = 40) {
    gen_params g;
    g.max_tokens = max_tokens;
    g.ignore_eos = true;
    return g;
}

}  // namespace

TEST(clasp_given_set_is_lossless_and_used_every_round) {
    auto e = cf::demo_engine();
    const int L = e->model->cfg.n_layer;
    // Under costs where the policy alone would never speculate: a given set is still honoured.
    e->set_costs(cf::cpu_bound_costs(L));
    for (const auto& prompt : {COUNT, NEWS}) {
        auto want = run_given(*e, prompt, base()).r.ids;
        CHECK(want.size() == 40);
        const std::vector<std::vector<int>> sets = {{31}, {3, 5, 7, 8, 9}, {20, 12, 28, 16, 24, 30}, {}};
        for (auto set : sets) {
            if (set.empty())  // every layer but the first: the most a set may hold
                for (int l = 1; l < L; l++) set.push_back(l);
            gen_params g = base();
            g.mode = "static";
            g.skip_layers = set;
            auto got = run_given(*e, prompt, g);
            std::vector<int> sorted = set;
            std::sort(sorted.begin(), sorted.end());
            CHECK_MSG(got.r.ids == want, "set of " << set.size() << ": output differs from plain greedy");
            CHECK_MSG(got.r.stats.rounds > 0 && got.r.stats.drafted > 0, "set of " << set.size() << ": no drafting happened");
            CHECK(got.r.stats.policy == "given" && got.r.stats.final_M == (int)set.size());
            CHECK_MSG(got.r.stats.dp_runs == 0 && got.r.stats.plain_steps == 0, "a given set runs no DP and never falls back");
            CHECK((int)got.rounds.size() == got.r.stats.rounds);
            for (const auto& ev : got.rounds) CHECK_MSG(ev.skip == sorted, "round " << ev.index << " used another skip set");
            CHECK(got.decisions.size() == 1 && got.decisions[0].d.speculate);
            CHECK_MSG(got.r.stats.reason.find("as given") != std::string::npos, got.r.stats.reason);
            // The first round carries the set's path, marked as given; no other round has a DP event.
            CHECK(got.rounds[0].dp && got.rounds[0].dp->given && got.rounds[0].dp->M == (int)set.size());
            CHECK(got.rounds[0].dp->target_pos == (int)prompt.size() - 1 && got.rounds[0].dp->path_cosine.size() == (size_t)L + 1);
            for (size_t i = 1; i < got.rounds.size(); i++) CHECK(!got.rounds[i].dp);
        }
    }
    CHECK_MSG(e->memory.empty(), "a given set must not read or write the policy's memory");
    e->set_costs(cost_table{});
}

// The path of the DP's own choice, evaluated as a given set, has the DP's path cosines; and a given
// set's run starts from the same cosines as that evaluation on a fresh prefill.
TEST(clasp_given_path_matches_the_dp_path) {
    auto e = cf::demo_engine();
    const int L = e->model->cfg.n_layer, d = e->model->cfg.n_embd;
    gen_stats st;
    std::vector<float> logits, hidden;
    e->truncate(0);
    e->prefill(NEWS, logits, &hidden, st);
    const int p = (int)NEWS.size() - 1;
    auto layer = [&](int il, const float* in, int n, float* out) { e->tf->layer_candidates(il, in, n, p, out); };
    for (int M : {1, 8, 16}) {
        dp_result dp = dp_solve(hidden.data(), L, d, M, layer, false);
        dp_result path = dp_path(hidden.data(), L, d, dp.skip, layer);
        CHECK(path.M == M && path.skip == dp.skip);
        for (int l = 0; l <= L; l++) {
            CHECK_MSG(std::fabs(path.path_cosine[l] - dp.path_cosine[l]) < 1e-4, "M=" << M << " layer " << l << ": " << path.path_cosine[l] << " vs " << dp.path_cosine[l]);
            if (l > 0) CHECK(path.layer_cosine[l] == dp.layer_cosine[l]);
        }
    }
    // A set the DP would not choose is no closer to the target at the last layer.
    dp_result dp = dp_solve(hidden.data(), L, d, 8, layer, false);
    std::vector<uint8_t> first8(L, 0);
    for (int l = 0; l < 8; l++) first8[l] = 1;
    dp_result worse = dp_path(hidden.data(), L, d, first8, layer);
    CHECK(worse.path_cosine[L] <= dp.path_cosine[L] + 1e-6);

    std::vector<int> list;
    for (int l = 0; l < L; l++) if (dp.skip[l]) list.push_back(l);
    gen_params g = base(8);
    g.mode = "static";
    g.skip_layers = list;
    auto got = run_given(*e, NEWS, g);
    CHECK(got.rounds.size() > 0 && got.rounds[0].dp);
    for (int l = 0; l <= L; l++) CHECK(std::fabs(got.rounds[0].dp->path_cosine[l] - dp.path_cosine[l]) < 1e-4);
}

TEST(clasp_given_set_bad_lists_are_refused) {
    auto e = cf::demo_engine();
    const int L = e->model->cfg.n_layer;
    std::vector<int> all;
    for (int l = 0; l < L; l++) all.push_back(l);
    struct bad {
        std::vector<int> set;
        const char* mode;
        int skip;
        float ratio;
        const char* says;
    };
    const std::vector<bad> cases = {
        {{3, 32}, "static", -1, -1, "layer 32 is out of range"},
        {{-1}, "static", -1, -1, "layer -1 is out of range"},
        {{4, 5, 4}, "static", -1, -1, "layer 4 is listed twice"},
        {all, "static", -1, -1, "at most 31 of the 32 layers"},
        {{3}, "clasp", -1, -1, "need mode static"},
        {{3}, "ar", -1, -1, "need mode static"},
        {{3}, "static", 1, -1, "leave skip and skip ratio unset"},
        {{3}, "static", -1, 0.5f, "leave skip and skip ratio unset"},
    };
    for (const auto& c : cases) {
        gen_params g = base(4);
        g.mode = c.mode;
        g.skip_layers = c.set;
        g.skip = c.skip;
        g.skip_ratio = c.ratio;
        CHECK_THROWS(e->generate(NEWS, g, {}), c.says);
    }
    // Refused before any work: nothing was cached.
    CHECK(e->cached().empty());
}
