// The integer tile kernels (qgemm_fn, qgemm_simd.inc: 8 or 16 rows x many tokens, for prefill and verify):
// bit-identical to the one-row dot products at every level, batch-invariant through the backend,
// and within the 8-bit activation bound of ref's exact product.
#include "backend/cpu/qact.h"
#include "backend/cpu/qdot.h"
#include "util.h"

using namespace clasp;

namespace {

struct level_tables {
    const char* name;
    const qdot_fn* dot;
    const qgemm_set* set;
};

// The SIMD levels this processor runs (the portable level has no tile kernels).
std::vector<level_tables> tile_levels() {
    std::vector<level_tables> v;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        v.push_back({"avx2", qdot_table_avx2(), qgemm_table_avx2()});
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
        __builtin_cpu_supports("avxvnni"))
        v.push_back({"avxvnni", qdot_table_avxvnni(), qgemm_table_avxvnni()});
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw"))
        v.push_back({"vnni", qdot_table_vnni(), qgemm_table_vnni()});
    return v;
}

// lv's tile kernel for type t on `rows` rows of W (packed first where the level packs t; rows is then
// a multiple of its tile rows): out[i * os + r] = row r . token i (or +=).
void tile_product(const level_tables& lv, dtype t, const tu::owned_weight& W, int rows, int64_t n, const uint8_t* act,
                  size_t st, int T, float* out, size_t os, bool accum) {
    if (const qpack_fn pack = lv.set->pack[(int)t]) {
        const size_t prb = packed_row_bytes(t, n);
        std::unique_ptr<uint8_t, decltype(&std::free)> p((uint8_t*)std::aligned_alloc(64, (prb * rows + 63) / 64 * 64), &std::free);
        pack(W.w.row(0), row_bytes(t, n), rows, n, p.get());
        lv.set->gemm[(int)t](p.get(), prb, rows, act, st, T, n, out, os, accum);
    } else {
        lv.set->gemm[(int)t](W.w.row(0), row_bytes(t, n), rows, act, st, T, n, out, os, accum);
    }
}

std::vector<dtype> quant_types() {
    std::vector<dtype> types = tu::quant32_types();
    for (dtype t : tu::quantk_types()) types.push_back(t);
    return types;
}

}  // namespace

// Every (row, token) of a tile equals the portable one-row dot product bit for bit, for any token
// count (tails of the 8- and 4-token groups, more than one 64-token pass), with and without
// accumulation, including non-finite activations.
TEST(qgemm_tiles_equal_the_portable_dot_products) {
    const auto levels = tile_levels();
    const qdot_fn* portable = qdot_table_generic();
    int n_tested = 0;
    uint32_t seed = 21;
    for (const auto& lv : levels)
        for (dtype t : quant_types()) {
            if (!lv.set->gemm[(int)t]) continue;
            const int tr = lv.set->tile_rows;
            const bool packed = lv.set->pack[(int)t] != nullptr;
            for (int64_t n : {256, 512, 2304})
                for (int T : {1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 17, 63, 64, 65, 70, 131})
                // 24: at 16-row tiles, one full tile and a half one; 3 tiles: one stream of packed
                // tiles, each starting where the last ended
                for (int rows : {packed ? tr : 8, packed ? 2 * tr : 24, packed ? 3 * tr : 0}) {
                    if (rows == 0) continue;
                    if (n == 2304 && T > 17 && T != 70) continue;
                    if ((rows == 24 || rows == 3 * tr) && n == 2304 && T > 9) continue;
                    auto W = tu::make_weight(t, rows, n, seed++);
                    auto x = tu::randv((size_t)T * n, seed++, 3.f);
                    if (T == 9) x[(size_t)5 * n + 17] = NAN;  // token 5: every row NaN, the others unaffected
                    const act_kind k = act_for(t);
                    const size_t st = act_row_bytes(k, n);
                    std::vector<uint8_t> act(st * T);
                    for (int i = 0; i < T; i++) quantize_act(k, x.data() + (size_t)i * n, n, act.data() + st * i);
                    const size_t os = rows + 3;  // a wider output, as a slice of y
                    std::vector<float> base((size_t)T * os, 0.5f), got = base, want = base;
                    for (int i = 0; i < T; i++)
                        for (int r = 0; r < rows; r++) {
                            float o;
                            portable[(int)t](W.w.row(r), act.data() + st * i, st, 1, n, &o);
                            want[(size_t)i * os + r] = o;
                        }
                    tile_product(lv, t, W, rows, n, act.data(), st, T, got.data(), os, false);
                    CHECK_MSG(std::memcmp(got.data(), want.data(), got.size() * 4) == 0,
                              lv.name << " " << dtype_name(t) << " n=" << n << " T=" << T << " rows=" << rows << tu::first_mismatches(got, want, 0));
                    // accumulate: y += the product (the same float addition as the one-row path)
                    std::vector<float> acc = base;
                    tile_product(lv, t, W, rows, n, act.data(), st, T, acc.data(), os, true);
                    for (size_t i = 0; i < acc.size(); i++) {
                        const float w = i % os < (size_t)rows ? base[i] + want[i] : base[i];
                        CHECK_MSG(std::memcmp(&acc[i], &w, 4) == 0,
                                  lv.name << " " << dtype_name(t) << " accumulate n=" << n << " T=" << T << " rows=" << rows << " [" << i << "]");
                    }
                    if (T == 9)
                        for (int r = 0; r < rows; r++) CHECK(std::isnan(got[5 * os + r]) && !std::isnan(got[4 * os + r]));
                    n_tested++;
                }
        }
    // the K-quants have tile kernels at each SIMD level: the loop above must have run them
    CHECK(levels.empty() || n_tested >= (int)levels.size() * 3 * 37);
}

// The largest codes (every weight byte 0xFF: Q4_K 15, Q5_K 31, Q6_K 63, scales and mins at their
// top) against activations at +-127: the sums of the AVX2 tiles' 16-bit parts are at their bound
// there, and the tiles must still equal the portable dot products bit for bit. One token (codes
// unpacked in the pass) and 12 (Q5_K's and Q6_K's unpacked once per super-block).
TEST(qgemm_tiles_exact_at_the_largest_codes_and_activations) {
    const auto levels = tile_levels();
    const qdot_fn* portable = qdot_table_generic();
    int n_tested = 0;
    for (const auto& lv : levels)
        for (dtype t : tu::quantk_types())
        for (int T : {1, 12}) {
            const int64_t n = 512;
            const int rows = 32;  // two tiles at every level
            auto W = tu::make_weight(t, rows, n, 7);
            std::fill(W.bytes.begin(), W.bytes.end(), (uint8_t)0xFF);
            for (size_t off = 0; off < W.bytes.size(); off += block_bytes(t))
                for (auto f : tu::block_scales(t)) {
                    const uint16_t h = fp32_to_fp16(0.01f);
                    std::memcpy(W.bytes.data() + off + f.offset, &h, 2);
                }
            std::vector<float> x((size_t)T * n);
            for (int i = 0; i < T; i++)  // all +1, all -1, or alternating: every code at 127 or -127
                for (int64_t e = 0; e < n; e++) x[(size_t)i * n + e] = i % 3 == 0 ? 1.f : i % 3 == 1 ? -1.f : (e % 2 ? 1.f : -1.f);
            const act_kind k = act_for(t);
            const size_t st = act_row_bytes(k, n);
            std::vector<uint8_t> act(st * T);
            for (int i = 0; i < T; i++) quantize_act(k, x.data() + (size_t)i * n, n, act.data() + st * i);
            std::vector<float> got((size_t)T * rows), want(got.size());
            for (int i = 0; i < T; i++)
                for (int r = 0; r < rows; r++) portable[(int)t](W.w.row(r), act.data() + st * i, st, 1, n, &want[(size_t)i * rows + r]);
            tile_product(lv, t, W, rows, n, act.data(), st, T, got.data(), rows, false);
            CHECK_MSG(std::memcmp(got.data(), want.data(), got.size() * 4) == 0,
                      lv.name << " " << dtype_name(t) << " T=" << T << tu::first_mismatches(got, want, 0));
            n_tested++;
        }
    CHECK(levels.empty() || n_tested == (int)levels.size() * 3 * 2);
}

// Through the backend (row chunks of 16, tiles of 8 or 16 rows with a one-row tail, several threads;
// the K-quants packed or as in the file): a token's logits are bit-identical alone or in a batch of
// up to 70, every level gives the portable level's bits, and
// the product is within the 8-bit activation bound of ref's exact one.
TEST(qgemm_matmul_batch_invariant_and_close_to_ref) {
    ref_backend ref;
    for (dtype t : quant_types())
        for (int64_t n_out : {67, 2 * 8 + 5, 3 * 8 + 5})
            for (int T : {5, 8, 12, 13, 64, 70}) {
                const int64_t n_in = block_elems(t) == 32 ? 32 * 9 : 256 * (T % 2 + 1);
                auto W = tu::make_weight(t, n_out, n_in, 40 + T);
                auto x = tu::randv((size_t)T * n_in, 50 + T, 2.f);
                std::vector<float> want((size_t)T * n_out), base(want.size()), got(want.size()), one(n_out);
                ref.matmul(W.w, x.data(), T, want.data());
                const auto bound = tu::act8_error_bound(W.w, x, T);
                cpu_backend generic(1, cpu_kernels_generic());
                generic.matmul(W.w, x.data(), T, base.data());
                for (int threads : {1, 2, 3})
                    for (bool packed : {false, true})
                    for (auto& be : tu::cpu_levels(threads)) {
                        const std::string what = be->device_info() + (packed ? " packed " : " ") + dtype_name(t) +
                                                 " n_out=" + std::to_string(n_out) + " T=" + std::to_string(T);
                        if (packed) {
                            be->pack(W.w);
                            // the SIMD levels pack every K-quant matrix of a tile or more (the tail rows stay)
                            const bool k = block_elems(t) == 256 && be->kernels().qgemm;
                            CHECK_MSG((be->weight_copy_bytes() > 0) == k, what);
                        }
                        be->matmul(W.w, x.data(), T, got.data());
                        // (Q8_0 takes the float kernels, whose sums are ordered per level: test_ops checks them)
                        if (t != dtype::Q8_0) CHECK_MSG(got == base, what << " vs portable" << tu::first_mismatches(got, base, 0));
                        for (size_t i = 0; i < got.size(); i++)
                            CHECK_MSG(std::fabs((double)got[i] - want[i]) <= bound[i],
                                      what << " [" << i << "] got " << got[i] << " ref " << want[i] << " bound " << bound[i]);
                        if (threads != 2) continue;
                        for (int i = 0; i < T; i += 3) {
                            be->matmul(W.w, x.data() + (size_t)i * n_in, 1, one.data());
                            CHECK_MSG(std::memcmp(one.data(), got.data() + (size_t)i * n_out, n_out * 4) == 0,
                                      what << " token " << i << " alone");
                        }
                    }
            }
}
