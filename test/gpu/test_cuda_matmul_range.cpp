// The skinny matmul's two properties that depend on its input rather than its shape: which kernel an
// alignment selects, and the f16 range of the activations (F16/Q8_0 weights multiply f16 hi + lo parts
// of x, which without the per-chunk power-of-two scale overflow above 65504 and lose bits below 6e-5).
#include "backend/cuda/cuda_ops.h"
#include "gpu_util.h"

using namespace clasp;

namespace {

cuda::dev_weight shape_of(const weight& w) {
    cuda::dev_weight d;
    d.type = w.type;
    d.n_in = w.n_in;
    d.n_out = w.n_out;
    return d;
}

std::vector<float> ref_matmul(const weight& W, const float* x, int T) {
    ref_backend ref;
    std::vector<float> y((size_t)T * W.n_out);
    ref.matmul(W, x, T, y.data());
    return y;
}

}  // namespace

// The kernel is chosen by (type, n_in, alignment of x). The two kernels round differently, so decode
// and verify stay bit-identical only because every row the engine passes is 16-byte aligned: buffers
// from alloc() are, and so is row t of one when n_in % 4 == 0. Both kernels must be correct.
TEST(cuda_matmul_alignment_switch) {
    auto& be = tg::cuda();
    const int64_t n_in = 256, n_out = 37;
    const int T = 5;
    auto x = tu::randv((size_t)T * n_in + 4, 21);
    tg::dbuf dx(be, x), dy(be, (size_t)T * n_out), d1(be, (size_t)n_out);
    uint32_t seed = 30;
    for (dtype t : {dtype::F16, dtype::BF16, dtype::Q8_0, dtype::F32}) {
        auto W = tu::make_weight(t, n_out, n_in, seed++);
        const bool tc_type = t != dtype::F32;
        for (int r = 0; r < T; r++)
            CHECK_MSG(cuda::skinny_uses_tensor_cores(shape_of(W.w), dx.p + (size_t)r * n_in) == tc_type,
                      dtype_name(t) << " row " << r << " of an alloc() buffer");
        CHECK_MSG(!cuda::skinny_uses_tensor_cores(shape_of(W.w), dx.p + 1), dtype_name(t) << " x offset by one float");
        auto w33 = shape_of(W.w);
        w33.n_in = 33;
        CHECK(!cuda::skinny_uses_tensor_cores(w33, dx.p));
        for (int off : {0, 1}) {  // 0: the tensor-core kernel (F32: the fallback), 1: the fallback
            auto want = ref_matmul(W.w, x.data() + off, T);
            be.matmul(W.w, dx.p + off, T, dy.p);
            auto got = dy.get();
            CHECK_MSG(tu::nmse(got, want) < 1e-8,
                      dtype_name(t) << " offset " << off << tu::first_mismatches(got, want, 1e-3));
            // Each kernel is batch-invariant on its own.
            for (int r = 0; r < T; r++) {
                be.matmul(W.w, dx.p + off + (size_t)r * n_in, 1, d1.p);
                auto alone = d1.get();
                CHECK_MSG(tg::same_bits(alone.data(), got.data() + (size_t)r * n_out, n_out),
                          dtype_name(t) << " offset " << off << " row " << r);
            }
        }
    }
}

// Activations far from 1: all small (1e-5, below f16's normal range), all large (3e4 with a normal
// distribution: many elements above 65504), and one row mixing both by 32-wide chunk. Against the
// float32 reference, and each token alone equal to itself in a batch.
TEST(cuda_matmul_activation_range) {
    auto& be = tg::cuda();
    uint32_t seed = 700;
    for (double scale : {1e-5, 3e4, 0.0})
        for (dtype t : {dtype::F16, dtype::Q8_0, dtype::BF16})
            for (int64_t n_in : {256, 4096}) {
                const int64_t n_out = 33;
                const int T = 9;
                std::vector<float> x;
                if (scale > 0) {
                    x = tu::randv((size_t)T * n_in, seed++, (float)scale);
                } else {  // mixed: chunks alternate between the two scales
                    x = tu::randv((size_t)T * n_in, seed++);
                    for (size_t i = 0; i < x.size(); i++) x[i] *= (i / 32) % 2 ? 3e4f : 1e-5f;
                }
                auto W = tu::make_weight(t, n_out, n_in, seed++);
                auto want = ref_matmul(W.w, x.data(), T);
                tg::dbuf dx(be, x), dy(be, (size_t)T * n_out), d1(be, (size_t)n_out);
                be.matmul(W.w, dx.p, T, dy.p);
                auto got = dy.get();
                const char* label = scale == 0 ? "mixed" : scale < 1 ? "1e-5" : "3e4";
                bool finite = true;
                for (float v : got) finite = finite && std::isfinite(v);
                CHECK_MSG(finite, dtype_name(t) << " scale " << label << " n_in=" << n_in << ": inf or NaN in y");
                CHECK_MSG(tu::nmse(got, want) < 1e-8, dtype_name(t) << " scale " << label << " n_in=" << n_in
                                                                    << " nmse " << tu::nmse(got, want));
                for (int r = 0; r < T; r += 4) {
                    be.matmul(W.w, dx.p + (size_t)r * n_in, 1, d1.p);
                    auto alone = d1.get();
                    CHECK_MSG(tg::same_bits(alone.data(), got.data() + (size_t)r * n_out, n_out),
                              dtype_name(t) << " scale " << label << " n_in=" << n_in << " token " << r);
                }
            }
}
