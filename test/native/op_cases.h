// One table of op cases (shapes, dtypes, KV types, tolerances) and the checks that run it on any
// backend against the ref oracle, as ggml's test-backend-ops does: the CPU suite (test_ops.cpp) runs
// it at every kernel level, the GPU suite (test/gpu/test_cuda_ops.cpp) on the CUDA backend. The
// checks go through the backend interface only (alloc, upload, op, download), so one loop serves host
// and device memory. A backend skips the weight and KV types it does not read (reads_weight,
// supports_kv). Each check returns the number of cases it compared, which the tests print.
#pragma once
#include "util.h"
#include <cstdio>
#include <functional>

namespace oc {

using clasp::attn_mask;
using clasp::backend;
using clasp::dtype;
using clasp::kv_type;
using backends = std::vector<backend*>;

// ---------------------------------------------------------------- the table

inline const std::vector<dtype>& all_dtypes() {
    static const std::vector<dtype> t = {dtype::F32,  dtype::F16,  dtype::BF16, dtype::Q8_0, dtype::Q4_0, dtype::Q4_1,
                                         dtype::Q5_0, dtype::Q5_1, dtype::Q4_K, dtype::Q5_K, dtype::Q6_K};
    return t;
}

// matmul against ref: every dtype over each sweep's n_in x n_out x T (an n_in that is not a multiple
// of the dtype's block is skipped).
struct matmul_sweep {
    const char* what;
    std::vector<int64_t> n_ins, n_outs;
    std::vector<int> Ts;
};
inline const std::vector<matmul_sweep>& matmul_sweeps() {
    static const std::vector<matmul_sweep> s = {
        {"shapes", {7, 32, 33, 64, 96, 256, 288, 512, 768, 1000, 2048}, {1, 3, 4, 5, 17, 64, 130},
         {1, 2, 3, 4, 5, 7, 8, 9, 16, 17}},
        // the GPU's 32-token query groups and its prefill GEMM (T > 80: 128-row, 64-token tiles, long K)
        {"wide batches", {32, 512, 1056}, {1, 129, 300}, {31, 32, 33, 65, 80, 81, 100, 128, 130, 257}},
    };
    return s;
}
// Float activations (F32, F16, BF16 weights, and Q8_0 read as d * q): nmse against ref below this
// (the GPU's tensor cores keep ~16 bits of x as hi + lo parts: ~1e-11; a layout error gives ~1).
constexpr double MATMUL_NMSE = 1e-8;
// The other quantized types run integer kernels on 8-bit activations, and Q8_0 too on the CPU's
// 256-bit levels (cpu_kernels::q8_0_integer): each element within tu::act8_error_bound of ref's
// exact product.
inline bool act8_tolerance(dtype t, const backend& be) {
    if (t != dtype::Q8_0) return clasp::is_quantized(t);
    const auto* cpu = dynamic_cast<const clasp::cpu_backend*>(&be);
    return cpu && cpu->kernels().q8_0_integer;
}

// matmul batch invariance: each token of a batch of T bit-identical to itself alone.
constexpr int64_t BI_N_OUT = 67;
inline const std::vector<int64_t> BI_N_INS = {100, 256, 4096};  // 4096: several blocks of tokens (L2)
inline const std::vector<int> BI_TS = {2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 24, 31, 32, 33, 65, 70, 80};

// rmsnorm, silu_mul, add over n (T = 3): nmse below ELEMENTWISE_NMSE, add exact. rope over head_dim,
// both pair layouts, at consecutive (a forward), equal (the DP's candidates) and arbitrary positions.
inline const std::vector<int> ELEMENTWISE_NS = {1, 5, 64, 256, 1000, 4096};
constexpr double ELEMENTWISE_NMSE = 1e-12;
inline const std::vector<int> ROPE_HDS = {2, 8, 64, 128};
inline const std::vector<std::vector<int32_t>> ROPE_POSITIONS = {
    {17, 18, 19, 20}, {1000, 1000, 1000, 1000}, {0, 1, 17, 8191}, {0, 1, 17, 1000}};

// attention against ref, causal and diagonal, with an F32 and an F16 cache: GQA ratios 1..16,
// head_dim 2..256, the GPU kernels' chunk edges (warp kernel: 16 keys up to 512, then growing; block
// kernel: 128 keys, growing past 64 x 128), query groups (32), Llama-3-8B decode (32/8 heads of 128).
struct attn_shape {
    int n_head, n_head_kv, hd, n_prefix, T;
};
inline const std::vector<attn_shape>& attn_shapes() {
    static const std::vector<attn_shape> s = {
        {4, 2, 64, 0, 1},      {4, 2, 64, 0, 7},       {4, 2, 64, 10, 1},    {4, 2, 64, 33, 5},   {8, 1, 32, 100, 16},
        {3, 3, 8, 5, 3},       {6, 2, 128, 200, 4},    {1, 1, 2, 1, 1},      {4, 2, 64, 127, 1},  {4, 2, 64, 127, 2},
        {4, 2, 64, 255, 3},    {32, 8, 128, 1000, 5},  {16, 1, 64, 300, 2},  {4, 4, 256, 130, 3}, {4, 2, 6, 40, 3},
        {4, 2, 64, 0, 33},     {4, 2, 64, 20, 70},     {8, 2, 64, 8190, 4},  {2, 1, 64, 9000, 2}, {4, 2, 64, 15, 1},
        {4, 2, 64, 16, 2},     {4, 2, 64, 511, 1},     {4, 2, 64, 512, 2},   {32, 8, 128, 511, 1},
        {32, 8, 128, 4095, 1}, {32, 32, 128, 600, 3},  {64, 8, 128, 300, 2}, {16, 8, 256, 200, 3},
        {32, 4, 64, 1, 1},     {8, 1, 128, 70000, 1}};
    return s;
}
constexpr double ATTN_NMSE = 1e-10;
inline const std::vector<kv_type> KV_TYPES = {kv_type::f32, kv_type::f16};

// attention batch invariance: query t of a batch (prefix p) bit-identical to it decoded alone at
// prefix p + t with the batch's earlier keys in the cache (causal), or at prefix p (diagonal, the DP).
// The first ATTN_BI_CPU_SHAPES are small; the rest, a grid at the GPU kernels' chunk edges, takes the
// CPU minutes at its scalar level (test_ops.cpp runs it at the best level).
constexpr int ATTN_BI_CPU_SHAPES = 7;
inline const std::vector<attn_shape>& attn_bi_shapes() {
    static const std::vector<attn_shape> s = [] {
        std::vector<attn_shape> v = {{4, 2, 64, 0, 7},    {4, 2, 64, 33, 5},  {8, 1, 32, 100, 16}, {3, 3, 8, 5, 3},
                                     {6, 2, 128, 200, 4}, {4, 2, 64, 300, 9}, {2, 1, 2, 17, 18}};
        // the GPU kernels: warp kernel (8/2 x 64, 32/8 x 128), block kernel (G = 3) at chunk edges
        for (attn_shape h : {attn_shape{8, 2, 64, 0, 0}, attn_shape{32, 8, 128, 0, 0}, attn_shape{6, 2, 64, 0, 0}})
            for (int p0 : {0, 1, 15, 120, 127, 250, 511, 1000, 8185})
                for (int T : {2, 5, 16, 32}) v.push_back({h.n_head, h.n_head_kv, h.hd, p0, T});
        return v;
    }();
    return s;
}

// ---------------------------------------------------------------- running it

// Whether a backend's matmul reads weights of type t (the CUDA kernels: F32, F16, BF16 and Q8_0).
inline bool reads_weight(const backend& be, dtype t) {
    return be.name() != "cuda" || t == dtype::F32 || t == dtype::F16 || t == dtype::BF16 || t == dtype::Q8_0;
}

// A float buffer in the backend's memory, uploaded on construction and downloaded on demand.
struct buf {
    backend& be;
    float* p = nullptr;
    size_t n = 0;
    buf(backend& b, size_t count) : be(b), p(b.alloc(count)), n(count) {}
    buf(backend& b, const std::vector<float>& host) : buf(b, host.size()) { be.upload(p, host.data(), n); }
    ~buf() { be.free(p); }
    buf(const buf&) = delete;
    buf& operator=(const buf&) = delete;
    std::vector<float> get() const {
        std::vector<float> h(n);
        be.download(h.data(), p, n);
        return h;
    }
};

// A KV cache buffer of type kv holding these values (F16: rounded to nearest even, two per float).
inline std::unique_ptr<buf> kv_buf(backend& be, const std::vector<float>& values, kv_type kv) {
    if (kv == kv_type::f32) return std::make_unique<buf>(be, values);
    std::vector<uint16_t> h(values.size() + values.size() % 2, 0);
    for (size_t i = 0; i < values.size(); i++) h[i] = clasp::fp32_to_fp16(values[i]);
    std::vector<float> packed(h.size() / 2);
    std::memcpy(packed.data(), h.data(), h.size() * 2);
    return std::make_unique<buf>(be, packed);
}

inline bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

// matmul of every dtype over every sweep, against ref. Per (dtype, n_in, n_out) one weight and one
// input of the sweep's largest T: ref's product (and the 8-bit bound) is computed once, and each
// batch size T takes the first T tokens (ref's rows do not depend on the others).
inline int check_matmul(const backends& bes) {
    clasp::ref_backend ref;
    int cases = 0;
    uint32_t seed = 1;
    for (const auto& sw : matmul_sweeps()) {
        const int t_max = *std::max_element(sw.Ts.begin(), sw.Ts.end());
        for (dtype t : all_dtypes())
            for (int64_t n_in : sw.n_ins) {
                if (n_in % clasp::block_elems(t)) continue;
                for (int64_t n_out : sw.n_outs) {
                    auto W = tu::make_weight(t, n_out, n_in, seed++);
                    auto x = tu::randv((size_t)t_max * n_in, seed++);
                    std::vector<float> want;
                    std::vector<double> bound;
                    for (backend* be : bes) {
                        if (!reads_weight(*be, t)) continue;
                        if (want.empty()) {
                            want.resize((size_t)t_max * n_out);
                            ref.matmul(W.w, x.data(), t_max, want.data());
                        }
                        if (act8_tolerance(t, *be) && bound.empty()) bound = tu::act8_error_bound(W.w, x, t_max);
                        buf dx(*be, x), dy(*be, want.size());
                        for (int T : sw.Ts) {
                            be->matmul(W.w, dx.p, T, dy.p);
                            auto got = dy.get();
                            got.resize((size_t)T * n_out);
                            const std::vector<float> w_T(want.begin(), want.begin() + got.size());
                            cases++;
                            const auto where = [&] {
                                std::ostringstream os;
                                os << be->device_info() << " " << sw.what << " " << clasp::dtype_name(t)
                                   << " n_out=" << n_out << " n_in=" << n_in << " T=" << T;
                                return os.str();
                            };
                            if (!act8_tolerance(t, *be)) {
                                CHECK_MSG(tu::nmse(got, w_T) < MATMUL_NMSE, where() << tu::first_mismatches(got, w_T, 1e-4));
                                continue;
                            }
                            size_t bad = 0, first = 0;
                            for (size_t i = 0; i < got.size(); i++)
                                if (!(std::fabs((double)got[i] - w_T[i]) <= bound[i]) && bad++ == 0) first = i;
                            CHECK_MSG(bad == 0, where() << ": " << bad << " elements outside the 8-bit bound, first [" << first
                                                        << "] got " << got[first] << " want " << w_T[first] << " bound "
                                                        << bound[first]);
                        }
                    }
                }
            }
    }
    return cases;
}

// matmul batch invariance: each token of every batch size equals itself alone, bit for bit.
inline int check_matmul_batch_invariant(const backends& bes) {
    int cases = 0;
    const int t_max = *std::max_element(BI_TS.begin(), BI_TS.end());
    for (int64_t n_in : BI_N_INS)
        for (dtype t : all_dtypes()) {
            if (n_in % clasp::block_elems(t)) continue;
            auto W = tu::make_weight(t, BI_N_OUT, n_in, 7 + (uint32_t)n_in + (uint32_t)t);
            auto x = tu::randv((size_t)t_max * n_in, 99 + (uint32_t)n_in);
            for (backend* be : bes) {
                if (!reads_weight(*be, t)) continue;
                buf dx(*be, x), dy(*be, (size_t)t_max * BI_N_OUT), d1(*be, (size_t)BI_N_OUT);
                std::vector<std::vector<float>> alone(t_max);
                for (int i = 0; i < t_max; i++) {
                    be->matmul(W.w, dx.p + (size_t)i * n_in, 1, d1.p);
                    alone[i] = d1.get();
                }
                for (int T : BI_TS) {
                    be->matmul(W.w, dx.p, T, dy.p);
                    const auto batch = dy.get();
                    cases++;
                    for (int i = 0; i < T; i++)
                        CHECK_MSG(same_bits(alone[i].data(), batch.data() + (size_t)i * BI_N_OUT, BI_N_OUT),
                                  be->device_info() << " " << clasp::dtype_name(t) << " n_in=" << n_in << " T=" << T
                                                    << " token " << i);
                }
            }
        }
    return cases;
}

// rmsnorm, silu_mul and add over every n; rope over every head_dim, layout and position set.
inline int check_elementwise(const backends& bes) {
    clasp::ref_backend ref;
    int cases = 0;
    for (int n : ELEMENTWISE_NS) {
        const int T = 3;
        auto x = tu::randv((size_t)T * n, n), w = tu::randv(n, n + 1);
        auto g = tu::randv((size_t)n, 3), u = tu::randv((size_t)n, 4), y = tu::randv((size_t)n, 5);
        std::vector<float> norm((size_t)T * n), g1 = g, y1 = y;
        ref.rmsnorm(x.data(), w.data(), T, n, 1e-5f, norm.data());
        ref.silu_mul(g1.data(), u.data(), n);
        ref.add(y1.data(), u.data(), n);
        for (backend* be : bes) {
            buf dx(*be, x), dw(*be, w), dout(*be, norm.size()), dg(*be, g), du(*be, u), dy(*be, y);
            be->rmsnorm(dx.p, dw.p, T, n, 1e-5f, dout.p);
            be->silu_mul(dg.p, du.p, n);
            be->add(dy.p, du.p, n);
            const auto b = dout.get(), g2 = dg.get();
            cases += 3;
            CHECK_MSG(tu::nmse(b, norm) < ELEMENTWISE_NMSE, be->device_info() << " rmsnorm n=" << n << tu::first_mismatches(b, norm, 1e-5));
            CHECK_MSG(tu::nmse(g2, g1) < ELEMENTWISE_NMSE, be->device_info() << " silu_mul n=" << n << tu::first_mismatches(g2, g1, 1e-5));
            CHECK_MSG(dy.get() == y1, be->device_info() << " add n=" << n);
        }
    }
    for (int hd : ROPE_HDS)
        for (bool inter : {false, true})
            for (size_t pv = 0; pv < ROPE_POSITIONS.size(); pv++) {
                const auto& pos = ROPE_POSITIONS[pv];
                const int T = (int)pos.size(), nh = 3;
                std::vector<float> inv(hd / 2);
                for (int i = 0; i < hd / 2; i++) inv[i] = std::pow(500000.f, -2.f * i / hd);
                const auto x = tu::randv((size_t)T * nh * hd, hd);
                auto want = x;
                ref.rope(want.data(), T, nh, hd, pos.data(), inv.data(), inter);
                for (backend* be : bes) {
                    buf dx(*be, x), dinv(*be, inv);
                    be->rope(dx.p, T, nh, hd, pos.data(), dinv.p, inter);
                    const auto got = dx.get();
                    cases++;
                    CHECK_MSG(tu::nmse(got, want) < ELEMENTWISE_NMSE, be->device_info() << " rope hd=" << hd << " interleaved="
                                                                      << inter << " positions " << pv
                                                                      << tu::first_mismatches(got, want, 1e-4));
                }
            }
    return cases;
}

// attention of every shape, mask and KV type against ref. label: what the caller varied (e.g. a kernel).
inline int check_attention(const backends& bes, const std::string& label = "") {
    clasp::ref_backend ref;
    int cases = 0;
    for (const auto& s : attn_shapes())
        for (kv_type kv : KV_TYPES)
            for (attn_mask m : {attn_mask::causal, attn_mask::diagonal}) {
                const int n_ctx = s.n_prefix + s.T + 3, kvd = s.n_head_kv * s.hd;
                auto q = tu::randv((size_t)s.T * s.n_head * s.hd, 1);
                auto kn = tu::randv((size_t)s.T * kvd, 2), vn = tu::randv((size_t)s.T * kvd, 3);
                auto kc = tu::randv((size_t)n_ctx * kvd, 4), vc = tu::randv((size_t)n_ctx * kvd, 5);
                std::vector<float> want;
                for (backend* be : bes) {
                    if (!be->supports_kv(kv)) continue;
                    if (want.empty()) {
                        want.resize(q.size());
                        auto hk = kv_buf(ref, kc, kv), hv = kv_buf(ref, vc, kv);
                        ref.attention(q.data(), kn.data(), vn.data(), s.T, hk->p, hv->p, kv, s.n_prefix, s.n_head,
                                      s.n_head_kv, s.hd, m, want.data());
                    }
                    buf dq(*be, q), dkn(*be, kn), dvn(*be, vn), dout(*be, q.size());
                    auto dkc = kv_buf(*be, kc, kv), dvc = kv_buf(*be, vc, kv);
                    be->attention(dq.p, dkn.p, dvn.p, s.T, dkc->p, dvc->p, kv, s.n_prefix, s.n_head, s.n_head_kv, s.hd,
                                  m, dout.p);
                    const auto got = dout.get();
                    cases++;
                    CHECK_MSG(tu::nmse(got, want) < ATTN_NMSE,
                              be->device_info() << label << " heads " << s.n_head << "/" << s.n_head_kv << " hd=" << s.hd
                                                << " prefix=" << s.n_prefix << " T=" << s.T << " kv " << clasp::kv_type_name(kv)
                                                << " diag=" << (m == attn_mask::diagonal) << tu::first_mismatches(got, want, 1e-4));
                }
            }
    return cases;
}

// attention batch invariance over the given shapes (default: the table's), both masks and KV types.
inline int check_attention_batch_invariant(const backends& bes, const std::string& label = "",
                                           const std::vector<attn_shape>& shapes = attn_bi_shapes()) {
    int cases = 0;
    for (const auto& s : shapes)
        for (kv_type kv : KV_TYPES) {
            const int kvd = s.n_head_kv * s.hd, qd = s.n_head * s.hd, p0 = s.n_prefix, T = s.T;
            const auto q = tu::randv((size_t)T * qd, 11 + p0, 2.f);
            const auto kn = tu::randv((size_t)T * kvd, 12 + p0), vn = tu::randv((size_t)T * kvd, 13 + p0);
            const auto kc = tu::randv((size_t)(p0 + T + 1) * kvd, 14), vc = tu::randv((size_t)(p0 + T + 1) * kvd, 15);
            // the cache as a causal pass leaves it: the new keys after the prefix
            auto kc2 = kc, vc2 = vc;
            std::copy(kn.begin(), kn.end(), kc2.begin() + (size_t)p0 * kvd);
            std::copy(vn.begin(), vn.end(), vc2.begin() + (size_t)p0 * kvd);
            for (backend* be : bes) {
                if (!be->supports_kv(kv)) continue;
                buf dq(*be, q), dkn(*be, kn), dvn(*be, vn), dout(*be, q.size()), one(*be, (size_t)qd);
                auto dkc = kv_buf(*be, kc, kv), dvc = kv_buf(*be, vc, kv), dkc2 = kv_buf(*be, kc2, kv),
                     dvc2 = kv_buf(*be, vc2, kv);
                for (attn_mask m : {attn_mask::causal, attn_mask::diagonal}) {
                    const bool causal = m == attn_mask::causal;
                    be->attention(dq.p, dkn.p, dvn.p, T, dkc->p, dvc->p, kv, p0, s.n_head, s.n_head_kv, s.hd, m, dout.p);
                    const auto batch = dout.get();
                    cases++;
                    for (int t = 0; t < T; t++) {
                        be->attention(dq.p + (size_t)t * qd, dkn.p + (size_t)t * kvd, dvn.p + (size_t)t * kvd, 1,
                                      causal ? dkc2->p : dkc->p, causal ? dvc2->p : dvc->p, kv, causal ? p0 + t : p0,
                                      s.n_head, s.n_head_kv, s.hd, attn_mask::causal, one.p);
                        const auto alone = one.get();
                        CHECK_MSG(same_bits(alone.data(), batch.data() + (size_t)t * qd, qd),
                                  be->device_info() << label << " heads " << s.n_head << "/" << s.n_head_kv << " hd=" << s.hd
                                                    << " prefix=" << p0 << " T=" << T << " kv " << clasp::kv_type_name(kv)
                                                    << " query " << t << " diag=" << !causal);
                    }
                }
            }
        }
    return cases;
}

// Prints how many cases a check compared (the tests' output keeps the count visible).
inline void report(const char* what, int cases) { std::printf("  %s: %d cases\n", what, cases); }

}  // namespace oc
