// Every CPU op, at every kernel level, against the ref oracle: the shared op-case table
// (op_cases.h, which the GPU suite runs on CUDA too), plus the CPU's own properties (thread split,
// fused ops, element position).
#include "op_cases.h"
#include "util.h"

using namespace clasp;

namespace {
std::vector<backend*> ptrs(const std::vector<std::unique_ptr<cpu_backend>>& levels) {
    std::vector<backend*> v;
    for (auto& l : levels) v.push_back(l.get());
    return v;
}
}  // namespace

TEST(ops_matmul_all_dtypes_and_shapes) {
    auto levels = tu::cpu_levels(2);
    oc::report("matmul vs ref", oc::check_matmul(ptrs(levels)));
}

// A token's result must not depend on the batch it is computed in (exact lossless speculation).
TEST(ops_matmul_batch_invariant) {
    auto levels = tu::cpu_levels(2);
    oc::report("matmul batch invariance", oc::check_matmul_batch_invariant(ptrs(levels)));
}

TEST(ops_rmsnorm_rope_silu_add) {
    auto levels = tu::cpu_levels(2);
    oc::report("rmsnorm, silu_mul, add, rope vs ref", oc::check_elementwise(ptrs(levels)));
}

TEST(ops_attention_causal_and_diagonal) {
    auto levels = tu::cpu_levels(2);
    oc::report("attention vs ref", oc::check_attention(ptrs(levels)));
}

TEST(ops_dequantize_roundtrip) {
    auto v = tu::randv(64, 11);
    std::vector<block_q8_0> q(2);
    quantize_row_q8_0(v.data(), q.data(), 64);
    std::vector<float> back(64);
    dequantize_row(dtype::Q8_0, q.data(), back.data(), 64);
    double amax = 0;
    for (float x : v) amax = std::max(amax, (double)std::fabs(x));
    CHECK(tu::max_abs_diff(back, v) <= amax / 127.0 * 0.5 * 1.01 + 1e-6);
    for (float f : {0.f, 1.f, -2.5f, 65504.f, 6.1e-5f, 5.96e-8f, 1e-3f})
        CHECK_MSG(fp16_to_fp32(fp32_to_fp16(f)) == (float)f || std::fabs(fp16_to_fp32(fp32_to_fp16(f)) - f) < 1e-3 * std::fabs(f) + 6e-8, f);
}

// The same products on 1 to 4 threads: bit-identical (the pool may run any chunk on any thread).
TEST(ops_matmul_thread_split_invariant) {
    for (dtype t : {dtype::F16, dtype::Q8_0, dtype::F32, dtype::Q4_0, dtype::Q4_K, dtype::Q6_K})
        for (int T : {1, 3, 4, 9}) {
            auto W = tu::make_weight(t, 300, 512, 3 + T);
            auto x = tu::randv((size_t)T * 512, 5 + T);
            auto one = tu::cpu_levels(1);
            for (int threads : {2, 3, 4}) {
                auto levels = tu::cpu_levels(threads);
                for (size_t l = 0; l < levels.size(); l++) {
                    std::vector<float> a((size_t)T * 300), b((size_t)T * 300);
                    levels[l]->matmul(W.w, x.data(), T, a.data());
                    one[l]->matmul(W.w, x.data(), T, b.data());
                    CHECK_MSG(a == b, levels[l]->device_info() << " " << dtype_name(t) << " T=" << T);
                }
            }
        }
}

// The fused ops give exactly what their defaults (the plain ops of the same backend) give, and a
// token's result does not depend on the batch.
TEST(ops_fused_matmuls_match_plain_ops) {
    for (auto& be : tu::cpu_levels(2))
        for (dtype t : {dtype::F16, dtype::Q8_0, dtype::Q4_0, dtype::Q5_1})
            for (int T : {1, 2, 5, 16}) {
                const int d = 256, ff = 320;
                auto wq = tu::make_weight(t, 256, d, 1), wk = tu::make_weight(t, 128, d, 2), wv = tu::make_weight(t, 128, d, 3);
                auto wg = tu::make_weight(t, ff, d, 4), wu = tu::make_weight(t, ff, d, 5), wd = tu::make_weight(t, d, ff, 6);
                auto x = tu::randv((size_t)T * d, 7 + T);
                // Q, K, V in one call
                std::vector<float> q((size_t)T * 256), k((size_t)T * 128), v((size_t)T * 128), q2 = q, k2 = k, v2 = v;
                const weight* W[3] = {&wq.w, &wk.w, &wv.w};
                float* const Y[3] = {q.data(), k.data(), v.data()};
                be->matmul_n(3, W, x.data(), T, Y);
                float* const Y2[3] = {q2.data(), k2.data(), v2.data()};
                be->backend::matmul_n(3, W, x.data(), T, Y2);
                CHECK_MSG(q == q2 && k == k2 && v == v2, be->device_info() << " matmul_n " << dtype_name(t) << " T=" << T);
                // gate/up/silu
                std::vector<float> g((size_t)T * ff), u(g.size()), g2 = g, u2 = u;
                be->matmul_swiglu(wg.w, wu.w, x.data(), T, g.data(), u.data());
                be->backend::matmul_swiglu(wg.w, wu.w, x.data(), T, g2.data(), u2.data());
                CHECK_MSG(g == g2, be->device_info() << " matmul_swiglu " << dtype_name(t) << " T=" << T);
                // down projection into the residual
                auto res = tu::randv((size_t)T * d, 8), res2 = res;
                std::vector<float> tmp((size_t)T * d);
                be->matmul_add(wd.w, g.data(), T, tmp.data(), res.data());
                be->backend::matmul_add(wd.w, g.data(), T, tmp.data(), res2.data());
                CHECK_MSG(res == res2, be->device_info() << " matmul_add " << dtype_name(t) << " T=" << T);
                // token by token
                for (int i = 0; i < T; i++) {
                    std::vector<float> g1(ff), u1(ff);
                    be->matmul_swiglu(wg.w, wu.w, x.data() + (size_t)i * d, 1, g1.data(), u1.data());
                    CHECK_MSG(std::memcmp(g1.data(), g.data() + (size_t)i * ff, ff * 4) == 0,
                              be->device_info() << " swiglu token " << i << " of " << T);
                }
            }
}

TEST(ops_silu_mul_position_invariant) {
    for (auto& be : tu::cpu_levels(1)) {
        const int n = 77;
        auto g = tu::randv(n, 1, 4.f), u = tu::randv(n, 2);
        g[5] = 100.f, g[6] = -100.f, g[7] = 0.f, g[8] = -0.f, g[9] = 90.f, g[10] = -90.f;
        auto all = g;
        be->silu_mul(all.data(), u.data(), n);
        for (int off : {1, 3, 13, 40})
            for (int len : {1, 5, 16, 17, 30}) {
                if (off + len > n) continue;
                std::vector<float> part(g.begin() + off, g.begin() + off + len);
                be->silu_mul(part.data(), u.data() + off, len);
                CHECK_MSG(std::memcmp(part.data(), all.data() + off, len * 4) == 0, be->device_info() << " off " << off << " len " << len);
            }
        ref_backend ref;
        auto r = g;
        ref.silu_mul(r.data(), u.data(), n);
        CHECK_MSG(tu::nmse(all, r) < 1e-12, be->device_info() << tu::first_mismatches(all, r, 1e-6));
    }
}

// Attention: a query's output in a batch is bit-identical to the same query run alone, with the
// tokens before it already in the cache (causal), or with only itself new (diagonal). The table's
// CPU-sized shapes at every level on 1, 2 and 3 threads; its GPU chunk-edge grid (long prefixes,
// batches of 32) on the best level, 2 threads: at every level it would cost minutes of CPU.
TEST(ops_attention_batch_invariant) {
    const auto& all = oc::attn_bi_shapes();
    const std::vector<oc::attn_shape> small(all.begin(), all.begin() + oc::ATTN_BI_CPU_SHAPES),
        grid(all.begin() + oc::ATTN_BI_CPU_SHAPES, all.end());
    int cases = 0;
    for (int threads : {1, 2, 3}) {
        auto levels = tu::cpu_levels(threads);
        cases += oc::check_attention_batch_invariant(ptrs(levels), "", small);
        if (threads == 2) cases += oc::check_attention_batch_invariant({levels.back().get()}, "", grid);
    }
    oc::report("attention batch invariance", cases);
}

TEST(ops_qkv_rope_attention_matches_plain_ops) {
    struct shape { int n_head, n_head_kv, hd, n_prefix, T; };
    const shape shapes[] = {{4, 2, 64, 64, 1}, {4, 2, 64, 0, 5}, {8, 4, 32, 37, 3}, {8, 2, 64, 100, 16}, {4, 4, 64, 9, 2}};
    for (int threads : {2, 3})
        for (auto& be : tu::cpu_levels(threads))
            for (dtype t : {dtype::F16, dtype::Q8_0, dtype::Q4_0})
                for (const auto& s : shapes)
                    for (kv_type kv : oc::KV_TYPES)
                        for (attn_mask m : {attn_mask::causal, attn_mask::diagonal})
                            for (bool inter : {true, false}) {
                                const int d = 128, qd = s.n_head * s.hd, kvd = s.n_head_kv * s.hd, T = s.T;
                                auto wq = tu::make_weight(t, qd, d, 1), wk = tu::make_weight(t, kvd, d, 2), wv = tu::make_weight(t, kvd, d, 3);
                                auto xn = tu::randv((size_t)T * d, 4);
                                auto kc = oc::kv_buf(*be, tu::randv((size_t)(s.n_prefix + T) * kvd, 5), kv);
                                auto vc = oc::kv_buf(*be, tu::randv((size_t)(s.n_prefix + T) * kvd, 6), kv);
                                std::vector<int32_t> pos(T);
                                for (int i = 0; i < T; i++) pos[i] = s.n_prefix + i;
                                std::vector<float> inv(s.hd / 2);
                                for (int i = 0; i < s.hd / 2; i++) inv[i] = std::pow(500000.f, -2.f * i / s.hd);
                                std::vector<float> q((size_t)T * qd), k((size_t)T * kvd), v(k.size()), att(q.size());
                                auto q2 = q, k2 = k, v2 = v, att2 = att;
                                be->qkv_rope_attention(wq.w, wk.w, wv.w, xn.data(), T, pos.data(), inv.data(), inter, kc->p,
                                                       vc->p, kv, s.n_prefix, s.n_head, s.n_head_kv, s.hd, m, q.data(), k.data(),
                                                       v.data(), att.data());
                                be->backend::qkv_rope_attention(wq.w, wk.w, wv.w, xn.data(), T, pos.data(), inv.data(), inter,
                                                                kc->p, vc->p, kv, s.n_prefix, s.n_head, s.n_head_kv, s.hd, m,
                                                                q2.data(), k2.data(), v2.data(), att2.data());
                                CHECK_MSG(q == q2 && k == k2 && v == v2 && att == att2,
                                          be->device_info() << " " << dtype_name(t) << " heads " << s.n_head << "/" << s.n_head_kv
                                                            << " T=" << T << " prefix=" << s.n_prefix << " kv " << kv_type_name(kv)
                                                            << " diag=" << (m == attn_mask::diagonal) << " interleaved=" << inter);
                            }
}
