// Every CUDA op against the ref oracle over awkward shapes, batch invariance of the ops that decode and
// verify share, and the memory error a user sees.
#include "backend/cuda/cuda_ops.h"
#include "gpu_util.h"

using namespace clasp;

namespace {

// Runs W . x on the GPU for T tokens and returns y (T, n_out).
std::vector<float> cuda_matmul(const weight& W, const std::vector<float>& x, int T) {
    auto& be = tg::cuda();
    tg::dbuf dx(be, x), dy(be, (size_t)T * W.n_out);
    be.matmul(W, dx.p, T, dy.p);
    return dy.get();
}

void check_matmul(dtype t, int64_t n_out, int64_t n_in, int T, uint32_t seed) {
    ref_backend ref;
    auto W = tu::make_weight(t, n_out, n_in, seed);
    auto x = tu::randv((size_t)T * n_in, seed + 1);
    std::vector<float> want((size_t)T * n_out);
    ref.matmul(W.w, x.data(), T, want.data());
    auto got = cuda_matmul(W.w, x, T);
    // Tensor-core paths keep ~16 bits of x (hi + lo parts): nmse ~1e-11. A layout error gives ~1.
    double e = tu::nmse(got, want);
    CHECK_MSG(e < 1e-8, dtype_name(t) << " n_out=" << n_out << " n_in=" << n_in << " T=" << T
                                      << tu::first_mismatches(got, want, 1e-3));
}

}  // namespace

TEST(cuda_matmul_all_dtypes_and_shapes) {
    const dtype types[] = {dtype::F32, dtype::F16, dtype::BF16, dtype::Q8_0};
    const int64_t n_ins[] = {32, 64, 96, 256, 33, 7, 1000, 2048};
    const int64_t n_outs[] = {1, 3, 5, 17, 64, 130};
    const int Ts[] = {1, 2, 3, 7, 8, 9, 16, 17, 31, 32, 33, 65, 80, 100};
    uint32_t seed = 1;
    for (dtype t : types)
        for (int64_t n_in : n_ins) {
            if (t == dtype::Q8_0 && n_in % 32) continue;
            for (int64_t n_out : n_outs)
                for (int T : Ts) check_matmul(t, n_out, n_in, T, seed += 2);
        }
}

// The prefill GEMM (T > 80): several 128-row and 64-token tiles, ragged edges, long K.
TEST(cuda_matmul_prefill_gemm) {
    uint32_t seed = 500;
    for (dtype t : {dtype::F16, dtype::BF16, dtype::Q8_0, dtype::F32})
        for (int64_t n_in : {32, 512, 1056})
            for (int64_t n_out : {1, 129, 300})
                for (int T : {81, 128, 130, 257}) check_matmul(t, n_out, n_in, T, seed += 2);
}

// A token's product must not depend on the batch it is computed in (exact lossless speculation).
TEST(cuda_matmul_batch_invariant) {
    auto& be = tg::cuda();
    for (dtype t : {dtype::F16, dtype::Q8_0, dtype::BF16, dtype::F32})
        for (int64_t n_in : {256, 4096, 100}) {
            if (t == dtype::Q8_0 && n_in % 32) continue;
            const int64_t n_out = 67;
            auto W = tu::make_weight(t, n_out, n_in, 7 + (uint32_t)n_in);
            const int T_max = 80;  // every verify batch the engine can form (max_draft <= 64)
            auto x = tu::randv((size_t)T_max * n_in, 99 + (uint32_t)n_in);
            tg::dbuf dx(be, x), dy(be, (size_t)T_max * n_out), d1(be, (size_t)n_out);
            std::vector<std::vector<float>> alone(T_max);
            for (int i = 0; i < T_max; i++) {
                be.matmul(W.w, dx.p + (size_t)i * n_in, 1, d1.p);
                alone[i] = d1.get();
            }
            for (int T : {2, 3, 5, 8, 9, 13, 16, 17, 24, 31, 32, 33, 65, 80}) {
                be.matmul(W.w, dx.p, T, dy.p);
                auto batch = dy.get();
                for (int i = 0; i < T; i++)
                    CHECK_MSG(tg::same_bits(alone[i].data(), batch.data() + (size_t)i * n_out, n_out),
                              dtype_name(t) << " n_in=" << n_in << " T=" << T << " token " << i);
            }
        }
}

TEST(cuda_embed_exact) {
    ref_backend ref;
    auto& be = tg::cuda();
    for (dtype t : {dtype::F32, dtype::F16, dtype::BF16, dtype::Q8_0})
        for (int64_t n : {32, 96, 33}) {
            if (t == dtype::Q8_0 && n % 32) continue;
            auto E = tu::make_weight(t, 50, n, 3);
            std::vector<int32_t> ids = {0, 49, 7, 7, 23};
            std::vector<float> want(ids.size() * n);
            ref.embed(E.w, ids.data(), (int)ids.size(), want.data());
            tg::dbuf out(be, want.size());
            be.embed(E.w, ids.data(), (int)ids.size(), out.p);
            auto got = out.get();
            CHECK_MSG(got == want, dtype_name(t) << " n=" << n << tu::first_mismatches(got, want, 0));
        }
    tg::dbuf out(be, 64);
    auto E = tu::make_weight(dtype::F16, 10, 32, 3);
    int32_t bad = 10;
    CHECK_THROWS(be.embed(E.w, &bad, 1, out.p), "outside the embedding table");
}

TEST(cuda_rmsnorm_rope_silu_add) {
    ref_backend ref;
    auto& be = tg::cuda();
    for (int n : {1, 5, 64, 256, 1000, 4096}) {
        int T = 3;
        auto x = tu::randv((size_t)T * n, n), w = tu::randv(n, n + 1);
        std::vector<float> a((size_t)T * n);
        ref.rmsnorm(x.data(), w.data(), T, n, 1e-5f, a.data());
        tg::dbuf dx(be, x), dw(be, w), dout(be, a.size());
        be.rmsnorm(dx.p, dw.p, T, n, 1e-5f, dout.p);
        auto b = dout.get();
        CHECK_MSG(tu::nmse(b, a) < 1e-12, "rmsnorm n=" << n << tu::first_mismatches(b, a, 1e-5));

        auto g = tu::randv((size_t)n, 3), u = tu::randv((size_t)n, 4);
        auto g1 = g;
        ref.silu_mul(g1.data(), u.data(), n);
        tg::dbuf dg(be, g), du(be, u);
        be.silu_mul(dg.p, du.p, n);
        auto g2 = dg.get();
        CHECK_MSG(tu::nmse(g2, g1) < 1e-12, "silu_mul n=" << n << tu::first_mismatches(g2, g1, 1e-5));

        auto y = tu::randv((size_t)n, 5), y1 = y;
        ref.add(y1.data(), u.data(), n);
        tg::dbuf dy(be, y);
        be.add(dy.p, du.p, n);
        CHECK_MSG(dy.get() == y1, "add n=" << n);
    }
    for (int hd : {2, 8, 64, 128})
        for (bool inter : {false, true})
            for (int variant = 0; variant < 3; variant++) {
                int T = 4, nh = 3;
                // consecutive (forward), equal (DP candidates), arbitrary (uploaded)
                std::vector<int32_t> pos = variant == 0 ? std::vector<int32_t>{17, 18, 19, 20}
                                         : variant == 1 ? std::vector<int32_t>{1000, 1000, 1000, 1000}
                                                        : std::vector<int32_t>{0, 1, 17, 8191};
                std::vector<float> inv(hd / 2);
                for (int i = 0; i < hd / 2; i++) inv[i] = std::pow(500000.f, -2.f * i / hd);
                auto x1 = tu::randv((size_t)T * nh * hd, hd);
                tg::dbuf dx(be, x1), dinv(be, inv);
                ref.rope(x1.data(), T, nh, hd, pos.data(), inv.data(), inter);
                be.rope(dx.p, T, nh, hd, pos.data(), dinv.p, inter);
                auto x2 = dx.get();
                CHECK_MSG(tu::nmse(x2, x1) < 1e-12, "rope hd=" << hd << " interleaved=" << inter << " positions "
                                                             << variant << tu::first_mismatches(x2, x1, 1e-4));
            }
}

namespace {

struct attn_shape {
    int n_head, n_head_kv, hd, n_prefix, T;
};

std::vector<float> cuda_attention(const attn_shape& s, attn_mask m, const std::vector<float>& q,
                                  const std::vector<float>& kn, const std::vector<float>& vn,
                                  const std::vector<float>& kc, const std::vector<float>& vc) {
    auto& be = tg::cuda();
    tg::dbuf dq(be, q), dkn(be, kn), dvn(be, vn), dkc(be, kc), dvc(be, vc), dout(be, q.size());
    be.attention(dq.p, dkn.p, dvn.p, s.T, dkc.p, dvc.p, kv_type::f32, s.n_prefix, s.n_head, s.n_head_kv, s.hd, m, dout.p);
    return dout.get();
}

}  // namespace

TEST(cuda_attention_causal_and_diagonal) {
    ref_backend ref;
    // Both kernels (the warp kernel takes G in {1,2,4,8} with head_dim 64/128/256; the block kernel
    // the rest, or everything when forced). Chunk edges (warp kernel: 16 keys up to 512, then growing;
    // block kernel: 128 keys, growing past 64 * 128), query groups (32), GQA ratios 1..16, head_dim
    // 2..256, Llama-3-8B decode (32/8 heads of 128) at 512 and 4096 keys.
    const attn_shape shapes[] = {{4, 2, 64, 0, 1},    {4, 2, 64, 0, 7},     {4, 2, 64, 10, 1},   {4, 2, 64, 33, 5},
                                 {8, 1, 32, 100, 16}, {3, 3, 8, 5, 3},      {6, 2, 128, 200, 4}, {1, 1, 2, 1, 1},
                                 {4, 2, 64, 127, 1},  {4, 2, 64, 127, 2},   {4, 2, 64, 255, 3},  {32, 8, 128, 1000, 5},
                                 {16, 1, 64, 300, 2}, {4, 4, 256, 130, 3},  {4, 2, 6, 40, 3},    {4, 2, 64, 0, 33},
                                 {4, 2, 64, 20, 70},  {8, 2, 64, 8190, 4}, {2, 1, 64, 9000, 2},
                                 {4, 2, 64, 15, 1},   {4, 2, 64, 16, 2},    {4, 2, 64, 511, 1},  {4, 2, 64, 512, 2},
                                 {32, 8, 128, 511, 1}, {32, 8, 128, 4095, 1}, {32, 32, 128, 600, 3},
                                 {64, 8, 128, 300, 2}, {16, 8, 256, 200, 3}, {32, 4, 64, 1, 1}, {8, 1, 128, 70000, 1}};
    for (bool block_only : {false, true})
    for (const auto& s : shapes)
        for (attn_mask m : {attn_mask::causal, attn_mask::diagonal}) {
            cuda::attention_block_kernel_only(block_only);
            int n_ctx = s.n_prefix + s.T + 3, kvd = s.n_head_kv * s.hd;
            auto q = tu::randv((size_t)s.T * s.n_head * s.hd, 1);
            auto kn = tu::randv((size_t)s.T * kvd, 2), vn = tu::randv((size_t)s.T * kvd, 3);
            auto kc = tu::randv((size_t)n_ctx * kvd, 4), vc = tu::randv((size_t)n_ctx * kvd, 5);
            std::vector<float> a(q.size());
            ref.attention(q.data(), kn.data(), vn.data(), s.T, kc.data(), vc.data(), kv_type::f32, s.n_prefix, s.n_head, s.n_head_kv,
                          s.hd, m, a.data());
            auto b = cuda_attention(s, m, q, kn, vn, kc, vc);
            CHECK_MSG(tu::nmse(b, a) < 1e-10, (block_only ? "block kernel" : "default kernel") << " heads " << s.n_head << "/" << s.n_head_kv << " hd=" << s.hd << " prefix="
                                                       << s.n_prefix << " T=" << s.T << " diag="
                                                       << (m == attn_mask::diagonal) << tu::first_mismatches(b, a, 1e-4));
        }
    cuda::attention_block_kernel_only(false);
}

// Verify vs decode: query t of a batch at prefix p0 must equal the same query decoded alone at
// prefix p0 + t, with the batch's earlier keys moved into the cache. Bit for bit.
namespace {

void check_attention_batch_invariant(int n_head, int n_head_kv, int hd, const char* kernel) {
    auto& be = tg::cuda();
    const int kvd = n_head_kv * hd;
    for (int p0 : {0, 1, 15, 120, 127, 250, 511, 1000, 8185})
        for (int T : {2, 5, 16, 32}) {
            int n_ctx = p0 + T + 1;
            auto q = tu::randv((size_t)T * n_head * hd, 11 + p0);
            auto kn = tu::randv((size_t)T * kvd, 12 + p0), vn = tu::randv((size_t)T * kvd, 13 + p0);
            auto kc = tu::randv((size_t)n_ctx * kvd, 14), vc = tu::randv((size_t)n_ctx * kvd, 15);
            // The decode view: the new keys live in the cache after the prefix.
            std::copy(kn.begin(), kn.end(), kc.begin() + (size_t)p0 * kvd);
            std::copy(vn.begin(), vn.end(), vc.begin() + (size_t)p0 * kvd);
            tg::dbuf dq(be, q), dkn(be, kn), dvn(be, vn), dkc(be, kc), dvc(be, vc), dout(be, q.size());
            be.attention(dq.p, dkn.p, dvn.p, T, dkc.p, dvc.p, kv_type::f32, p0, n_head, n_head_kv, hd, attn_mask::causal, dout.p);
            auto batch = dout.get();
            const size_t qd = (size_t)n_head * hd;
            tg::dbuf one(be, qd);
            for (int t = 0; t < T; t++) {
                be.attention(dq.p + t * qd, dkn.p + (size_t)t * kvd, dvn.p + (size_t)t * kvd, 1, dkc.p, dvc.p, kv_type::f32, p0 + t,
                             n_head, n_head_kv, hd, attn_mask::causal, one.p);
                auto alone = one.get();
                CHECK_MSG(tg::same_bits(alone.data(), batch.data() + t * qd, qd),
                          kernel << " heads " << n_head << "/" << n_head_kv << " hd=" << hd << " prefix " << p0
                                 << " T=" << T << " query " << t);
            }
            // The DP's diagonal batch: each candidate equals itself run alone.
            be.attention(dq.p, dkn.p, dvn.p, T, dkc.p, dvc.p, kv_type::f32, p0, n_head, n_head_kv, hd, attn_mask::diagonal, dout.p);
            auto diag = dout.get();
            for (int t = 0; t < T; t += 3) {
                be.attention(dq.p + t * qd, dkn.p + (size_t)t * kvd, dvn.p + (size_t)t * kvd, 1, dkc.p, dvc.p, kv_type::f32, p0,
                             n_head, n_head_kv, hd, attn_mask::diagonal, one.p);
                auto alone = one.get();
                CHECK_MSG(tg::same_bits(alone.data(), diag.data() + t * qd, qd),
                          kernel << " hd=" << hd << " diagonal prefix " << p0 << " query " << t);
            }
        }
}

}  // namespace

TEST(cuda_attention_batch_invariant) {
    check_attention_batch_invariant(8, 2, 64, "warp kernel");
    check_attention_batch_invariant(32, 8, 128, "warp kernel");
    check_attention_batch_invariant(6, 2, 64, "block kernel (G = 3)");
    cuda::attention_block_kernel_only(true);
    check_attention_batch_invariant(8, 2, 64, "block kernel");
    cuda::attention_block_kernel_only(false);
}

TEST(cuda_out_of_memory_is_a_clear_error) {
    auto& be = tg::cuda();
    // 4 TiB: more than any card has.
    CHECK_THROWS(be.alloc((size_t)1 << 40), "out of memory");
    try {
        be.alloc((size_t)1 << 40);
    } catch (const engine_error& e) {
        std::string w = e.what();
        CHECK_MSG(w.find("needed 4096.00 GiB") != std::string::npos && w.find("free of") != std::string::npos, w);
    }
    // The context survives: ordinary work still runs.
    tg::dbuf ok(be, std::vector<float>{1.f, 2.f, 3.f});
    CHECK((ok.get() == std::vector<float>{1.f, 2.f, 3.f}));
}

TEST(cuda_probe_and_device_info) {
    std::string reason;
    CHECK_MSG(cuda_available(reason), reason);
    std::string info = tg::cuda().device_info();
    std::printf("  device: %s\n", info.c_str());
    CHECK(info.rfind("cuda (", 0) == 0);
}

// A weight type the kernels do not read (the CPU backend's newer quantizations) is refused by name,
// both for a prepared model and for a single product.
TEST(cuda_unsupported_weight_type_is_refused) {
    auto& be = tg::cuda();
    auto W = tu::make_weight(dtype::F16, 8, 32, 3);
    W.w.type = (dtype)99;  // no type the CUDA kernels know
    W.w.name = "blk.0.ffn_up.weight";
    tg::dbuf dx(be, tu::randv(32, 1)), dy(be, 8);
    CHECK_THROWS(be.matmul(W.w, dx.p, 1, dy.p), "the CUDA backend reads F32, F16, BF16 and Q8_0");
    llama_model m;
    m.path = "other-quant.gguf";
    llama_layer lw;
    lw.w_up = W.w;
    m.layers.push_back(lw);
    CHECK_THROWS(be.prepare(m), "other-quant.gguf: blk.0.ffn_up.weight is");
}
