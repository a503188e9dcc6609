// What the policy learned, kept across processes (policy_store.h): a file round-trips exactly; a
// corrupt, old, foreign or out-of-range file is ignored with a one-line warning; engines on the
// same model and machine setting share it, others do not; forget() clears it. Also the "try it
// anyway" override and the reply's plan stretches and time breakdown.
#include "clasp_fixture.h"
#include "core/error.h"
#include "fixture.h"
#include "spec/policy_store.h"

using namespace clasp;

namespace {

learned sample_learned(int L) {
    learned l;
    l.costs = cf::gpu_like_costs(L, 17);
    policy_memory& m = l.memory["clasp"];
    m.by_M[3] = {10.5, 20};
    m.by_M[L - 1] = {0, 4};
    m.plain_tokens = 77;
    m.backoff = 2;
    m.measured = {120, 80.25, 60.125};
    const float top1[] = {0.93f, 0.41f, 0.07f, 1.0f};
    policy::count_round(m, 3, top1, 4, 2);  // chain counts beside the plain ones
    m.by_M[3].accepted = 10.5;
    m.by_M[3].judged = 20;
    l.memory["static"].by_M[2] = {1, 3};
    l.memory["clasp-fixed"].by_M[5] = {2, 3};  // an explicit skip count's own memory
    policy::count_round(l.memory["clasp-fixed"], 5, top1, 3, 0);
    return l;
}

bool same_memory(const policy_memory& a, const policy_memory& b) {
    if (a.by_M.size() != b.by_M.size() || a.plain_tokens != b.plain_tokens || a.backoff != b.backoff) return false;
    if (a.measured.tokens != b.measured.tokens || a.measured.ms != b.measured.ms || a.measured.plain_ms != b.measured.plain_ms) return false;
    for (const auto& [M, x] : a.by_M) {
        auto it = b.by_M.find(M);
        if (it == b.by_M.end() || it->second.accepted != x.accepted || it->second.judged != x.judged) return false;
        const chain_counts &p = x.chain, &q = it->second.chain;
        if (p.drafts != q.drafts || p.log_top1 != q.log_top1 || p.accepted != q.accepted || p.judged != q.judged) return false;
    }
    return true;
}

bool same_costs(const cost_table& a, const cost_table& b) {
    return a.measured == b.measured && a.L == b.L && a.verify == b.verify && a.draft == b.draft && a.dp == b.dp;
}

void write(const std::string& path, const std::string& text) {
    std::ofstream o(path, std::ios::binary | std::ios::trunc);
    o << text;
}

std::string replace(std::string s, const std::string& a, const std::string& b) {
    auto i = s.find(a);
    if (i == std::string::npos) return s + "<no " + a + ">";
    return s.replace(i, a.size(), b);
}

}  // namespace

TEST(policy_store_round_trip) {
    fx::temp_dir dir;
    const int L = 8;
    learned l = sample_learned(L);
    const std::string key = "model.gguf:123:456 | cpu (2 threads, avx2 kernels)";
    const std::string file = policy_store::file_for(dir.path + "/sub", key);
    policy_store::save(file, key, l);  // creates the folder
    learned back;
    std::string warning;
    CHECK_MSG(policy_store::load(file, key, L, back, warning), warning);
    CHECK(warning.empty());
    CHECK(same_costs(l.costs, back.costs));
    CHECK(back.memory.size() == 3);
    CHECK(l.memory["clasp"].by_M[3].chain.total() == 4 && l.memory["clasp"].by_M[3].chain.judged[0] == 1 &&
          l.memory["clasp"].by_M[3].chain.accepted[0] == 0);  // 0.07: the rejection
    CHECK(same_memory(l.memory["clasp"], back.memory["clasp"]));
    CHECK(same_memory(l.memory["static"], back.memory["static"]));
    CHECK(same_memory(l.memory["clasp-fixed"], back.memory["clasp-fixed"]));
    // The policy decides the same on what was read back as on what was written.
    policy_inputs in;
    in.L = L;
    decision a = policy::decide(l.costs, &l.memory["clasp"], in, 100), b = policy::decide(back.costs, &back.memory["clasp"], in, 100);
    CHECK(a.reason == b.reason && a.M == b.M && a.k == b.k && a.speculate == b.speculate);
    in.fixed_M = 5;
    in.det = 0.5f;
    a = policy::decide(l.costs, &l.memory["clasp-fixed"], in, 100);
    b = policy::decide(back.costs, &back.memory["clasp-fixed"], in, 100);
    CHECK(a.predicted_speedup == b.predicted_speedup && a.drafts == b.drafts && a.drafts < 11);  // the counted chains
    // No file: nothing loaded, no warning.
    CHECK(!policy_store::load(dir / "absent.json", key, L, back, warning) && warning.empty());
    // Another key lands in another file.
    CHECK(policy_store::file_for(dir.path, key) != policy_store::file_for(dir.path, key + "x"));
}

TEST(policy_store_ignores_bad_files_with_a_warning) {
    fx::temp_dir dir;
    const int L = 8;
    const std::string key = "k";
    const std::string good = policy_store::to_json(key, sample_learned(L));
    struct bad {
        std::string text, needle;
    };
    const std::vector<bad> cases = {
        {"", "invalid JSON"},
        {good.substr(0, good.size() / 2), "invalid JSON"},
        {"[1,2]", "not a JSON object"},
        {replace(good, "\"clasp-policy\"", "\"clasp-trace\""), "not a clasp-policy file"},
        {replace(good, "\"version\":2", "\"version\":0"), "format version 0"},
        {replace(good, "\"version\":2", "\"version\":1"), "format version 1, this engine reads 2"},  // before chain counts
        {replace(good, "\"chain\":{\"3\"", "\"chain\":{\"4\""), "no counts in 'by_M'"},
        {replace(good, "\"judged\":[1,0,0,0,1,", "\"judged\":[1,0,0,0,3,"), "counts out of range"},
        {replace(good, "\"drafts\":[", "\"drafts\":[1,"), "needs 10 values"},
        {replace(good, "\"log_top1\":[-", "\"log_top1\":[-99"), "counts out of range"},  // below its bucket's range
        {replace(good, "\"key\":\"k\"", "\"key\":\"other\""), "another model file"},
        {replace(good, "\"L\":8", "\"L\":9"), "another layer count"},
        {replace(good, "\"draft_ms\":[", "\"draft_ms\":[-1,"), "draft_ms"},
        {replace(good, "\"3\":[10.5,20]", "\"3\":[30,20]"), "out of range"},
        {replace(good, "\"3\":[10.5,20]", "\"8\":[1,2]"), "out of range for 8 layers"},
        {replace(good, "\"3\":[10.5,20]", "\"x\":[1,2]"), "out of range"},
        {replace(good, "\"static\":", "\"turbo\":"), "unknown mode"},
        {replace(good, "\"backoff\":2", "\"backoff\":\"2\""), "backoff"},
        {replace(good, "\"plain_tokens\":77", "\"plain_tokens\":1e300"), "plain_tokens"},
    };
    for (size_t i = 0; i < cases.size(); i++) {
        const std::string file = dir / ("bad" + std::to_string(i) + ".json");
        write(file, cases[i].text);
        learned back;
        std::string warning;
        bool ok = policy_store::load(file, key, L, back, warning);
        CHECK_MSG(!ok, "case " << i << " was accepted");
        CHECK_MSG(warning.find(cases[i].needle) != std::string::npos, "case " << i << ": " << warning);
        CHECK_MSG(warning.find("measured again") != std::string::npos && warning.find('\n') == std::string::npos, warning);
        CHECK(back.memory.empty() && !back.costs.measured);
    }
    // The unchanged text is fine (the cases above fail for their one change).
    write(dir / "good.json", good);
    learned back;
    std::string warning;
    CHECK_MSG(policy_store::load(dir / "good.json", key, L, back, warning), warning);
}

TEST(policy_store_fingerprint_follows_the_model_file) {
    fx::temp_dir dir;
    const std::string f = dir / "m.gguf";
    write(f, "abc");
    std::string a = policy_store::key(f, "cpu (2 threads, avx2 kernels)");
    CHECK(a != policy_store::key(f, "cpu (1 threads, avx2 kernels)"));
    write(f, "abcd");  // rewritten: another size
    CHECK(a != policy_store::key(f, "cpu (2 threads, avx2 kernels)"));
    CHECK_THROWS(policy_store::key(dir / "missing.gguf", "cpu"), "cannot read");
}

TEST(engine_keeps_what_it_learned_across_engines) {
    fx::temp_dir dir;
    gen_params g;
    g.mode = "clasp";
    g.max_tokens = 40;
    engine_options o;
    o.model_path = cf::demo_q8();
    o.backend = "cpu";
    o.threads = 2;
    o.policy_dir = dir.path;
    learned first;
    {
        engine e(o);
        CHECK(!e.policy_loaded && e.policy_warning.empty());
        e.set_costs(cf::gpu_like_costs(e.model->cfg.n_layer));  // speculation pays: rounds are counted
        auto r = e.generate(cf::COUNT, g, {});
        CHECK(r.stats.rounds > 0);
        CHECK(std::filesystem::exists(e.policy_file));
        first.costs = e.costs();
        first.memory = e.memory;
    }
    {
        engine e(o);  // a new process would do the same
        CHECK_MSG(e.policy_loaded, e.policy_warning);
        CHECK(same_costs(e.costs(), first.costs));
        CHECK(same_memory(e.memory["clasp"], first.memory["clasp"]));
        // The reply starts from the kept counts: its first decision rests on counted drafts.
        auto r = e.generate(cf::NEWS, g, {});
        CHECK(!r.stats.stretches.empty() && r.stats.stretches[0].d.alpha_drafts > 0);
        CHECK(r.stats.earlier.tokens == first.memory["clasp"].measured.tokens);
        e.forget();
        CHECK(e.memory.empty() && !std::filesystem::exists(e.policy_file));
    }
    {
        engine e(o);
        CHECK(!e.policy_loaded);  // forgotten
        o.threads = 1;
        engine other(o);  // another machine setting: another file
        CHECK(other.policy_file != e.policy_file);
    }
    // A corrupt file: the engine starts fresh, says why in one line, and writes a good one back.
    o.threads = 2;
    std::string file;
    { file = engine(o).policy_file; }
    write(file, "{\"format\":\"clasp-policy\",\"version\":2,");
    engine e(o);
    CHECK(!e.policy_loaded && e.policy_warning.find("ignored the policy memory") != std::string::npos);
    e.set_costs(cf::gpu_like_costs(e.model->cfg.n_layer));
    e.generate(cf::COUNT, g, {});
    learned back;
    std::string warning;
    CHECK_MSG(policy_store::load(file, e.policy_key(), e.model->cfg.n_layer, back, warning), warning);
    // An F16 KV cache costs differently: its engine keeps its own memory.
    o.kv = kv_type::f16;
    engine h(o);
    CHECK(h.policy_key() != e.policy_key() && h.policy_file != file && !h.policy_loaded);
}

TEST(policy_try_it_anyway_forces_speculation) {
    auto c = cf::cpu_bound_costs(32);
    policy_memory m;
    m.by_M[12] = {95, 100};
    policy_inputs in;
    in.L = 32;
    decision plain = policy::decide(c, &m, in, 200);
    CHECK(!plain.speculate && !plain.forced);
    in.force = true;
    decision d = policy::decide(c, &m, in, 200);
    CHECK_MSG(d.speculate && d.forced && !d.probe, d.reason);
    CHECK(d.M == plain.M && d.k == plain.k);  // the policy's best setting
    CHECK_MSG(d.reason.find("try it anyway") != std::string::npos && d.reason.find(plain.reason) != std::string::npos, d.reason);
    policy_memory before = m;
    policy::note(m, plain, d);  // a forced reply changes no probe bookkeeping
    CHECK(same_memory(before, m));

    // On the engine: a forced reply drafts where the policy would not, and stays lossless.
    auto e = cf::demo_engine();
    e->set_costs(cf::cpu_bound_costs(e->model->cfg.n_layer));
    gen_params g;
    g.max_tokens = 48;
    auto ar = e->generate(cf::COUNT, g, {});
    g.mode = "clasp";
    e->truncate(0);
    auto off = e->generate(cf::COUNT, g, {});
    CHECK(off.stats.rounds == 0 && off.ids == ar.ids);
    g.force_speculation = true;
    e->truncate(0);
    auto on = e->generate(cf::COUNT, g, {});
    CHECK_MSG(on.stats.rounds > 0 && on.stats.drafted > 0, on.stats.reason);
    CHECK(on.ids == ar.ids);
    CHECK(on.stats.stretches.size() >= 1 && on.stats.stretches[0].d.forced);
}

TEST(reply_stretches_and_time_breakdown_account_for_the_reply) {
    auto e = cf::demo_engine();
    const int L = e->model->cfg.n_layer;
    e->set_costs(cf::gpu_like_costs(L));
    gen_params g;
    g.mode = "clasp";
    g.max_tokens = 60;
    // Two replies: the second starts from the first one's counts.
    for (int run = 0; run < 2; run++) {
        e->truncate(0);
        auto r = e->generate(run ? cf::NEWS : cf::COUNT, g, {});
        const auto& s = r.stats;
        int covered = 0;
        for (size_t i = 0; i < s.stretches.size(); i++) {
            CHECK_MSG(s.stretches[i].from == covered, "stretch " << i << " starts at " << s.stretches[i].from << ", not " << covered);
            CHECK(!s.stretches[i].d.reason.empty());
            covered += s.stretches[i].n;
        }
        CHECK_MSG(covered == s.n_generated, covered << " of " << s.n_generated);
        double parts = s.draft_ms + s.verify_ms + s.dp_ms + s.plain_ms;
        CHECK_MSG(parts > 0 && parts <= s.decode_ms + 1e-6, parts << " > " << s.decode_ms);
        CHECK((s.rounds > 0) == (s.verify_ms > 0));
        CHECK((s.plain_steps > 0) == (s.plain_ms > 0));
    }
}
