// A small CLI for the engine without Node: debugging, and benchmarks on GPU servers that lack Node.
//   clasp-engine-cli generate MODEL --ids 1,2,3 [--max-tokens N] [--mode ar|clasp|static] [--backend B]
//                                   [--threads N] [--skip M] [--ignore-eos] [--kv f32|f16] [--logprobs N]
//   clasp-engine-cli bench MODEL [--backend B] [--threads N] [--prompt-len 64] [--gen 64] [--kv f32|f16]
//                                [--mode ar|clasp|static] [--logprobs N]
//       one JSON line: prefill_tok_s, decode_tok_s, resident_mb (weights), kv, kv_cache_mb, n_ctx
//   clasp-engine-cli verify-cost MODEL [--backend B] [--threads N] [--prompt-len 64] [--reps 30] [--ks 1,2,4,8,12,16]
//       the time of one full pass over k = 1, 2, 4, 8, 12, 16 new tokens (CLaSp's verify, logits for
//       every row) after the prompt, relative to k = 1 (a decode step, always measured first); best
//       and median of the reps
//   clasp-engine-cli membw - [--threads N]
//       the machine's streaming read bandwidth: N threads summing a 1 GiB buffer (best of 5), GB/s
#include "core/error.h"
#include "runtime/engine.h"
#include "runtime/transformer.h"
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace clasp;

static std::vector<int> parse_ids(const std::string& s) {
    std::vector<int> v;
    std::stringstream ss(s);
    std::string tok;
    while (std::getline(ss, tok, ',')) v.push_back(std::stoi(tok));
    return v;
}

// Streaming read bandwidth: each thread sums its share of a 1 GiB buffer with 64-byte vector loads
// (what a matrix-vector product over memory-resident weights can at best reach).
static double read_bandwidth(int n_threads) {
    const size_t n = (size_t)1 << 30, per = n / n_threads / 64 * 64;
    std::vector<uint8_t> buf(n, 1);
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        std::vector<std::thread> th;
        std::vector<uint64_t> sums(n_threads);
        const double t0 = now_ms();
        for (int i = 0; i < n_threads; i++)
            th.emplace_back([&, i] {
                typedef long long v8 __attribute__((vector_size(64)));
                const v8* p = (const v8*)(buf.data() + per * i);
                v8 a = {0}, b = {0};
                for (size_t k = 0; k + 1 < per / 64; k += 2) a += p[k], b += p[k + 1];
                a += b;
                uint64_t s = 0;
                for (int j = 0; j < 8; j++) s += (uint64_t)a[j];
                sums[i] = s;
            });
        for (auto& t : th) t.join();
        const double ms = now_ms() - t0;
        if (sums[0] == 42) std::fprintf(stderr, " ");  // keeps the sums alive
        best = std::max(best, (double)per * n_threads / (ms / 1000) / 1e9);
    }
    return best;
}

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: clasp-engine-cli generate|bench|verify-cost MODEL [options] | membw - [--threads N]\n");
        return 2;
    }
    std::string cmd = argv[1];
    engine_options eo;
    eo.model_path = argv[2];
    gen_params gp;
    std::vector<int> ids = {1};
    int prompt_len = 64, gen = 64, reps = 30;
    std::vector<int> ks = {1, 2, 4, 8, 12, 16};
    std::string kv = "f32";
    for (int i = 3; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", a.c_str()); std::exit(2); }
            return argv[++i];
        };
        if (a == "--ids") ids = parse_ids(next());
        else if (a == "--max-tokens") gp.max_tokens = std::stoi(next());
        else if (a == "--mode") gp.mode = next();
        else if (a == "--backend") eo.backend = next();
        else if (a == "--threads") eo.threads = std::stoi(next());
        else if (a == "--kv") kv = next();
        else if (a == "--skip") gp.skip = std::stoi(next());
        else if (a == "--ignore-eos") gp.ignore_eos = true;
        else if (a == "--logprobs") gp.n_logprobs = std::stoi(next());
        else if (a == "--prompt-len") prompt_len = std::stoi(next());
        else if (a == "--gen") gen = std::stoi(next());
        else if (a == "--reps") reps = std::stoi(next());
        else if (a == "--ks") ks = parse_ids(next());
        else { std::fprintf(stderr, "unknown option %s\n", a.c_str()); return 2; }
    }
    if (cmd == "membw") {
        std::printf("{\"threads\":%d,\"read_gb_s\":%.1f}\n", eo.threads, read_bandwidth(eo.threads > 0 ? eo.threads : 1));
        return 0;
    }
    try {
        eo.kv = kv_type_parse(kv, "--kv");
        engine e(eo);
        if (cmd == "generate") {
            auto r = e.generate(ids, gp, {});
            for (size_t k = 0; k < r.ids.size(); k++) std::printf("%s%d", k ? "," : "", r.ids[k]);
            std::printf("\n");
            const auto& s = r.stats;
            std::fprintf(stderr, "%s: %d tokens, %.1f tok/s, prefill %.1f ms, %s\n", s.mode.c_str(), s.n_generated,
                         s.tokens_per_s, s.prefill_ms, e.be->device_info().c_str());
            if (s.mode != "ar")
                std::fprintf(stderr, "  rounds %d, drafted %d, accepted %d, plain steps %d, mean accepted length %.2f, dp %d runs %.1f ms, "
                             "calibration %.1f ms, speed-up %.2f (predicted %.2f, costed %.2f), final M %d\n  %s\n", s.rounds, s.drafted,
                             s.accepted, s.plain_steps, s.mean_accepted_length, s.dp_runs, s.dp_ms, s.calibration_ms, s.speedup,
                             s.predicted_speedup, s.costed_speedup, s.final_M, s.reason.c_str());
            if (s.mode != "ar") {
                const auto& c = e.costs();
                std::fprintf(stderr, "  cost table (ms): verify");
                for (int T : {1, 2, 4, 8, 13, 16}) std::fprintf(stderr, " T=%d %.3f", T, c.c_verify(T));
                std::fprintf(stderr, "; draft");
                for (int M = 0; M <= c.L; M += std::max(1, c.L / 4)) std::fprintf(stderr, " M=%d %.3f", M, c.c_draft(M));
                std::fprintf(stderr, "; dp");
                for (int M = 1; M <= c.L; M += std::max(1, c.L / 4)) std::fprintf(stderr, " M=%d %.3f", M, c.c_dp(M));
                std::fprintf(stderr, "\n");
            }
        } else if (cmd == "bench") {
            std::vector<int> prompt(prompt_len);
            for (int k = 0; k < prompt_len; k++) prompt[k] = (k * 37 + 11) % e.model->cfg.n_vocab;
            gp.max_tokens = gen;
            gp.ignore_eos = true;
            e.generate(prompt, gp, {});  // warm-up
            double best_pp = 0, best_tg = 0;
            for (int rep = 0; rep < 3; rep++) {
                e.truncate(0);
                auto r = e.generate(prompt, gp, {});
                best_pp = std::max(best_pp, prompt_len / (r.stats.prefill_ms / 1000));
                best_tg = std::max(best_tg, r.stats.tokens_per_s);
            }
            std::printf("{\"backend\":\"%s\",\"prefill_tok_s\":%.1f,\"decode_tok_s\":%.1f,\"resident_mb\":%.1f,"
                        "\"kv\":\"%s\",\"kv_cache_mb\":%.1f,\"n_ctx\":%d}\n",
                        e.be->device_info().c_str(), best_pp, best_tg, e.resident_bytes() / 1e6,
                        kv_type_name(e.tf->cache.type), e.tf->cache.bytes() / 1e6, e.n_ctx());
        } else if (cmd == "verify-cost") {
            std::vector<int> prompt(prompt_len);
            for (int k = 0; k < prompt_len; k++) prompt[k] = (k * 37 + 11) % e.model->cfg.n_vocab;
            gen_stats st;
            std::vector<float> logits;
            e.prefill(prompt, logits, nullptr, st);
            if (ks.empty() || ks[0] != 1) ks.insert(ks.begin(), 1);
            for (int k : ks)
                if (k < 1 || k > 512) fail("--ks: " + std::to_string(k) + " is not a token count from 1 to 512");
            std::vector<std::vector<double>> ms(ks.size());
            forward_out out;
            for (int rep = 0; rep < reps + 1; rep++)
                for (size_t i = 0; i < ks.size(); i++) {
                    int k = ks[i];
                    std::vector<int32_t> toks(k);
                    std::vector<int> rows(k);
                    for (int j = 0; j < k; j++) toks[j] = (j * 101 + 7) % e.model->cfg.n_vocab, rows[j] = j;
                    double t0 = now_ms();
                    e.tf->forward(toks.data(), k, prompt_len, nullptr, true, rows, {}, out);  // scratch positions
                    if (rep > 0) ms[i].push_back(now_ms() - t0);  // rep 0 warms up
                }
            auto best = [](std::vector<double> v) { return *std::min_element(v.begin(), v.end()); };
            auto median = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
            double b1 = best(ms[0]), m1 = median(ms[0]);
            for (size_t i = 0; i < ks.size(); i++)
                std::printf("{\"backend\":\"%s\",\"k\":%d,\"best_ms\":%.3f,\"median_ms\":%.3f,\"vs_decode_best\":%.2f,"
                            "\"vs_decode_median\":%.2f,\"tok_s_best\":%.1f}\n",
                            e.be->device_info().c_str(), ks[i], best(ms[i]), median(ms[i]), best(ms[i]) / b1,
                            median(ms[i]) / m1, ks[i] / (best(ms[i]) / 1000));
        } else {
            std::fprintf(stderr, "unknown command %s\n", cmd.c_str());
            return 2;
        }
    } catch (const engine_error& err) {
        std::fprintf(stderr, "error: %s\n", err.what());
        return 1;
    }
    return 0;
}
