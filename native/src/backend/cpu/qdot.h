// Integer dot products: one quantized weight row against one token's quantized activations (qact.h).
// Integer sums are exact, so they may be formed in any order; only the float scaling has an order,
// and every implementation (portable, AVX2, AVX-512 VNNI) applies it in the same one, so all of them
// give bit-identical results (the tests check this), whatever the batch or thread split:
//
//   32-element blocks (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1): isum_b = sum of w_int * y_int over block b (the
//     zero point folded in: Q4_0 uses q - 8, Q5_0 q - 16). Eight float lanes, block b going to lane
//     b % 8: lane += (dw_b * dy_b) * (float)isum_b; with a min (Q4_1, Q5_1) then
//     lane += (mw_b * dy_b) * (float)sy_b. Result ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)).
//   K-quants (super-blocks of 256): isum = sum over sub-blocks of scale_j * (w_int . y_int), and for
//     Q4_K / Q5_K imin = sum of min_j * (sum of y_int over sub-block j). One float, super-blocks in
//     order: acc += (dy * d) * (float)isum, then acc -= (dy * dmin) * (float)imin.
// Products and sums are separate roundings (these files are compiled with -ffp-contract=off).
#pragma once
#include "../../core/dtype.h"
#include "qact.h"

namespace clasp {

// One weight row (n elements) against nt <= 4 tokens' activations (token t at act + t * act_stride):
// out[t] = the dot product. Each product is computed exactly as if alone (a tile only shares the
// unpacking of the weights), so a token's result does not depend on the tokens beside it.
using qdot_fn = void (*)(const uint8_t* row, const uint8_t* act, size_t act_stride, int nt, int64_t n, float* out);
constexpr int qdot_max_tokens = 4;
constexpr int n_dtypes = (int)dtype::Q6_K + 1;

// Many tokens at once (prefill, verify): n_rows consecutive weight rows (a multiple of qgemm_rows;
// row r at rows + r * row_bytes) against T tokens' activations: out[t * out_stride + r] = the dot
// product (or += with accumulate). Bit-identical to qdot_fn for every (row, token), whatever T or
// n_rows (qgemm_simd.inc: tiles of 8 rows with AVX2, 16 with AVX-512 VNNI).
using qgemm_fn = void (*)(const uint8_t* rows, size_t row_bytes, int n_rows, const uint8_t* act, size_t act_stride,
                          int T, int64_t n, float* out, size_t out_stride, bool accumulate);
constexpr int qgemm_rows = 8;

// Per dtype (indexed by (int)dtype): the dot product, or null for the float types.
const qdot_fn* qdot_table_generic();
const qdot_fn* qdot_table_avx2();     // needs AVX2, FMA, F16C
const qdot_fn* qdot_table_avxvnni();  // needs AVX2, FMA, F16C, AVX-VNNI
const qdot_fn* qdot_table_vnni();     // needs AVX2, FMA, F16C, AVX-512 F/BW/VL + VNNI
// Per dtype: the tile kernel, or null where there is none (then the dot products serve).
const qgemm_fn* qgemm_table_avx2();
const qgemm_fn* qgemm_table_avxvnni();
const qgemm_fn* qgemm_table_vnni();

// The final sum of the eight lanes of the 32-block types.
inline float lanes8_sum(const float* l) { return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7])); }

}  // namespace clasp
