// Every CPU op, at every kernel level, against the ref oracle over awkward shapes.
#include "util.h"

using namespace clasp;

TEST(ops_matmul_all_dtypes_and_shapes) {
    ref_backend ref;
    auto levels = tu::cpu_levels(2);
    const dtype types[] = {dtype::F32, dtype::F16, dtype::BF16, dtype::Q8_0};
    const int64_t n_ins[] = {32, 64, 96, 256, 33, 7, 1000};
    const int64_t n_outs[] = {1, 3, 4, 5, 17, 64, 130};
    const int Ts[] = {1, 2, 3, 4, 5, 7, 9, 16};
    uint32_t seed = 1;
    for (dtype t : types)
        for (int64_t n_in : n_ins) {
            if (t == dtype::Q8_0 && n_in % 32) continue;
            for (int64_t n_out : n_outs)
                for (int T : Ts) {
                    auto W = tu::make_weight(t, n_out, n_in, seed++);
                    auto x = tu::randv((size_t)T * n_in, seed++);
                    std::vector<float> want((size_t)T * n_out), got((size_t)T * n_out);
                    ref.matmul(W.w, x.data(), T, want.data());
                    for (auto& be : levels) {
                        be->matmul(W.w, x.data(), T, got.data());
                        double e = tu::nmse(got, want);
                        CHECK_MSG(e < 1e-7, be->device_info() << " " << dtype_name(t) << " n_out=" << n_out
                                                << " n_in=" << n_in << " T=" << T << tu::first_mismatches(got, want, 1e-4));
                    }
                }
        }
}

// A token's result must not depend on the batch it is computed in (exact lossless speculation).
TEST(ops_matmul_batch_invariant) {
    auto levels = tu::cpu_levels(2);
    for (dtype t : {dtype::F16, dtype::Q8_0, dtype::BF16, dtype::F32})
        for (int T : {2, 3, 5, 8, 13}) {
            auto W = tu::make_weight(t, 67, 256, 7 + T);
            auto x = tu::randv((size_t)T * 256, 99 + T);
            for (auto& be : levels) {
                std::vector<float> batch((size_t)T * 67), one(67);
                be->matmul(W.w, x.data(), T, batch.data());
                for (int i = 0; i < T; i++) {
                    be->matmul(W.w, x.data() + (size_t)i * 256, 1, one.data());
                    CHECK_MSG(std::memcmp(one.data(), batch.data() + (size_t)i * 67, 67 * 4) == 0,
                              be->device_info() << " " << dtype_name(t) << " T=" << T << " token " << i);
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
                ref.attention(q.data(), kn.data(), vn.data(), s.T, kc.data(), vc.data(), s.n_prefix, s.n_head,
                              s.n_head_kv, s.hd, m, a.data());
                be->attention(q.data(), kn.data(), vn.data(), s.T, kc.data(), vc.data(), s.n_prefix, s.n_head,
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
