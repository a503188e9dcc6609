// clasp-gpu-bench: CUDA backend throughput on models with the shapes of Llama-3.2-1B and Llama-3-8B,
// built in memory with random BF16 weights (no file needed). Prints one JSON line per measurement:
// device-to-device bandwidth, prefill, decode against its bandwidth floor, the decode step's ops one by
// one (bench_ops.cpp) and their sum against the step, a draft step with half the layers skipped,
// verify of 1..16 tokens, and a DP layer-candidates sweep, each relative to decode.
// Usage: clasp-gpu-bench [--models 1b,8b] [--quick]
#include "backend/backend.h"
#include "bench_ops.h"
#include "core/error.h"
#include "runtime/transformer.h"
#include <cuda_runtime.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace clasp;

namespace {

double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

#define BENCH_CUDA(call)                                                                   \
    do {                                                                                   \
        cudaError_t e_ = (call);                                                           \
        if (e_ != cudaSuccess) fail(std::string(#call) + ": " + cudaGetErrorString(e_));   \
    } while (0)

struct shape {
    const char* name;
    int n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim, n_vocab;
    bool tied;
};

// Random BF16 weights. Every matrix points at its own offset into one shared pool of random values, so
// each weight has a distinct host address (and its own device copy) without 16 GB of host memory.
struct synthetic_model {
    std::vector<uint16_t> pool;
    std::shared_ptr<llama_model> m;
    uint64_t decode_bytes = 0;  // weight bytes one decode step reads
};

void fill_random_bf16(std::vector<uint16_t>& v) {
    unsigned nt = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
    std::vector<std::thread> th;
    size_t per = (v.size() + nt - 1) / nt;
    for (unsigned i = 0; i < nt; i++)
        th.emplace_back([&, i] {
            uint64_t s = 0x9e3779b97f4a7c15ull * (i + 1);
            size_t b = i * per, e = std::min(v.size(), b + per);
            for (size_t k = b; k < e; k++) {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                float u = (float)((s >> 40) & 0xffffff) / 16777216.0f;  // [0, 1)
                v[k] = fp32_to_bf16((u - 0.5f) * 0.07f);                   // uniform, std ~0.02
            }
        });
    for (auto& t : th) t.join();
}

synthetic_model make_model(const shape& s) {
    synthetic_model sm;
    auto m = std::make_shared<llama_model>();
    m->path = std::string("synthetic:") + s.name;
    m->name = s.name;
    m->format = "synthetic";
    auto& c = m->cfg;
    c.n_vocab = s.n_vocab; c.n_embd = s.n_embd; c.n_layer = s.n_layer; c.n_head = s.n_head;
    c.n_head_kv = s.n_head_kv; c.head_dim = s.head_dim; c.n_ff = s.n_ff; c.n_ctx_train = 8192;
    c.rms_eps = 1e-5f; c.rope_theta = 500000.f; c.rope_interleaved = false; c.tied_embeddings = s.tied;
    c.bos_id = 128000; c.eos_ids = {128001};
    const int64_t q = (int64_t)s.n_head * s.head_dim, kv = (int64_t)s.n_head_kv * s.head_dim;
    const size_t n_weights = 2 + 7 * (size_t)s.n_layer, stride = 64;  // 128-byte steps between weights
    const size_t largest = (size_t)s.n_vocab * s.n_embd;
    sm.pool.resize(largest + n_weights * stride);
    fill_random_bf16(sm.pool);
    size_t idx = 0;
    auto make = [&](const std::string& name, int64_t n_out, int64_t n_in) {
        weight w;
        w.name = name;
        w.type = dtype::BF16;
        w.data = sm.pool.data() + (idx++) * stride;
        w.n_in = n_in;
        w.n_out = n_out;
        return w;
    };
    m->tok_embd = make("token_embd.weight", s.n_vocab, s.n_embd);
    m->output = s.tied ? m->tok_embd : make("output.weight", s.n_vocab, s.n_embd);
    m->output_norm.assign(s.n_embd, 1.f);
    for (int il = 0; il < s.n_layer; il++) {
        llama_layer lw;
        std::string p = "blk." + std::to_string(il) + ".";
        lw.attn_norm.assign(s.n_embd, 1.f);
        lw.ffn_norm.assign(s.n_embd, 1.f);
        lw.wq = make(p + "attn_q.weight", q, s.n_embd);
        lw.wk = make(p + "attn_k.weight", kv, s.n_embd);
        lw.wv = make(p + "attn_v.weight", kv, s.n_embd);
        lw.wo = make(p + "attn_output.weight", s.n_embd, q);
        lw.w_gate = make(p + "ffn_gate.weight", s.n_ff, s.n_embd);
        lw.w_up = make(p + "ffn_up.weight", s.n_ff, s.n_embd);
        lw.w_down = make(p + "ffn_down.weight", s.n_embd, s.n_ff);
        for (const weight* w : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w_gate, &lw.w_up, &lw.w_down}) sm.decode_bytes += w->nbytes();
        m->layers.push_back(std::move(lw));
    }
    sm.decode_bytes += m->output.nbytes() + row_bytes(dtype::BF16, s.n_embd);  // + one embedding row
    m->rope_inv_freq = rope_inv_freq(c);
    sm.m = m;
    return sm;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

// Device-to-device copy bandwidth, counting bytes read plus bytes written.
double d2d_bandwidth_gbs() {
    const size_t bytes = (size_t)1 << 30;
    void *a = nullptr, *b = nullptr;
    BENCH_CUDA(cudaMalloc(&a, bytes));
    BENCH_CUDA(cudaMalloc(&b, bytes));
    BENCH_CUDA(cudaMemset(a, 1, bytes));
    BENCH_CUDA(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));
    cudaEvent_t e0, e1;
    BENCH_CUDA(cudaEventCreate(&e0));
    BENCH_CUDA(cudaEventCreate(&e1));
    const int reps = 10;
    BENCH_CUDA(cudaEventRecord(e0));
    for (int i = 0; i < reps; i++) BENCH_CUDA(cudaMemcpyAsync(i % 2 ? a : b, i % 2 ? b : a, bytes, cudaMemcpyDeviceToDevice));
    BENCH_CUDA(cudaEventRecord(e1));
    BENCH_CUDA(cudaEventSynchronize(e1));
    float ms = 0;
    BENCH_CUDA(cudaEventElapsedTime(&ms, e0, e1));
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    cudaFree(a);
    cudaFree(b);
    double gbs = 2.0 * bytes * reps / (ms / 1e3) / 1e9;
    std::printf("{\"bench\":\"d2d_copy\",\"bytes\":%zu,\"reps\":%d,\"ms\":%.3f,\"gb_s\":%.1f}\n", bytes, reps, ms, gbs);
    return gbs;
}

void bench_model(const shape& s, double bw_gbs, bool quick) {
    double t0 = now_ms();
    synthetic_model sm = make_model(s);
    const double gen_ms = now_ms() - t0;
    auto be = backend_create("cuda", 1);
    const int P = 512, n_ctx = P + 160;
    t0 = now_ms();
    transformer tf(sm.m, *be, n_ctx);  // prepare(): uploads every weight once
    const double up_ms = now_ms() - t0;
    const auto& c = sm.m->cfg;
    const int L = c.n_layer, V = c.n_vocab;
    std::printf("{\"bench\":\"model\",\"model\":\"%s\",\"device\":\"%s\",\"layers\":%d,\"weights_gb\":%.3f,"
                "\"decode_bytes_gb\":%.3f,\"host_fill_ms\":%.0f,\"upload_ms\":%.0f}\n",
                s.name, be->device_info().c_str(), L,
                (sm.decode_bytes + (s.tied ? 0 : sm.m->tok_embd.nbytes())) / 1e9, sm.decode_bytes / 1e9, gen_ms, up_ms);
    std::fflush(stdout);

    std::vector<int32_t> prompt(P);
    for (int i = 0; i < P; i++) prompt[i] = (i * 7919 + 13) % V;
    forward_out out;

    // Prefill: one forward of 512 tokens (the engine feeds 256 at a time; this is the kernel limit).
    std::vector<double> pre;
    for (int rep = 0; rep < (quick ? 2 : 3) + 1; rep++) {
        double a = now_ms();
        tf.forward(prompt.data(), P, 0, nullptr, true, {P - 1}, {}, out);
        if (rep > 0) pre.push_back(now_ms() - a);  // the first run allocates scratch
    }
    tf.cache.n = P;
    double pre_ms = *std::min_element(pre.begin(), pre.end());
    std::printf("{\"bench\":\"prefill\",\"model\":\"%s\",\"tokens\":%d,\"ms\":%.2f,\"tok_s\":%.0f}\n", s.name, P, pre_ms,
                P / (pre_ms / 1e3));

    // Decode: one token per step at growing positions.
    const int steps = quick ? 24 : 64;
    std::vector<double> dec;
    for (int i = 0; i < steps + 4; i++) {
        int32_t t = (i * 31 + 5) % V;
        double a = now_ms();
        tf.forward(&t, 1, P + i, nullptr, true, {0}, {}, out);
        if (i >= 4) dec.push_back(now_ms() - a);
    }
    tf.cache.n = P + steps + 4;
    const double dec_ms = median(dec);
    const double floor_ms = sm.decode_bytes / (bw_gbs * 1e9) * 1e3;
    std::printf("{\"bench\":\"decode\",\"model\":\"%s\",\"ms\":%.3f,\"tok_s\":%.1f,\"floor_ms\":%.3f,"
                "\"share_of_floor\":%.3f,\"effective_gb_s\":%.1f}\n",
                s.name, dec_ms, 1e3 / dec_ms, floor_ms, floor_ms / dec_ms, sm.decode_bytes / (dec_ms / 1e3) / 1e9);

    // The same step taken apart: each op timed alone, and their sum against the step just measured.
    bench_decode_ops({s.name, L, c.n_embd, c.n_ff, c.n_head, c.n_head_kv, c.head_dim, V}, bw_gbs, dec_ms, P, quick);

    const int pos = P + 8;  // draft/verify/DP run here; the cache holds [0, P + steps) by now
    const int M = L / 2;
    std::vector<uint8_t> skip(L, 0);
    for (int l = L / 2 - 1; l < L - 1; l++) skip[l] = 1;  // M middle-to-deep layers (cost depends only on M)
    {
        std::vector<double> v;
        for (int i = 0; i < (quick ? 12 : 32); i++) {
            int32_t t = (i * 17 + 3) % V;
            double a = now_ms();
            tf.forward(&t, 1, pos, skip.data(), true, {0}, {}, out);
            v.push_back(now_ms() - a);
        }
        double ms = median(v);
        std::printf("{\"bench\":\"draft\",\"model\":\"%s\",\"skipped\":%d,\"layers\":%d,\"ms\":%.3f,"
                    "\"vs_decode\":%.3f,\"ideal\":%.3f}\n",
                    s.name, M, L, ms, ms / dec_ms, (double)(L - M) / L);
    }

    // Verify k tokens: one full pass that returns logits for every position (as the engine does).
    for (int k = 1; k <= 16; k++) {
        std::vector<int32_t> toks(k);
        std::vector<int> rows(k);
        for (int i = 0; i < k; i++) { toks[i] = (i * 101 + k) % V; rows[i] = i; }
        std::vector<double> v;
        for (int rep = 0; rep < (quick ? 3 : 7); rep++) {
            double a = now_ms();
            tf.forward(toks.data(), k, pos, nullptr, true, rows, {}, out);
            v.push_back(now_ms() - a);
        }
        double ms = median(v);
        std::printf("{\"bench\":\"verify\",\"model\":\"%s\",\"tokens\":%d,\"ms\":%.3f,\"vs_decode\":%.3f,"
                    "\"logits_mb\":%.2f}\n",
                    s.name, k, ms, ms / dec_ms, (double)k * V * 4 / 1e6);
    }

    // One DP run's layer work: every layer applied to M candidate states at one position.
    {
        std::vector<float> states((size_t)M * c.n_embd), res(states.size());
        for (size_t i = 0; i < states.size(); i++) states[i] = (float)((i * 2654435761u) % 1000) / 500.f - 1.f;
        std::vector<double> v;
        for (int rep = 0; rep < (quick ? 2 : 4); rep++) {
            double a = now_ms();
            for (int il = 0; il < L; il++) tf.layer_candidates(il, states.data(), M, pos, res.data());
            if (rep > 0) v.push_back(now_ms() - a);
        }
        double ms = median(v);
        std::printf("{\"bench\":\"dp_layer_candidates\",\"model\":\"%s\",\"layers\":%d,\"candidates\":%d,\"ms\":%.3f,"
                    "\"vs_decode\":%.3f}\n",
                    s.name, L, M, ms, ms / dec_ms);
    }
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    std::string models = "1b,8b";
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--models" && i + 1 < argc) models = argv[++i];
        else if (a == "--quick") quick = true;
        else {
            std::fprintf(stderr, "usage: clasp-gpu-bench [--models 1b,8b] [--quick]\n");
            return 2;
        }
    }
    std::string reason;
    if (!cuda_available(reason)) {
        std::fprintf(stderr, "clasp-gpu-bench: CUDA is not usable here: %s\n", reason.c_str());
        return 1;
    }
    const shape shapes[] = {
        {"llama-3.2-1b-shape-bf16", 16, 2048, 8192, 32, 8, 64, 128256, true},
        {"llama-3-8b-shape-bf16", 32, 4096, 14336, 32, 8, 128, 128256, false},
    };
    try {
        double bw = d2d_bandwidth_gbs();
        for (const auto& s : shapes) {
            bool want = (std::string(s.name).find("1b") != std::string::npos && models.find("1b") != std::string::npos) ||
                        (std::string(s.name).find("8b") != std::string::npos && models.find("8b") != std::string::npos);
            if (want) bench_model(s, bw, quick);
        }
    } catch (const engine_error& e) {
        std::fprintf(stderr, "clasp-gpu-bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
