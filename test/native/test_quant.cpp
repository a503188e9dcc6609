// The quantized weight types: dequantization of hand-built blocks (values worked out here from the
// GGUF layout, independently of the engine's code), the integer dot products against exact
// arithmetic, and every kernel level giving the portable kernels' results bit for bit.
#include "backend/cpu/qact.h"
#include "backend/cpu/qdot.h"
#include "util.h"
#include <random>

using namespace clasp;

namespace {

uint16_t h(float f) { return fp32_to_fp16(f); }

// Packs 8 six-bit scales and mins the way ggml's Q4_K / Q5_K quantizer does.
void pack_k_scales(const int* sc, const int* m, uint8_t* out) {
    std::memset(out, 0, 12);
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            out[j] = (uint8_t)sc[j];
            out[j + 4] = (uint8_t)m[j];
        } else {
            out[j + 4] = (uint8_t)((sc[j] & 0xF) | ((m[j] & 0xF) << 4));
            out[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
            out[j] |= (uint8_t)((m[j] >> 4) << 6);
        }
    }
}

}  // namespace

TEST(quant_dequantize_hand_built_blocks) {
    std::vector<float> y(256);
    {  // Q4_0: w = d * (q - 8), byte j = q[j] | q[j + 16] << 4
        block_q4_0 b{h(0.5f), {}};
        for (int j = 0; j < 16; j++) b.qs[j] = (uint8_t)(j | ((15 - j) << 4));
        dequantize_row(dtype::Q4_0, &b, y.data(), 32);
        for (int j = 0; j < 16; j++) CHECK(y[j] == 0.5f * (j - 8) && y[j + 16] == 0.5f * (7 - j));
    }
    {  // Q4_1: w = d * q + m
        block_q4_1 b{h(0.25f), h(-1.5f), {}};
        for (int j = 0; j < 16; j++) b.qs[j] = (uint8_t)(j | (3 << 4));
        dequantize_row(dtype::Q4_1, &b, y.data(), 32);
        for (int j = 0; j < 16; j++) CHECK(y[j] == 0.25f * j - 1.5f && y[j + 16] == 0.25f * 3 - 1.5f);
    }
    {  // Q5_0 / Q5_1: bit j of qh is bit 4 of element j
        block_q5_0 b{h(2.f), {0x01, 0x00, 0x01, 0x80}, {}};  // elements 0, 16 and 31 get bit 4
        for (int j = 0; j < 16; j++) b.qs[j] = (uint8_t)(j | (j << 4));
        dequantize_row(dtype::Q5_0, &b, y.data(), 32);
        for (int j = 0; j < 16; j++) {
            CHECK_MSG(y[j] == 2.f * (j + (j == 0 ? 16 : 0) - 16), "Q5_0 element " << j);
            CHECK_MSG(y[j + 16] == 2.f * (j + (j == 0 || j == 15 ? 16 : 0) - 16), "Q5_0 element " << j + 16);
        }
        block_q5_1 c{h(0.5f), h(1.f), {0xff, 0xff, 0xff, 0xff}, {}};
        for (int j = 0; j < 16; j++) c.qs[j] = 0x21;
        dequantize_row(dtype::Q5_1, &c, y.data(), 32);
        for (int j = 0; j < 16; j++) CHECK(y[j] == 0.5f * 17 + 1.f && y[j + 16] == 0.5f * 18 + 1.f);
    }
    {  // Q4_K: sub-block j (32 elements) = d * sc[j] * q - dmin * m[j]; q from nibbles of qs
        block_q4_K b{};
        b.d = h(0.5f);
        b.dmin = h(0.25f);
        const int sc[8] = {1, 63, 17, 32, 5, 40, 61, 33}, m[8] = {0, 2, 63, 47, 16, 9, 31, 48};
        pack_k_scales(sc, m, b.scales);
        for (int i = 0; i < 128; i++) b.qs[i] = (uint8_t)((i % 16) | ((15 - i % 16) << 4));
        dequantize_row(dtype::Q4_K, &b, y.data(), 256);
        for (int e = 0; e < 256; e++) {
            const int j = e / 32, l = e % 32, q = j % 2 == 0 ? l % 16 : 15 - l % 16;
            const float want = (0.5f * sc[j]) * q - 0.25f * m[j];
            CHECK_MSG(y[e] == want, "Q4_K element " << e << ": " << y[e] << " vs " << want);
        }
        // Q5_K: the same with qh bit j of byte l giving bit 4 of element 32 j + l
        block_q5_K c{};
        c.d = b.d, c.dmin = b.dmin;
        std::memcpy(c.scales, b.scales, 12);
        std::memcpy(c.qs, b.qs, 128);
        for (int l = 0; l < 32; l++) c.qh[l] = (uint8_t)(l * 37 + 11);
        dequantize_row(dtype::Q5_K, &c, y.data(), 256);
        for (int e = 0; e < 256; e++) {
            const int j = e / 32, l = e % 32, q = (j % 2 == 0 ? l % 16 : 15 - l % 16) + (((c.qh[l] >> j) & 1) << 4);
            CHECK_MSG(y[e] == (0.5f * sc[j]) * q - 0.25f * m[j], "Q5_K element " << e);
        }
    }
    {  // Q6_K: 16 sub-blocks of 16, w = d * scale * (q - 32)
        block_q6_K b{};
        b.d = h(0.125f);
        for (int j = 0; j < 16; j++) b.scales[j] = (int8_t)(j * 9 - 70);
        std::vector<int> q(256);
        for (int e = 0; e < 256; e++) q[e] = (e * 29 + 3) % 64;
        for (int e = 0; e < 256; e++) {  // ggml's packing: 128-element halves, 32-element quarters
            const int hh = e / 128, c = (e % 128) / 32, l = e % 32;
            b.ql[64 * hh + l + 32 * (c % 2)] |= (uint8_t)((q[e] & 0xF) << (c < 2 ? 0 : 4));
            b.qh[32 * hh + l] |= (uint8_t)((q[e] >> 4) << (2 * c));
        }
        dequantize_row(dtype::Q6_K, &b, y.data(), 256);
        for (int e = 0; e < 256; e++)
            CHECK_MSG(y[e] == 0.125f * b.scales[e / 16] * (q[e] - 32), "Q6_K element " << e);
    }
}

// The activation quantizer's AVX2 loop writes the portable loop's bytes (codes, scales and sums) for
// both formats: random values over many magnitudes, exact ties at every half step, zero blocks, tiny
// (subnormal) values, whose blocks quantize to zeros, and blocks holding inf or NaN. The first block is
// also checked against its definition.
TEST(quant_activations_simd_equal_portable) {
    std::mt19937 rng(9);
    int n_cases = 0;
    for (act_kind k : {act_kind::q8_32, act_kind::q8_K})
        for (int c = 0; c < 40; c++) {
            const int64_t n = 256 * (1 + c % 3);
            std::vector<float> x(n);
            const float mag = std::ldexp(1.f, (int)(rng() % 60) - 30);
            for (auto& v : x) v = mag * ((float)(rng() % 2001) / 1000.f - 1.f);
            if (c % 5 == 1)  // ties: multiples of amax / 254, so x * 127 / amax lands on halves
                for (int64_t i = 0; i < n; i++) x[i] = (float)((int)(rng() % 255) - 127) * 0.5f * mag;
            if (c % 5 == 2) std::fill(x.begin(), x.begin() + 64, 0.f);
            if (c % 5 == 3) x[rng() % n] = c % 2 ? INFINITY : NAN;
            if (c % 5 == 4) std::fill(x.begin(), x.begin() + 96, 1e-40f);
            std::vector<uint8_t> simd(act_row_bytes(k, n)), port(simd.size());
            quantize_act(k, x.data(), n, simd.data(), true);
            quantize_act(k, x.data(), n, port.data(), false);
            CHECK_MSG(simd == port, "case " << c << " n=" << n << (k == act_kind::q8_K ? " q8_K" : " q8_32"));
            // the definition, on the first block: q = round-half-even(x * 127 / amax)
            const int bs = k == act_kind::q8_K ? QK_K : 32;
            float amax = 0;
            bool finite = true;
            for (int i = 0; i < bs; i++) amax = std::max(amax, std::fabs(x[i])), finite = finite && std::isfinite(x[i]);
            if (finite)
                for (int i = 0; i < bs; i++) {
                    const float want = amax > 0 && std::isfinite(127.f / amax) ? std::nearbyint(x[i] * (127.f / amax)) : 0.f;
                    CHECK_MSG(act_qs(port.data())[i] == (int8_t)want, "case " << c << " element " << i);
                }
            n_cases++;
        }
    CHECK(n_cases == 80);
}

// Each integer dot product equals the exact product of the dequantized weights and the dequantized
// activations, up to float rounding of the scales (the 8-bit error is in the activations, not here).
TEST(quant_qdot_matches_exact_arithmetic) {
    auto levels = tu::cpu_levels(1);
    std::vector<const qdot_fn*> tables = {qdot_table_generic()};
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        tables.push_back(qdot_table_avx2());
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
        __builtin_cpu_supports("avxvnni"))
        tables.push_back(qdot_table_avxvnni());
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl")) tables.push_back(qdot_table_vnni());
    std::vector<dtype> types = tu::quant32_types();
    for (dtype t : tu::quantk_types()) types.push_back(t);
    uint32_t seed = 5;
    for (dtype t : types)
        for (int64_t n : {256, 512, 2304}) {
            auto W = tu::make_weight(t, 3, n, seed++);
            auto x = tu::randv((size_t)n, seed++, 2.f);
            x[7] = 0.f;
            const act_kind k = act_for(t);
            std::vector<uint8_t> act(act_row_bytes(k, n));
            quantize_act(k, x.data(), n, act.data());
            // the dequantized activations
            const int bs = k == act_kind::q8_32 ? 32 : QK_K;
            std::vector<double> xa(n);
            for (int64_t i = 0; i < n; i++) xa[i] = (double)act_d(act.data(), n)[i / bs] * act_qs(act.data())[i];
            for (int r = 0; r < 3; r++) {
                std::vector<float> w(n);
                dequantize_row(t, W.w.row(r), w.data(), n);
                double exact = 0, mag = 0;
                for (int64_t i = 0; i < n; i++) exact += w[i] * xa[i], mag += std::fabs(w[i] * xa[i]);
                std::vector<float> got;
                for (auto* tab : tables) {
                    float o = 0;
                    tab[(int)t](W.w.row(r), act.data(), 0, 1, n, &o);
                    got.push_back(o);
                }
                CHECK_MSG(std::fabs(got[0] - exact) <= 1e-5 * mag, dtype_name(t) << " n=" << n << " row " << r << ": "
                                                                   << got[0] << " vs exact " << exact << " (magnitude " << mag << ")");
                for (size_t l = 1; l < got.size(); l++)
                    CHECK_MSG(std::memcmp(&got[l], &got[0], 4) == 0,
                              dtype_name(t) << " n=" << n << " table " << l << ": " << got[l] << " vs portable " << got[0]);
            }
            // the activations' own error: the product is close to the float one
            CHECK(act_qs(act.data())[7] == 0);
        }
}

// Every kernel level gives the portable level's products bit for bit, on any thread count, for the
// K-quants also past a row of 4 super-blocks (the one-row kernels reduce them in groups of 4). Q8_0
// is left out: its matmul takes the float kernels at the portable and AVX-512 levels
// (cpu_backend.cpp), whose sums are ordered per level (each level is checked against ref in
// test_ops); its integer dot product is checked above.
TEST(quant_matmul_levels_bit_identical) {
    std::vector<dtype> types = tu::quant32_types();
    for (dtype t : tu::quantk_types()) types.push_back(t);
    for (dtype t : types)
        for (int T : {1, 3, 8, 17})
        for (int64_t blocks : {(int64_t)(T % 3 + 1), (int64_t)9}) {  // 9 K-quant super-blocks: two groups of 4 and one more
            if (t == dtype::Q8_0) continue;
            const int64_t n_in = block_elems(t) == 32 ? 96 * blocks : 256 * blocks, n_out = 37;
            auto W = tu::make_weight(t, n_out, n_in, 11 + T);
            auto x = tu::randv((size_t)T * n_in, 13 + T);
            std::vector<float> base((size_t)T * n_out), got(base.size());
            cpu_backend generic(1, cpu_kernels_generic());
            generic.matmul(W.w, x.data(), T, base.data());
            for (int threads : {1, 2, 3})
                for (auto& be : tu::cpu_levels(threads)) {
                    be->matmul(W.w, x.data(), T, got.data());
                    CHECK_MSG(got == base, be->device_info() << " " << dtype_name(t) << " T=" << T << " n_in=" << n_in);
                }
        }
}

// Non-finite activations give non-finite products (as float arithmetic would), never garbage.
TEST(quant_nonfinite_activations_propagate) {
    for (auto& be : tu::cpu_levels(1))
        for (dtype t : {dtype::Q8_0, dtype::Q4_K, dtype::Q6_K}) {
            auto W = tu::make_weight(t, 4, 256, 3);
            auto x = tu::randv(256, 4);
            x[100] = NAN;
            std::vector<float> y(4);
            be->matmul(W.w, x.data(), 1, y.data());
            for (float v : y) CHECK_MSG(std::isnan(v), be->device_info() << " " << dtype_name(t) << " gave " << v);
        }
}
