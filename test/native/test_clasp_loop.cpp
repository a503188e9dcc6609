// The CLaSp decode loop: greedy output equals plain greedy output in every mode (and rounds really
// ran), the rounds are wired to the positions and DP runs they claim, token fates and plain
// stretches account for every token, and the policy's decisions do not depend on the machine's load.
#include "clasp_fixture.h"
#include "core/error.h"
#include "spec/dp_solver.h"
#include <atomic>
#include <thread>

using namespace clasp;
using cf::COUNT;
using cf::NEWS;

namespace {

struct recorded {
    gen_result r;
    std::vector<round_event> rounds;
    std::vector<plain_event> plains;
    std::vector<policy_event> decisions;
    std::vector<token_fate> fates;
    std::vector<int> tokens;
};

recorded run(engine& e, const std::vector<int>& prompt, const gen_params& g) {
    recorded out;
    gen_callbacks cb;
    cb.on_round = [&](const round_event& r) { out.rounds.push_back(r); };
    cb.on_plain = [&](const plain_event& p) { out.plains.push_back(p); };
    cb.on_policy = [&](const policy_event& p) { out.decisions.push_back(p); };
    cb.on_token = [&](int id, token_fate f, const token_logprobs*) { out.tokens.push_back(id); out.fates.push_back(f); };
    e.truncate(0);
    out.r = e.generate(prompt, g, cb);
    return out;
}

// Every token is the first, a plain step, or one of a round's: walking the fates in order, each
// round claims its accepted drafts and then its correction or bonus token, plain steps fill the gaps.
void check_accounting(const recorded& x, const std::string& what) {
    CHECK_MSG(x.tokens == x.r.ids, what << ": streamed tokens differ from the result");
    const size_t n = x.fates.size();
    CHECK_MSG(n == 0 || x.fates[0] == token_fate::plain, what << ": the first token is plain");
    size_t i = 1;
    int plain = 0;
    for (size_t ri = 0; ri < x.rounds.size() && i < n; ri++) {
        const auto& ev = x.rounds[ri];
        while (i < n && x.fates[i] == token_fate::plain) { plain++; i++; }
        for (int j = 0; j < ev.accepted && i < n; j++, i++) {
            CHECK_MSG(x.fates[i] == token_fate::accepted && x.tokens[i] == ev.draft_ids[j], what << ": token " << i << " should be an accepted draft");
        }
        if (i < n) {
            token_fate want = ev.accepted < (int)ev.draft_ids.size() ? token_fate::correction : token_fate::bonus;
            CHECK_MSG(x.fates[i] == want && x.tokens[i] == ev.next_id, what << ": token " << i << " should be round " << ri << "'s last");
            i++;
        }
    }
    while (i < n) { CHECK_MSG(x.fates[i] == token_fate::plain, what << ": token " << i << " belongs to no round"); plain++; i++; }
    int in_events = 0;
    for (const auto& p : x.plains) in_events += p.n;
    CHECK_MSG(plain == in_events && plain == x.r.stats.plain_steps,
              what << ": " << plain << " plain steps, " << in_events << " in plain events, " << x.r.stats.plain_steps << " in stats");
}

}  // namespace

TEST(clasp_greedy_lossless_all_modes_and_extreme_skips) {
    auto e = cf::demo_engine();
    const int L = e->model->cfg.n_layer;
    for (const auto& prompt : {COUNT, NEWS}) {
        gen_params ar;
        ar.max_tokens = 48;
        ar.ignore_eos = true;
        auto want = run(*e, prompt, ar).r.ids;
        CHECK(want.size() == 48);
        for (int M : {0, 1, L / 2, L - 1}) {
            for (const char* mode : {"clasp", "static"}) {
                gen_params g = ar;
                g.mode = mode;
                g.skip = M;
                g.loi = 1;
                auto got = run(*e, prompt, g);
                CHECK_MSG(got.r.ids == want, mode << " M=" << M << " differs from ar");
                CHECK(got.r.stats.final_M == M);
                if (M > 0) CHECK_MSG(got.r.stats.rounds > 0 && got.r.stats.drafted > 0, mode << " M=" << M << ": no drafting happened");
                check_accounting(got, std::string(mode) + " M=" + std::to_string(M));
            }
        }
        // The policy's choice: under costs where speculation pays it must draft, and stay exact.
        e->set_costs(cf::gpu_like_costs(L));
        for (const char* mode : {"clasp", "static"}) {
            e->memory.clear();
            gen_params au = ar;
            au.mode = mode;
            auto got = run(*e, prompt, au);
            CHECK_MSG(got.r.ids == want, mode << " with the policy's M differs from ar");
            CHECK_MSG(got.r.stats.rounds > 0 && got.r.stats.drafted > 0, mode << " (auto): the policy never drafted: " << got.r.stats.reason);
            check_accounting(got, std::string(mode) + " auto");
        }
        // And under costs where it cannot pay, it decodes plainly and says why.
        e->set_costs(cf::cpu_bound_costs(L));
        e->memory.clear();
        gen_params au = ar;
        au.mode = "clasp";
        auto got = run(*e, prompt, au);
        CHECK(got.r.ids == want);
        CHECK_MSG(got.r.stats.rounds == 0 && got.r.stats.plain_steps == 47, "cpu-bound costs: expected plain decoding");
        CHECK_MSG(got.decisions.size() == 1 && !got.decisions[0].d.speculate && got.r.stats.reason.find("plain decoding") == 0,
                  "a reply that starts plain says why: " << got.r.stats.reason);
        CHECK(got.plains.size() == 1 && got.plains[0].pos == (int)prompt.size() && got.plains[0].n == 47);
        e->set_costs(cost_table{});
    }
}

// Each round's position and DP target follow from the round before, and re-running the DP on a
// fresh forward pass of the same tokens gives the skip set the next round used.
TEST(clasp_round_wiring) {
    auto e = cf::demo_engine();
    const int L = e->model->cfg.n_layer, d = e->model->cfg.n_embd;
    gen_params g;
    g.mode = "clasp";
    g.skip = 10;
    g.max_tokens = 48;
    g.loi = 2;
    g.ignore_eos = true;
    auto x = run(*e, NEWS, g);
    CHECK((int)x.rounds.size() == x.r.stats.rounds && x.r.stats.rounds > 3);
    check_accounting(x, "wiring");
    std::vector<int> seq = NEWS;
    seq.insert(seq.end(), x.r.ids.begin(), x.r.ids.end());
    int dps = 0, rechecked = 0;
    for (size_t i = 0; i < x.rounds.size(); i++) {
        const auto& ev = x.rounds[i];
        CHECK(ev.accepted <= (int)ev.draft_ids.size());
        CHECK(ev.draft_q.size() == ev.draft_ids.size() && ev.verify_p.size() == ev.draft_ids.size());
        CHECK((int)ev.skip.size() == 10);
        CHECK(ev.stop == "det" || ev.stop == "length" || ev.stop == "eos" || ev.stop == "budget");
        CHECK(ev.det >= 0 && ev.det <= 1);
        if (i == 0) {
            CHECK(ev.pos == (int)NEWS.size());
            CHECK(ev.dp && ev.dp->target_pos == (int)NEWS.size() - 1);
        } else {
            const auto& prev = x.rounds[i - 1];
            CHECK_MSG(ev.pos == prev.pos + prev.accepted + 1, "round " << i << " at " << ev.pos);
            if (ev.dp) CHECK_MSG(ev.dp->target_pos == prev.pos + prev.accepted, "round " << i << " DP target " << ev.dp->target_pos);
        }
        // The input token of a round is the previous round's next id (or the first token).
        if (ev.dp) {
            dps++;
            CHECK(ev.dp->path_cosine.size() == (size_t)L + 1);
            if (rechecked < 4) {  // a fresh engine: prefill the tokens up to the target, solve again
                auto f = cf::demo_engine();
                std::vector<int> pre(seq.begin(), seq.begin() + ev.dp->target_pos + 1);
                std::vector<float> logits, hidden;
                gen_stats st;
                f->prefill(pre, logits, &hidden, st);
                const int p = ev.dp->target_pos;
                auto layer = [&](int il, const float* in, int n, float* out) { f->tf->layer_candidates(il, in, n, p, out); };
                dp_result r = dp_solve(hidden.data(), L, d, 10, layer, false);
                std::vector<int> want;
                for (int l = 0; l < L; l++) if (r.skip[l]) want.push_back(l);
                CHECK_MSG(want == ev.skip, "round " << i << ": the DP on a fresh forward gives a different skip set");
                rechecked++;
            }
        }
    }
    CHECK(dps == x.r.stats.dp_runs || dps + 1 == x.r.stats.dp_runs);  // a DP after the last round has no round
    CHECK(rechecked > 1);
}

// Sampling with the policy choosing everything: the same seed gives the same text and the same
// rounds with the machine idle and with two threads spinning beside it.
TEST(clasp_seeded_sampling_does_not_depend_on_load) {
    auto e = cf::demo_engine();
    e->set_costs(cf::gpu_like_costs(e->model->cfg.n_layer));
    gen_params g;
    g.mode = "clasp";
    g.max_tokens = 64;
    g.ignore_eos = true;
    g.sampling.temperature = 0.8f;
    g.sampling.top_p = 0.95f;
    g.sampling.seed = 1234;
    e->memory.clear();
    auto quiet = run(*e, NEWS, g);
    std::atomic<bool> stop{false};
    std::vector<std::thread> spin;
    for (int t = 0; t < 2; t++)
        spin.emplace_back([&] {
            volatile double s = 0;
            while (!stop.load()) s = s + 1;
        });
    e->memory.clear();
    auto busy = run(*e, NEWS, g);
    stop = true;
    for (auto& t : spin) t.join();
    CHECK_MSG(quiet.r.stats.rounds > 0, "the policy should speculate under these costs");
    CHECK_MSG(quiet.r.ids == busy.r.ids, "same seed, different text under load");
    CHECK(quiet.rounds.size() == busy.rounds.size());
    for (size_t i = 0; i < std::min(quiet.rounds.size(), busy.rounds.size()); i++)
        CHECK(quiet.rounds[i].skip == busy.rounds[i].skip && quiet.rounds[i].draft_ids == busy.rounds[i].draft_ids);
}

// static, clasp and an explicit skip keep apart what they count.
TEST(clasp_modes_keep_separate_memory) {
    auto e = cf::demo_engine();
    e->set_costs(cf::gpu_like_costs(e->model->cfg.n_layer));
    gen_params g;
    g.max_tokens = 32;
    g.ignore_eos = true;
    g.mode = "static";
    run(*e, COUNT, g);
    CHECK(e->memory.count("static") == 1 && e->memory.count("clasp") == 0);
    auto static_counts = e->memory["static"].by_M;
    g.mode = "clasp";
    auto first = run(*e, COUNT, g);
    CHECK(e->memory["static"].by_M.size() == static_counts.size());
    g.skip = 5;  // explicit: counted nowhere
    auto clasp_counts = e->memory["clasp"].by_M.size();
    double judged = 0;
    for (auto& [m, a] : e->memory["clasp"].by_M) judged += a.judged;
    run(*e, COUNT, g);
    double judged_after = 0;
    for (auto& [m, a] : e->memory["clasp"].by_M) judged_after += a.judged;
    CHECK(e->memory["clasp"].by_M.size() == clasp_counts && judged_after == judged);
    // clasp's first decision is the same whether static ran before it or not.
    e->memory.clear();
    g.skip = -1;
    auto alone = run(*e, COUNT, g);
    CHECK(!alone.decisions.empty() && !first.decisions.empty() && alone.decisions[0].d.M == first.decisions[0].d.M);
}

// An explicit DET and skip count are used as given.
TEST(clasp_explicit_settings_are_honoured) {
    auto e = cf::demo_engine();
    e->set_costs(cf::cpu_bound_costs(e->model->cfg.n_layer));  // the policy alone would not speculate
    gen_params g;
    g.mode = "clasp";
    g.skip = 7;
    g.det = 0.25f;
    g.loi = 3;
    g.max_tokens = 24;
    auto x = run(*e, COUNT, g);
    CHECK(x.r.stats.rounds > 0 && x.r.stats.final_M == 7 && x.r.stats.loi == 3);
    for (const auto& ev : x.rounds) CHECK(ev.det == 0.25f && ev.skip.size() == 7);
}
