// Every CUDA op against the ref oracle over the shared op-case table (test/native/op_cases.h), batch
// invariance of the ops that decode and verify share, and the errors a user sees.
#include "backend/cuda/cuda_ops.h"
#include "gpu_util.h"
#include "runtime/engine.h"

using namespace clasp;

// The shared op-case table (test/native/op_cases.h), the same the CPU suite runs at every kernel level.
namespace {
std::vector<backend*> cuda_only() { return {&tg::cuda()}; }
}  // namespace

TEST(cuda_matmul_all_dtypes_and_shapes) { oc::report("matmul vs ref", oc::check_matmul(cuda_only())); }

// A token's product must not depend on the batch it is computed in (exact lossless speculation).
TEST(cuda_matmul_batch_invariant) {
    oc::report("matmul batch invariance", oc::check_matmul_batch_invariant(cuda_only()));
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
    oc::report("rmsnorm, silu_mul, add, rope vs ref", oc::check_elementwise(cuda_only()));
}

// Both kernels: the warp kernel takes G in {1,2,4,8} with head_dim 64/128/256, the block kernel the
// rest, or everything when forced. The F16 cache cases are skipped (the CUDA backend reads F32 only).
TEST(cuda_attention_causal_and_diagonal) {
    int cases = 0;
    for (bool block_only : {false, true}) {
        cuda::attention_block_kernel_only(block_only);
        cases += oc::check_attention(cuda_only(), block_only ? " block kernel" : " default kernel");
    }
    cuda::attention_block_kernel_only(false);
    oc::report("attention vs ref", cases);
}

// Verify vs decode, and the DP's diagonal batch vs each candidate alone: bit for bit, both kernels.
TEST(cuda_attention_batch_invariant) {
    int cases = 0;
    for (bool block_only : {false, true}) {
        cuda::attention_block_kernel_only(block_only);
        cases += oc::check_attention_batch_invariant(cuda_only(), block_only ? " block kernel" : " default kernel");
    }
    cuda::attention_block_kernel_only(false);
    oc::report("attention batch invariance", cases);
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

// The CUDA kernels read a float32 KV cache: an F16 one is refused in one line that names the option,
// and a model asked for one on --backend cuda fails to load with that line.
TEST(cuda_f16_kv_cache_is_refused) {
    auto& be = tg::cuda();
    CHECK(be.supports_kv(kv_type::f32) && !be.supports_kv(kv_type::f16));
    CHECK_THROWS(kv_cache(be, 1, 8, 8, kv_type::f16), "KV cache type f16 (--kv, kvType) is not supported on the cuda backend");
    engine_options o;
    o.model_path = th::demo_model();
    o.backend = "cuda";
    o.kv = kv_type::f16;
    CHECK_THROWS(engine e(o), "is not supported on the cuda backend: use f32, or the cpu backend");
}
