// The CUDA backend's fused hooks (Q|K|V in one launch, the residual add and SwiGLU in the matmul's
// epilogue, rope of q and k in one launch) give exactly the bits of backend.h's defaults, which are
// the plain ops checked against the reference in test_cuda_ops.cpp.
#include "gpu_util.h"
#include <functional>
#include <memory>

using namespace clasp;

namespace {

// One layer's matrices, uploaded by prepare() as a model's are (the fused paths need prepared weights).
struct layer_weights {
    tu::owned_weight wq, wk, wv, wo, gate, up;
    llama_model m;
    layer_weights(dtype t, int n_embd, int qd, int kvd, int n_ff, uint32_t seed)
        : wq(tu::make_weight(t, qd, n_embd, seed)),
          wk(tu::make_weight(t, kvd, n_embd, seed + 1)),
          wv(tu::make_weight(t, kvd, n_embd, seed + 2)),
          wo(tu::make_weight(t, n_embd, qd, seed + 3)),
          gate(tu::make_weight(t, n_ff, n_embd, seed + 4)),
          up(tu::make_weight(t, n_ff, n_embd, seed + 5)) {
        llama_layer lw;
        lw.wq = wq.w; lw.wk = wk.w; lw.wv = wv.w; lw.wo = wo.w; lw.w_gate = gate.w; lw.w_up = up.w;
        lw.w_down = wo.w;
        m.path = "fused-test";
        m.layers.push_back(lw);
        tg::cuda().prepare(m);
    }
};

// Runs `fused` and `plain` from the same state of the buffers io (each set to its init vector, or to a
// sentinel when that is empty, so an element neither writes still compares) and compares them after.
void same_bits_after(const std::string& what, const std::vector<std::pair<tg::dbuf*, std::vector<float>>>& io,
                     const std::function<void()>& fused, const std::function<void()>& plain) {
    std::vector<std::vector<float>> a, b;
    for (int pass = 0; pass < 2; pass++) {
        for (const auto& [buf, init] : io) {
            const std::vector<float> v = init.empty() ? std::vector<float>(buf->n, -7777.f) : init;
            buf->be.upload(buf->p, v.data(), v.size());
        }
        (pass == 0 ? fused : plain)();
        for (const auto& [buf, init] : io) (pass == 0 ? a : b).push_back(buf->get());
    }
    for (size_t i = 0; i < a.size(); i++)
        CHECK_MSG(a[i] == b[i], what << ": output " << i << " differs from the default hook"
                                     << tu::first_mismatches(a[i], b[i], 0));
}

}  // namespace

TEST(cuda_fused_hooks_equal_defaults) {
    auto& be = tg::cuda();
    // Ragged sizes: 40 K/V rows (not a multiple of 16), n_ff 76 (not a multiple of 8).
    const int n_embd = 256, n_head = 4, n_head_kv = 2, hd = 32, qd = n_head * hd, kvd = n_head_kv * hd, n_ff = 76;
    uint32_t seed = 900;
    for (dtype t : {dtype::BF16, dtype::F16, dtype::Q8_0}) {
        // Kept for the whole process: the backend keys device copies by host address, which a freed
        // weight could hand to a later test's weight of the same shape.
        static std::vector<std::unique_ptr<layer_weights>> keep;
        keep.push_back(std::make_unique<layer_weights>(t, n_embd, qd, kvd, n_ff, seed += 10));
        const llama_layer& lw = keep.back()->m.layers[0];
        for (int T : {1, 3, 9, 17, 33, 80}) {
            const std::string tag = std::string(dtype_name(t)) + " T=" + std::to_string(T);
            const auto x = tu::randv((size_t)T * n_embd, seed + T), xq = tu::randv((size_t)T * qd, seed + T + 1);
            tg::dbuf dx(be, x), dxq(be, xq), q(be, (size_t)T * qd), k(be, (size_t)T * kvd), v(be, (size_t)T * kvd);
            tg::dbuf res(be, (size_t)T * n_embd), tmp(be, (size_t)T * n_embd), g(be, (size_t)T * n_ff),
                u(be, (size_t)T * n_ff), att(be, (size_t)T * qd);
            const weight* W[3] = {&lw.wq, &lw.wk, &lw.wv};
            float* const Y[3] = {q.p, k.p, v.p};
            same_bits_after(tag + " matmul_n", {{&q, {}}, {&k, {}}, {&v, {}}},
                            [&] { be.matmul_n(3, W, dx.p, T, Y); }, [&] { be.backend::matmul_n(3, W, dx.p, T, Y); });
            const auto r0 = tu::randv((size_t)T * n_embd, seed + T + 2);
            same_bits_after(tag + " matmul_add", {{&res, r0}},
                            [&] { be.matmul_add(lw.wo, dxq.p, T, tmp.p, res.p); },
                            [&] { be.backend::matmul_add(lw.wo, dxq.p, T, tmp.p, res.p); });
            same_bits_after(tag + " matmul_swiglu", {{&g, {}}},
                            [&] { be.matmul_swiglu(lw.w_gate, lw.w_up, dx.p, T, g.p, u.p); },
                            [&] { be.backend::matmul_swiglu(lw.w_gate, lw.w_up, dx.p, T, g.p, u.p); });
            // The whole attention half, causal at consecutive positions and diagonal (DP) at one.
            const int n_prefix = 37, n_ctx = n_prefix + T;
            tg::dbuf kc(be, tu::randv((size_t)n_ctx * kvd, 5)), vc(be, tu::randv((size_t)n_ctx * kvd, 6));
            std::vector<float> inv(hd / 2);
            for (int i = 0; i < hd / 2; i++) inv[i] = std::pow(500000.f, -2.f * i / hd);
            tg::dbuf dinv(be, inv);
            for (attn_mask mask : {attn_mask::causal, attn_mask::diagonal}) {
                std::vector<int32_t> pos(T);
                for (int i = 0; i < T; i++) pos[i] = mask == attn_mask::causal ? n_prefix + i : n_prefix - 1;
                auto run = [&](bool fused) {
                    if (fused)
                        be.qkv_rope_attention(lw.wq, lw.wk, lw.wv, dx.p, T, pos.data(), dinv.p, false, kc.p, vc.p, kv_type::f32,
                                              n_prefix, n_head, n_head_kv, hd, mask, q.p, k.p, v.p, att.p);
                    else
                        be.backend::qkv_rope_attention(lw.wq, lw.wk, lw.wv, dx.p, T, pos.data(), dinv.p, false, kc.p,
                                                       vc.p, kv_type::f32, n_prefix, n_head, n_head_kv, hd, mask, q.p, k.p, v.p,
                                                       att.p);
                };
                same_bits_after(tag + (mask == attn_mask::causal ? " qkv_rope_attention" : " qkv_rope_attention (DP)"),
                                {{&q, {}}, {&k, {}}, {&v, {}}, {&att, {}}}, [&] { run(true); }, [&] { run(false); });
            }
        }
    }
}
