// Per-op decode timings (see bench_ops.h). The ops are the CUDA backend's own launchers on device
// buffers of the model's shapes, with BF16 weights; each op is queued `reps` times between two events,
// so a figure is GPU time per call including the gap between back-to-back kernels, not host overhead.
#include "bench_ops.h"
#include "backend/cuda/cuda_ops.h"
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace clasp;

namespace {

struct dev_mem {
    void* p = nullptr;
    explicit dev_mem(size_t bytes, int fill = 0) {
        CUDA_CHECK(cudaMalloc(&p, bytes));
        CUDA_CHECK(cudaMemset(p, fill, bytes));
    }
    ~dev_mem() { cudaFree(p); }
    dev_mem(const dev_mem&) = delete;
    dev_mem& operator=(const dev_mem&) = delete;
    float* f() const { return (float*)p; }
};

// Rotating copies of a working set: enough that their total exceeds L2 several times over, so each
// call reads from HBM as a decode step does (H200: 50 MB of L2; 512 MB here).
int copies_for(size_t bytes) {
    const size_t want = (size_t)512 << 20;
    int n = (int)((want + bytes - 1) / bytes);
    return n < 2 ? 2 : n > 64 ? 64 : n;
}

// A BF16 matrix in enough rotating copies that L2 holds none of them when each call takes the next.
struct rotating {
    size_t bytes;
    int n;
    dev_mem pool;
    cuda::dev_weight w;
    rotating(int n_out, int n_in)
        : bytes((size_t)n_out * n_in * 2), n(copies_for(bytes)), pool(bytes * n, 0x3c) {  // bf16 0x3c3c ~ 0.0115
        w.type = dtype::BF16;
        w.n_in = n_in;
        w.n_out = n_out;
    }
    cuda::dev_weight at(int i) {
        w.data = (const char*)pool.p + (size_t)(i % n) * bytes;
        return w;
    }
};

// GPU time per call in microseconds: `op(i)` queued reps times on s after a short warm-up.
double time_us(cudaStream_t s, int reps, const std::function<void(int)>& op) {
    for (int i = 0; i < 3; i++) op(i);
    cudaEvent_t e0, e1;
    CUDA_CHECK(cudaEventCreate(&e0));
    CUDA_CHECK(cudaEventCreate(&e1));
    CUDA_CHECK(cudaEventRecord(e0, s));
    for (int i = 0; i < reps; i++) op(i);
    CUDA_CHECK(cudaEventRecord(e1, s));
    CUDA_CHECK(cudaEventSynchronize(e1));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    return ms * 1e3 / reps;
}

}  // namespace

double bench_decode_ops(const op_shape& s, double copy_gb_s, double decode_ms, int context, bool quick) {
    cudaStream_t st;
    CUDA_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    const int reps = quick ? 40 : 200;
    const int qd = s.n_head * s.head_dim, kvd = s.n_head_kv * s.head_dim;
    const int big = s.n_ff > s.n_vocab ? s.n_ff : s.n_vocab;
    dev_mem x(sizeof(float) * big), y(sizeof(float) * big), u(sizeof(float) * big);

    // ---- matrix products at T = 1: each alone, then as the engine launches them (fused hooks)
    struct mat {
        const char* name;
        int n_out, n_in;
    };
    const mat mats[] = {{"wq", qd, s.n_embd},     {"wk", kvd, s.n_embd},       {"wv", kvd, s.n_embd},
                        {"wo", s.n_embd, qd},     {"w_gate", s.n_ff, s.n_embd}, {"w_up", s.n_ff, s.n_embd},
                        {"w_down", s.n_embd, s.n_ff}, {"output", s.n_vocab, s.n_embd}};
    const int n_mats = sizeof mats / sizeof mats[0];
    std::vector<std::unique_ptr<rotating>> rot;
    for (const mat& m : mats) rot.push_back(std::make_unique<rotating>(m.n_out, m.n_in));
    auto report = [&](const char* kind, const char* name, std::initializer_list<int> which, double us) {
        double bytes = 0;
        for (int i : which) bytes += rot[i]->bytes + 4.0 * (mats[i].n_in + mats[i].n_out);
        const double gbs = bytes / (us * 1e-6) / 1e9;
        std::printf("{\"bench\":\"%s\",\"model\":\"%s\",\"op\":\"%s\",\"mb\":%.2f,\"us\":%.2f,\"gb_s\":%.1f,"
                    "\"share_of_copy\":%.3f}\n",
                    kind, s.model, name, bytes / 1e6, us, gbs, gbs / copy_gb_s);
    };
    for (int i = 0; i < n_mats; i++) {
        const double us = time_us(st, reps, [&](int r) { cuda::matmul_skinny(rot[i]->at(r), x.f(), 1, y.f(), st); });
        report("op_matmul", mats[i].name, {i}, us);
    }
    double layer_us = 0, step_us = 0;
    {
        float* qkv_out[3] = {y.f(), u.f(), u.f() + kvd};
        double us = time_us(st, reps, [&](int r) {
            const cuda::dev_weight w[3] = {rot[0]->at(r), rot[1]->at(r), rot[2]->at(r)};
            cuda::matmul_skinny_n(3, w, x.f(), 1, qkv_out, st);
        });
        report("op_fused", "qkv", {0, 1, 2}, us);
        layer_us += us;
        us = time_us(st, reps, [&](int r) { cuda::matmul_skinny_add(rot[3]->at(r), x.f(), 1, y.f(), st); });
        report("op_fused", "wo_add", {3}, us);
        layer_us += us;
        us = time_us(st, reps,
                     [&](int r) { cuda::matmul_skinny_swiglu(rot[4]->at(r), rot[5]->at(r), x.f(), 1, y.f(), st); });
        report("op_fused", "gate_up_swiglu", {4, 5}, us);
        layer_us += us;
        us = time_us(st, reps, [&](int r) { cuda::matmul_skinny_add(rot[6]->at(r), x.f(), 1, y.f(), st); });
        report("op_fused", "down_add", {6}, us);
        layer_us += us;
        step_us += time_us(st, reps, [&](int r) { cuda::matmul_skinny(rot[7]->at(r), x.f(), 1, y.f(), st); });
    }
    rot.clear();

    // ---- attention at T = 1 over 512 and 4096 keys (the cache as the engine keeps it: float32)
    double attn_at_context = 0;
    std::vector<int> key_counts = {512, 4096};
    if (context != 512 && context != 4096) key_counts.push_back(context);
    for (int n_kv : key_counts) {
        const size_t kv_bytes = (size_t)n_kv * kvd * sizeof(float);
        const int n = copies_for(2 * kv_bytes);
        dev_mem kc(kv_bytes * n), vc(kv_bytes * n), q(sizeof(float) * qd), kn(sizeof(float) * kvd),
            vn(sizeof(float) * kvd), out(sizeof(float) * qd);
        dev_mem scratch(sizeof(float) * cuda::attention_scratch_floats(1, n_kv - 1, s.n_head, s.head_dim));
        for (bool block_only : {false, true}) {  // the default kernel, then the older block kernel
            cuda::attention_block_kernel_only(block_only);
            const double us = time_us(st, reps, [&](int i) {
                const size_t off = (size_t)(i % n) * n_kv * kvd;
                cuda::attention(q.f(), kn.f(), vn.f(), 1, kc.f() + off, vc.f() + off, n_kv - 1, s.n_head,
                                s.n_head_kv, s.head_dim, false, out.f(), scratch.f(), st);
            });
            std::printf("{\"bench\":\"op_attention\",\"model\":\"%s\",\"kernel\":\"%s\",\"keys\":%d,\"us\":%.2f,"
                        "\"gb_s\":%.1f,\"healthy_us\":5}\n",
                        s.model, block_only ? "block" : "default", n_kv, us, 2.0 * kv_bytes / (us * 1e-6) / 1e9);
            if (n_kv == context && !block_only) attn_at_context = us;
        }
        cuda::attention_block_kernel_only(false);
    }
    layer_us += attn_at_context;

    // ---- the small ops (L2-resident: their cost is launch and latency, not bandwidth)
    dev_mem norm_w(sizeof(float) * s.n_embd), inv_freq(sizeof(float) * s.head_dim / 2), kcache(sizeof(float) * kvd * 2);
    struct small {
        const char* name;
        int per_layer;
        std::function<void(int)> op;
    };
    // per_layer: how often a decode step's layer launches it (0: shown for reference, not launched).
    const small smalls[] = {
        {"rmsnorm", 2, [&](int) { cuda::rmsnorm(x.f(), norm_w.f(), 1, s.n_embd, 1e-5f, y.f(), st); }},
        {"rope_qk", 1, [&](int) {
             cuda::rope_qk(y.f(), s.n_head, u.f(), s.n_head_kv, 1, s.head_dim, nullptr, context, 0, inv_freq.f(),
                           false, st);
         }},
        {"rope_q", 0, [&](int) { cuda::rope(y.f(), 1, s.n_head, s.head_dim, nullptr, context, 0, inv_freq.f(), false, st); }},
        {"kv_copy", 2, [&](int) {
             CUDA_CHECK(cudaMemcpyAsync(kcache.f(), x.f(), sizeof(float) * kvd, cudaMemcpyDeviceToDevice, st));
         }},
        {"add", 0, [&](int) { cuda::add(x.f(), y.f(), (size_t)s.n_embd, st); }},
        {"silu_mul", 0, [&](int) { cuda::silu_mul(y.f(), u.f(), (size_t)s.n_ff, st); }},
    };
    for (const small& o : smalls) {
        const double us = time_us(st, reps, o.op);
        std::printf("{\"bench\":\"op_small\",\"model\":\"%s\",\"op\":\"%s\",\"us\":%.2f,\"per_layer\":%d}\n", s.model,
                    o.name, us, o.per_layer);
        layer_us += us * o.per_layer;
        if (std::string(o.name) == "rmsnorm") step_us += us;  // the final norm
    }

    const double sum_ms = (layer_us * s.n_layer + step_us) / 1e3;
    std::printf("{\"bench\":\"op_sum\",\"model\":\"%s\",\"context\":%d,\"layer_us\":%.2f,\"sum_ms\":%.3f,"
                "\"decode_ms\":%.3f,\"gap_ms\":%.3f,\"gap_share\":%.3f,\"launches_per_layer\":11}\n",
                s.model, context, layer_us, sum_ms, decode_ms, decode_ms - sum_ms, (decode_ms - sum_ms) / decode_ms);
    std::fflush(stdout);
    CUDA_CHECK(cudaStreamSynchronize(st));
    cudaStreamDestroy(st);
    return sum_ms;
}
