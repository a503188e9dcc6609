// Every CPU op, at every kernel level, against the ref oracle over awkward shapes.
#include "util.h"

using namespace clasp;

TEST(ops_matmul_all_dtypes_and_shapes) {
    ref_backend ref;
    auto levels = tu::cpu_levels(2);
    const dtype types[] = {dtype::F32, dtype::F16, dtype::BF16, dtype::Q8_0, dtype::Q4_0, dtype::Q4_1,
                           dtype::Q5_0, dtype::Q5_1, dtype::Q4_K, dtype::Q5_K, dtype::Q6_K};
    const int64_t n_ins[] = {32, 64, 96, 256, 33, 7, 1000, 288, 512, 768};
    const int64_t n_outs[] = {1, 3, 4, 5, 17, 64, 130};
    const int Ts[] = {1, 2, 3, 4, 5, 7, 9, 16};
    uint32_t seed = 1;
    for (dtype t : types)
        for (int64_t n_in : n_ins) {
            if (n_in % block_elems(t)) continue;
            for (int64_t n_out : n_outs)
                for (int T : Ts) {
                    auto W = tu::make_weight(t, n_out, n_in, seed++);
                    auto x = tu::randv((size_t)T * n_in, seed++);
                    std::vector<float> want((size_t)T * n_out), got((size_t)T * n_out);
                    ref.matmul(W.w, x.data(), T, want.data());
                    const auto bound = is_quantized(t) ? tu::act8_error_bound(W.w, x, T) : std::vector<double>();
                    for (auto& be : levels) {
                        be->matmul(W.w, x.data(), T, got.data());
                        if (!is_quantized(t)) {
                            double e = tu::nmse(got, want);
                            CHECK_MSG(e < 1e-7, be->device_info() << " " << dtype_name(t) << " n_out=" << n_out << " n_in=" << n_in
                                                                  << " T=" << T << tu::first_mismatches(got, want, 1e-4));
                            continue;
                        }
                        for (size_t i = 0; i < got.size(); i++)
                            CHECK_MSG(std::fabs((double)got[i] - want[i]) <= bound[i],
                                      be->device_info() << " " << dtype_name(t) << " n_out=" << n_out << " n_in=" << n_in
                                                        << " T=" << T << " [" << i << "] got " << got[i] << " want " << want[i]
                                                        << " bound " << bound[i]);
                    }
                }
        }
}

// A token's result must not depend on the batch it is computed in (exact lossless speculation).
TEST(ops_matmul_batch_invariant) {
    auto levels = tu::cpu_levels(2);
    // n_in 4096: several blocks of tokens (the kernels keep a block's activations in L2)
    for (int64_t n_in : {256, 4096})
        for (dtype t : {dtype::F16, dtype::Q8_0, dtype::BF16, dtype::F32, dtype::Q4_0, dtype::Q4_1, dtype::Q5_0,
                        dtype::Q5_1, dtype::Q4_K, dtype::Q5_K, dtype::Q6_K})
            for (int T : {2, 3, 4, 5, 6, 7, 8, 9, 13, 17, 33, 70}) {
                if (n_in == 4096 && T != 9 && T != 17 && T != 33) continue;
                auto W = tu::make_weight(t, 67, n_in, 7 + T);
                auto x = tu::randv((size_t)T * n_in, 99 + T);
                for (auto& be : levels) {
                    std::vector<float> batch((size_t)T * 67), one(67);
                    be->matmul(W.w, x.data(), T, batch.data());
                    for (int i = 0; i < T; i++) {
                        be->matmul(W.w, x.data() + (size_t)i * n_in, 1, one.data());
                        CHECK_MSG(std::memcmp(one.data(), batch.data() + (size_t)i * 67, 67 * 4) == 0,
                                  be->device_info() << " " << dtype_name(t) << " n_in=" << n_in << " T=" << T << " token " << i);
                    }
                }
            }
}

TEST(ops_rmsnorm_rope_silu_add) {
    ref_backend ref;
    for (auto& be : tu::cpu_levels(2)) {
        for (int n : {1, 5, 64, 256, 1000}) {
            int T = 3;
            auto x = tu::randv((size_t)T * n, n), w = tu::randv(n, n + 1);
            std::vector<float> a((size_t)T * n), b((size_t)T * n);
            ref.rmsnorm(x.data(), w.data(), T, n, 1e-5f, a.data());
            be->rmsnorm(x.data(), w.data(), T, n, 1e-5f, b.data());
            CHECK_MSG(tu::nmse(b, a) < 1e-12, "rmsnorm n=" << n << tu::first_mismatches(b, a, 1e-5));
            auto g1 = tu::randv((size_t)n, 3), u = tu::randv((size_t)n, 4), g2 = g1;
            ref.silu_mul(g1.data(), u.data(), n);
            be->silu_mul(g2.data(), u.data(), n);
            CHECK_MSG(tu::nmse(g2, g1) < 1e-12, "silu_mul n=" << n);
            auto y1 = tu::randv((size_t)n, 5), y2 = y1;
            ref.add(y1.data(), u.data(), n);
            be->add(y2.data(), u.data(), n);
            CHECK(y1 == y2);
        }
        for (int hd : {2, 8, 64, 128})
            for (bool inter : {false, true}) {
                int T = 4, nh = 3;
                std::vector<int32_t> pos = {0, 1, 17, 1000};
                std::vector<float> inv(hd / 2);
                for (int i = 0; i < hd / 2; i++) inv[i] = std::pow(500000.f, -2.f * i / hd);
                auto x1 = tu::randv((size_t)T * nh * hd, hd), x2 = x1;
                ref.rope(x1.data(), T, nh, hd, pos.data(), inv.data(), inter);
                be->rope(x2.data(), T, nh, hd, pos.data(), inv.data(), inter);
                CHECK_MSG(tu::nmse(x2, x1) < 1e-12, "rope hd=" << hd << " interleaved=" << inter);
            }
    }
}

TEST(ops_attention_causal_and_diagonal) {
    ref_backend ref;
    struct shape { int n_head, n_head_kv, hd, n_prefix, T; };
    const shape shapes[] = {{4, 2, 64, 0, 1}, {4, 2, 64, 0, 7}, {4, 2, 64, 10, 1}, {4, 2, 64, 33, 5},
                            {8, 1, 32, 100, 16}, {3, 3, 8, 5, 3}, {6, 2, 128, 200, 4}, {1, 1, 2, 1, 1}};
    for (auto& be : tu::cpu_levels(2))
        for (const auto& s : shapes)
            for (attn_mask m : {attn_mask::causal, attn_mask::diagonal}) {
                int n_ctx = s.n_prefix + s.T + 3, kvd = s.n_head_kv * s.hd;
                auto q = tu::randv((size_t)s.T * s.n_head * s.hd, 1);
                auto kn = tu::randv((size_t)s.T * kvd, 2), vn = tu::randv((size_t)s.T * kvd, 3);
                auto kc = tu::randv((size_t)n_ctx * kvd, 4), vc = tu::randv((size_t)n_ctx * kvd, 5);
                std::vector<float> a((size_t)s.T * s.n_head * s.hd), b(a.size());
                ref.attention(q.data(), kn.data(), vn.data(), s.T, kc.data(), vc.data(), kv_type::f32, s.n_prefix, s.n_head,
                              s.n_head_kv, s.hd, m, a.data());
                be->attention(q.data(), kn.data(), vn.data(), s.T, kc.data(), vc.data(), kv_type::f32, s.n_prefix, s.n_head,
                              s.n_head_kv, s.hd, m, b.data());
                CHECK_MSG(tu::nmse(b, a) < 1e-10, be->device_info() << " heads " << s.n_head << "/" << s.n_head_kv
                                                    << " hd=" << s.hd << " prefix=" << s.n_prefix << " T=" << s.T
                                                    << " diag=" << (m == attn_mask::diagonal) << tu::first_mismatches(b, a, 1e-4));
            }
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
// tokens before it already in the cache (causal), or with only itself new (diagonal); on any thread count.
TEST(ops_attention_batch_invariant) {
    struct shape { int n_head, n_head_kv, hd, n_prefix, T; };
    const shape shapes[] = {{4, 2, 64, 0, 7}, {4, 2, 64, 33, 5}, {8, 1, 32, 100, 16}, {3, 3, 8, 5, 3},
                            {6, 2, 128, 200, 4}, {4, 2, 64, 300, 9}, {2, 1, 2, 17, 18}};
    for (int threads : {1, 2, 3})
        for (auto& be : tu::cpu_levels(threads))
            for (const auto& s : shapes)
                for (attn_mask m : {attn_mask::causal, attn_mask::diagonal}) {
                    const int kvd = s.n_head_kv * s.hd, qd = s.n_head * s.hd, n_ctx = s.n_prefix + s.T;
                    auto q = tu::randv((size_t)s.T * qd, 1, 2.f);
                    auto kn = tu::randv((size_t)s.T * kvd, 2), vn = tu::randv((size_t)s.T * kvd, 3);
                    auto kc = tu::randv((size_t)n_ctx * kvd, 4), vc = tu::randv((size_t)n_ctx * kvd, 5);
                    std::vector<float> batch((size_t)s.T * qd), one(qd);
                    be->attention(q.data(), kn.data(), vn.data(), s.T, kc.data(), vc.data(), kv_type::f32, s.n_prefix, s.n_head,
                                  s.n_head_kv, s.hd, m, batch.data());
                    // the cache as a causal pass leaves it: the new keys after the prefix
                    auto kc2 = kc, vc2 = vc;
                    std::copy(kn.begin(), kn.end(), kc2.begin() + (size_t)s.n_prefix * kvd);
                    std::copy(vn.begin(), vn.end(), vc2.begin() + (size_t)s.n_prefix * kvd);
                    for (int t = 0; t < s.T; t++) {
                        const float* kt = kn.data() + (size_t)t * kvd;
                        const float* vt = vn.data() + (size_t)t * kvd;
                        if (m == attn_mask::causal)
                            be->attention(q.data() + (size_t)t * qd, kt, vt, 1, kc2.data(), vc2.data(), kv_type::f32, s.n_prefix + t,
                                          s.n_head, s.n_head_kv, s.hd, attn_mask::causal, one.data());
                        else
                            be->attention(q.data() + (size_t)t * qd, kt, vt, 1, kc.data(), vc.data(), kv_type::f32, s.n_prefix,
                                          s.n_head, s.n_head_kv, s.hd, attn_mask::causal, one.data());
                        CHECK_MSG(std::memcmp(one.data(), batch.data() + (size_t)t * qd, qd * 4) == 0,
                                  be->device_info() << " heads " << s.n_head << "/" << s.n_head_kv << " hd=" << s.hd
                                                    << " prefix=" << s.n_prefix << " T=" << s.T << " token " << t
                                                    << " diag=" << (m == attn_mask::diagonal));
                    }
                }
}

// The fused attention block gives exactly what its default (the separate ops) gives.
TEST(ops_qkv_rope_attention_matches_plain_ops) {
    struct shape { int n_head, n_head_kv, hd, n_prefix, T; };
    const shape shapes[] = {{4, 2, 64, 64, 1}, {4, 2, 64, 0, 5}, {8, 4, 32, 37, 3}, {8, 2, 64, 100, 16}, {4, 4, 64, 9, 2}};
    for (int threads : {2, 3})
        for (auto& be : tu::cpu_levels(threads))
            for (dtype t : {dtype::F16, dtype::Q8_0, dtype::Q4_0})
                for (const auto& s : shapes)
                    for (attn_mask m : {attn_mask::causal, attn_mask::diagonal})
                        for (bool inter : {true, false}) {
                            const int d = 128, qd = s.n_head * s.hd, kvd = s.n_head_kv * s.hd, T = s.T;
                            auto wq = tu::make_weight(t, qd, d, 1), wk = tu::make_weight(t, kvd, d, 2), wv = tu::make_weight(t, kvd, d, 3);
                            auto xn = tu::randv((size_t)T * d, 4);
                            auto kc = tu::randv((size_t)(s.n_prefix + T) * kvd, 5), vc = tu::randv((size_t)(s.n_prefix + T) * kvd, 6);
                            std::vector<int32_t> pos(T);
                            for (int i = 0; i < T; i++) pos[i] = s.n_prefix + i;
                            std::vector<float> inv(s.hd / 2);
                            for (int i = 0; i < s.hd / 2; i++) inv[i] = std::pow(500000.f, -2.f * i / s.hd);
                            std::vector<float> q((size_t)T * qd), k((size_t)T * kvd), v(k.size()), att(q.size());
                            auto q2 = q, k2 = k, v2 = v, att2 = att;
                            be->qkv_rope_attention(wq.w, wk.w, wv.w, xn.data(), T, pos.data(), inv.data(), inter, kc.data(),
                                                   vc.data(), kv_type::f32, s.n_prefix, s.n_head, s.n_head_kv, s.hd, m, q.data(), k.data(),
                                                   v.data(), att.data());
                            be->backend::qkv_rope_attention(wq.w, wk.w, wv.w, xn.data(), T, pos.data(), inv.data(), inter,
                                                            kc.data(), vc.data(), kv_type::f32, s.n_prefix, s.n_head, s.n_head_kv, s.hd, m,
                                                            q2.data(), k2.data(), v2.data(), att2.data());
                            CHECK_MSG(q == q2 && k == k2 && v == v2 && att == att2,
                                      be->device_info() << " " << dtype_name(t) << " heads " << s.n_head << "/" << s.n_head_kv
                                                        << " T=" << T << " prefix=" << s.n_prefix << " diag=" << (m == attn_mask::diagonal)
                                                        << " interleaved=" << inter);
                        }
}
