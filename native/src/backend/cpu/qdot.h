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

// Many tokens at once (prefill, verify): n_rows weight rows against T tokens' activations:
// out[t * out_stride + r] = the dot product (or += with accumulate). Bit-identical to qdot_fn for
// every (row, token), whatever T or n_rows (qgemm_simd.inc: tiles of 8 rows with AVX2, 16 with
// AVX-512 VNNI). The rows are either as in the file (row r at rows + r * row_bytes; n_rows a multiple
// of qgemm_rows) or packed (below).
using qgemm_fn = void (*)(const uint8_t* rows, size_t row_bytes, int n_rows, const uint8_t* act, size_t act_stride,
                          int T, int64_t n, float* out, size_t out_stride, bool accumulate);
constexpr int qgemm_rows = 8;

// Packed weights (the K-quants): whole tiles of rows regrouped as the tile kernel reads them, one
// stream from memory with no transposing left to do. Tile r / tile_rows of a packed matrix starts at
// r * packed_row_bytes; n_rows is a multiple of tile_rows. pack writes n_rows rows (row_bytes apart,
// as in the file) into out, n_rows * packed_row_bytes(type, n) bytes, 64-byte aligned.
using qpack_fn = void (*)(const uint8_t* rows, size_t row_bytes, int n_rows, int64_t n, uint8_t* out);
// A packed super-block's bytes per row: the block's, but Q6_K's d is widened to a float (212, not 210),
// so that a tile's super-block is whole vectors.
inline size_t packed_block_bytes(dtype t) { return t == dtype::Q6_K ? 212 : (size_t)block_bytes(t); }
inline size_t packed_row_bytes(dtype t, int64_t n) { return packed_block_bytes(t) * (size_t)(n / block_elems(t)); }

// A level's tile kernels, per dtype (null where there is none: the dot products serve).
struct qgemm_set {
    int tile_rows;
    qgemm_fn gemm[n_dtypes];  // on packed rows where pack is set, else on the file's rows
    qpack_fn pack[n_dtypes];
};

// Per dtype (indexed by (int)dtype): the dot product, or null for the float types.
const qdot_fn* qdot_table_generic();
const qdot_fn* qdot_table_avx2();     // needs AVX2, FMA, F16C
const qdot_fn* qdot_table_avxvnni();  // needs AVX2, FMA, F16C, AVX-VNNI
const qdot_fn* qdot_table_vnni();     // needs AVX2, FMA, F16C, AVX-512 F/BW/VL + VNNI
const qgemm_set* qgemm_table_avx2();
const qgemm_set* qgemm_table_avxvnni();
const qgemm_set* qgemm_table_vnni();

// The final sum of the eight lanes of the 32-block types.
inline float lanes8_sum(const float* l) { return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7])); }

}  // namespace clasp
