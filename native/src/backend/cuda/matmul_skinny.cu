// Matrix products for few tokens (decode, verify, the DP's candidate batches): memory-bound, so each
// weight row is read once for all tokens of the call.
//
// Batch invariance (what makes greedy speculation exactly lossless): the (row, token) dot product is
// reduced in an order that depends only on n_in and the weight type, never on T:
//   - the tensor-core kernel puts weight rows on the mma M side and tokens on the N side (8 per tile);
//     every token tile runs the same mma sequence over the same K chunks, the K chunks are split
//     over the block's 8 warps by chunk index, and the warps' partial sums are added in warp order.
//     A token's column does not interact with the other columns of its tile.
//   - the fallback kernel gives each row to one warp; lanes stride over K and reduce by a fixed
//     butterfly; tokens are independent accumulators.
// Which kernel runs depends on (type, n_in, x alignment) only. Up to 32 tokens run in one pass; more
// run as several 32-token tiles (grid.y) that re-read the weights, mostly from L2. The prefill GEMM
// (gemm_prefill.cu, T > SKINNY_MAX_T) is not batch-invariant with this kernel; prefill logits are
// never compared with decode.
//
// Precision: activations enter the tensor cores as hi + lo 16-bit parts (two mma per K step), so the
// product keeps about 16 (bf16) or 22 (f16) significant bits of x (weights are exact); accumulation is
// fp32. f16 has a narrow range (overflow above 65504, subnormals below 6e-5), so for F16 and Q8_0
// weights each token's 32-wide chunk of x is first multiplied by a power of two that brings its
// largest element into [2^8, 2^9), and the chunk's partial sums by the inverse power. Both products
// are exact, and the factor depends on that token's own 32 values only: batch invariance holds.
#include "cuda_common.cuh"
#include <type_traits>

namespace clasp {
namespace cuda {
namespace {

constexpr int MMV_WARPS = 8;  // K split per block; fixed, so the reduction order never changes
constexpr int MMV_ROWS = 16;  // rows per block: one mma M tile
// Chunks of 32 weights per row loaded ahead by each warp (2 loads of 16 bytes per lane each); 2 was the
// original pipeline (the current chunk plus the next). The order of the arithmetic does not depend on it.
constexpr int PREFETCH = 4;

// 2^e as a float, exactly, for |e| <= 126.
__device__ __forceinline__ float pow2(int e) { return __int_as_float((127 + e) << 23); }

// The shift that brings the largest |x| of one token's 32-wide chunk into [2^8, 2^9). The chunk is
// spread over the 4 lanes of a quad (same g); each lane passes its 8 values. 0 for an all-zero
// chunk and for inf/NaN (left as they are); at most +-100, so pow2 stays exact.
__device__ __forceinline__ int chunk_shift(float4 a, float4 b) {
    float m = fmaxf(fmaxf(fmaxf(fabsf(a.x), fabsf(a.y)), fmaxf(fabsf(a.z), fabsf(a.w))),
                    fmaxf(fmaxf(fabsf(b.x), fabsf(b.y)), fmaxf(fabsf(b.z), fabsf(b.w))));
    m = fmaxf(m, __shfl_xor_sync(FULL_MASK, m, 1));
    m = fmaxf(m, __shfl_xor_sync(FULL_MASK, m, 2));
    const int biased = (__float_as_int(m) >> 23) & 0xff;  // m in [2^(biased-127), 2^(biased-126))
    if (biased == 0 || biased == 0xff) return 0;            // zero or subnormal max; inf/NaN
    return max(-100, min(100, 8 - (biased - 127)));
}

// Loads the A fragments of one 32-wide K chunk for rows ra and rb (= ra + 8): elements k..k+7 of
// each row, which the two mma K steps consume as pairs (0,1)(2,3) and (4,5)(6,7). B uses the same
// permutation of K, so the dot products are unchanged.
template <bool Q8>
__device__ __forceinline__ void load_a(const dev_weight& wa, const dev_weight& wb, int64_t ra, int64_t rb, bool va,
                                       bool vb, int64_t k, uint32_t (&a1)[4], uint32_t (&a2)[4]) {
    if constexpr (Q8) {
        const int8_t *qpa = (const int8_t*)wa.data, *qpb = (const int8_t*)wb.data;
        uint2 qa = va ? __ldg((const uint2*)(qpa + ra * wa.n_in + k)) : make_uint2(0, 0);
        uint2 qb = vb ? __ldg((const uint2*)(qpb + rb * wb.n_in + k)) : make_uint2(0, 0);
        auto byte = [](uint32_t v, int i) { return (int8_t)((v >> (8 * i)) & 0xff); };
        a1[0] = pack_q8_pair(byte(qa.x, 0), byte(qa.x, 1));
        a1[1] = pack_q8_pair(byte(qb.x, 0), byte(qb.x, 1));
        a1[2] = pack_q8_pair(byte(qa.x, 2), byte(qa.x, 3));
        a1[3] = pack_q8_pair(byte(qb.x, 2), byte(qb.x, 3));
        a2[0] = pack_q8_pair(byte(qa.y, 0), byte(qa.y, 1));
        a2[1] = pack_q8_pair(byte(qb.y, 0), byte(qb.y, 1));
        a2[2] = pack_q8_pair(byte(qa.y, 2), byte(qa.y, 3));
        a2[3] = pack_q8_pair(byte(qb.y, 2), byte(qb.y, 3));
    } else {
        const uint16_t *pa = (const uint16_t*)wa.data, *pb = (const uint16_t*)wb.data;
        uint4 xa = va ? __ldg((const uint4*)(pa + ra * wa.n_in + k)) : make_uint4(0, 0, 0, 0);
        uint4 xb = vb ? __ldg((const uint4*)(pb + rb * wb.n_in + k)) : make_uint4(0, 0, 0, 0);
        a1[0] = xa.x; a1[1] = xb.x; a1[2] = xa.y; a1[3] = xb.y;
        a2[0] = xa.z; a2[1] = xb.z; a2[2] = xa.w; a2[3] = xb.w;
    }
}

// What one launch computes. store/add: up to 3 products of the same x (weights of one type and n_in),
// y_i = W_i x or y_i += W_i x; row tiles [0, end0) are product 0, [end0, end1) product 1, the rest
// product 2. swiglu: y0 = silu(w0 x) * (w1 x), each block taking 8 rows of w0 (the tensor cores' rows
// 0-7) and the same 8 rows of w1 (rows 8-15). A row's arithmetic does not depend on its neighbours
// in the tile, so every variant gives the bits of the plain product followed by the plain epilogue.
enum class epi { store, add, swiglu };
struct mm_job {
    dev_weight w0, w1, w2;
    float *y0 = nullptr, *y1 = nullptr, *y2 = nullptr;
    unsigned end0 = 0, end1 = 0;
};

// SwiGLU's formula, exactly as elementwise.cu's silu_mul kernel writes it.
__device__ __forceinline__ float silu_times(float gv, float uv) { return gv / (1.0f + expf(-gv)) * uv; }

// Y (T, n_out) = X (T, n_in) . W^T with W on the tensor cores' A side. Grid: (row tiles, token tiles
// of NTILE * 8). Needs n_in % 32 == 0 and a 16-byte aligned x.
template <typename TC, bool Q8, int NTILE, epi E>
__global__ void __launch_bounds__(MMV_WARPS * 32) mmv_tc(mm_job job, const float* __restrict__ x, int T) {
    __shared__ float red[MMV_WARPS][MMV_ROWS][NTILE * 8];  // (warp, row, token) partial sums
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, tig = lane & 3;
    const unsigned bx = blockIdx.x;
    const int pi = bx < job.end0 ? 0 : bx < job.end1 ? 1 : 2;  // which product
    const dev_weight wa = pi == 0 ? job.w0 : pi == 1 ? job.w1 : job.w2;
    const dev_weight wb = E == epi::swiglu ? job.w1 : wa;
    float* __restrict__ y = pi == 0 ? job.y0 : pi == 1 ? job.y1 : job.y2;
    const int64_t tile = bx - (pi == 0 ? 0u : pi == 1 ? job.end0 : job.end1);
    const int64_t n_in = wa.n_in, n_out = wa.n_out;
    const int64_t row0 = tile * (E == epi::swiglu ? MMV_ROWS / 2 : MMV_ROWS);
    const int tok0 = blockIdx.y * NTILE * 8;
    const int n_chunks = (int)(n_in / 32);
    const int64_t ra = row0 + g, rb = E == epi::swiglu ? ra : ra + 8;
    const bool va = ra < n_out, vb = rb < n_out;
    constexpr bool F16_SCALED = std::is_same<TC, tc_f16>::value;  // F16 and Q8_0 weights

    float acc[NTILE][4];
#pragma unroll
    for (int j = 0; j < NTILE; j++) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.f;

    // Each warp takes chunks warp, warp + 8, warp + 16, ... in that order (the reduction order), with
    // the next PREFETCH of them (weights and, for Q8_0, their scales) loaded ahead in a register ring.
    const int64_t nb = n_in / 32;
    uint32_t A1[PREFETCH][4], A2[PREFETCH][4];
    float DA[PREFETCH], DB[PREFETCH];
    auto fetch = [&](int c, int slot) {
        load_a<Q8>(wa, wb, ra, rb, va, vb, (int64_t)c * 32 + tig * 8, A1[slot], A2[slot]);
        DA[slot] = DB[slot] = 1.f;
        if constexpr (Q8) {
            DA[slot] = va ? __half2float(wa.scales[ra * nb + c]) : 0.f;
            DB[slot] = vb ? __half2float(wb.scales[rb * nb + c]) : 0.f;
        }
    };
#pragma unroll
    for (int i = 0; i < PREFETCH; i++)
        if (warp + i * MMV_WARPS < n_chunks) fetch(warp + i * MMV_WARPS, i);
    for (int c0 = warp; c0 < n_chunks; c0 += PREFETCH * MMV_WARPS) {
#pragma unroll
        for (int slot = 0; slot < PREFETCH; slot++) {
            const int c = c0 + slot * MMV_WARPS;
            if (c >= n_chunks) break;  // warp-uniform
            const float da = DA[slot], db = DB[slot];
            uint32_t a1[4], a2[4];
#pragma unroll
            for (int i = 0; i < 4; i++) { a1[i] = A1[slot][i]; a2[i] = A2[slot][i]; }
            if (c + PREFETCH * MMV_WARPS < n_chunks) fetch(c + PREFETCH * MMV_WARPS, slot);
            const int64_t k = (int64_t)c * 32 + tig * 8;
#pragma unroll
            for (int j = 0; j < NTILE; j++) {
                const int t = tok0 + j * 8 + g;
                float4 x0 = make_float4(0.f, 0.f, 0.f, 0.f), x1 = x0;
                if (t < T) {
                    const float4* xp = (const float4*)(x + (int64_t)t * n_in + k);
                    x0 = __ldg(xp);
                    x1 = __ldg(xp + 1);
                }
                // f16 only: the power-of-two scale of this token's chunk (lanes 4g..4g+3 hold its 32 values).
                // inv0 and inv1 are the inverse scales of the tokens this lane's outputs belong to
                // (columns 2tig and 2tig + 1 of the tile), fetched from the lanes that computed them.
                float inv0 = 1.f, inv1 = 1.f;
                if constexpr (F16_SCALED) {
                    const int sh = chunk_shift(x0, x1);
                    const float sc = pow2(sh);
                    x0.x *= sc; x0.y *= sc; x0.z *= sc; x0.w *= sc;
                    x1.x *= sc; x1.y *= sc; x1.z *= sc; x1.w *= sc;
                    const float inv = pow2(-sh);
                    inv0 = __shfl_sync(FULL_MASK, inv, 8 * tig);
                    inv1 = __shfl_sync(FULL_MASK, inv, 8 * tig + 4);
                }
                uint32_t h0, l0, h1, l1, h2, l2, h3, l3;
                split_pack<TC>(x0.x, x0.y, h0, l0);
                split_pack<TC>(x0.z, x0.w, h1, l1);
                split_pack<TC>(x1.x, x1.y, h2, l2);
                split_pack<TC>(x1.z, x1.w, h3, l3);
                if constexpr (F16_SCALED) {
                    // One chunk (for Q8_0 one block): its products first, then the row's scale (1 for F16)
                    // times the token's inverse power of two.
                    float tmp[4] = {0.f, 0.f, 0.f, 0.f};
                    mma_16816<TC>(tmp, a1, h0, h1);
                    mma_16816<TC>(tmp, a1, l0, l1);
                    mma_16816<TC>(tmp, a2, h2, h3);
                    mma_16816<TC>(tmp, a2, l2, l3);
                    acc[j][0] = fmaf(da * inv0, tmp[0], acc[j][0]);
                    acc[j][1] = fmaf(da * inv1, tmp[1], acc[j][1]);
                    acc[j][2] = fmaf(db * inv0, tmp[2], acc[j][2]);
                    acc[j][3] = fmaf(db * inv1, tmp[3], acc[j][3]);
                } else {
                    mma_16816<TC>(acc[j], a1, h0, h1);
                    mma_16816<TC>(acc[j], a1, l0, l1);
                    mma_16816<TC>(acc[j], a2, h2, h3);
                    mma_16816<TC>(acc[j], a2, l2, l3);
                }
            }
        }
    }

#pragma unroll
    for (int j = 0; j < NTILE; j++) {
        red[warp][g][j * 8 + 2 * tig] = acc[j][0];
        red[warp][g][j * 8 + 2 * tig + 1] = acc[j][1];
        red[warp][g + 8][j * 8 + 2 * tig] = acc[j][2];
        red[warp][g + 8][j * 8 + 2 * tig + 1] = acc[j][3];
    }
    __syncthreads();
    if constexpr (E == epi::swiglu) {
        for (int o = threadIdx.x; o < MMV_ROWS / 2 * NTILE * 8; o += blockDim.x) {
            const int r = o % (MMV_ROWS / 2), tl = o / (MMV_ROWS / 2);
            float sg = 0.f, su = 0.f;
#pragma unroll
            for (int wi = 0; wi < MMV_WARPS; wi++) sg += red[wi][r][tl];
#pragma unroll
            for (int wi = 0; wi < MMV_WARPS; wi++) su += red[wi][r + 8][tl];
            const int64_t row = row0 + r;
            const int t = tok0 + tl;
            if (row < n_out && t < T) y[(int64_t)t * n_out + row] = silu_times(sg, su);
        }
    } else {
        for (int o = threadIdx.x; o < MMV_ROWS * NTILE * 8; o += blockDim.x) {
            const int r = o % MMV_ROWS, tl = o / MMV_ROWS;  // consecutive threads, consecutive rows
            float s = 0.f;
#pragma unroll
            for (int wi = 0; wi < MMV_WARPS; wi++) s += red[wi][r][tl];
            const int64_t row = row0 + r;
            const int t = tok0 + tl;
            if (row < n_out && t < T) {
                if constexpr (E == epi::add) y[(int64_t)t * n_out + row] += s;
                else y[(int64_t)t * n_out + row] = s;
            }
        }
    }
}

// The CUDA-core fallback: F32 weights, rows that are not a multiple of 32, unaligned x. One warp per
// row; any T.
constexpr int GEN_TOKENS = 8;
template <dtype DT>
__global__ void __launch_bounds__(256) mmv_generic(dev_weight w, const float* __restrict__ x, int T,
                                                   float* __restrict__ y) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t row = (int64_t)blockIdx.x * (blockDim.x / 32) + warp;
    if (row >= w.n_out) return;  // whole warps only: the shuffles below stay convergent
    const int64_t n_in = w.n_in;
    for (int t0 = 0; t0 < T; t0 += GEN_TOKENS) {
        float acc[GEN_TOKENS];
#pragma unroll
        for (int j = 0; j < GEN_TOKENS; j++) acc[j] = 0.f;
        for (int64_t i = lane; i < n_in; i += 32) {
            float wv;
            if constexpr (DT == dtype::F32) wv = ((const float*)w.data)[row * n_in + i];
            else if constexpr (DT == dtype::F16) wv = __half2float(((const __half*)w.data)[row * n_in + i]);
            else if constexpr (DT == dtype::BF16) wv = __bfloat162float(((const __nv_bfloat16*)w.data)[row * n_in + i]);
            else wv = __half2float(w.scales[row * (n_in / QK8_0) + i / QK8_0]) * (float)((const int8_t*)w.data)[row * n_in + i];
#pragma unroll
            for (int j = 0; j < GEN_TOKENS; j++)
                if (t0 + j < T) acc[j] = fmaf(wv, x[(int64_t)(t0 + j) * n_in + i], acc[j]);
        }
#pragma unroll
        for (int j = 0; j < GEN_TOKENS; j++) {
            float s = warp_sum(acc[j]);
            if (lane == 0 && t0 + j < T) y[(int64_t)(t0 + j) * w.n_out + row] = s;
        }
    }
}

template <typename TC, bool Q8, epi E>
void launch_tc(const mm_job& job, unsigned tiles, const float* x, int T, cudaStream_t s) {
    const int ntile = T <= 8 ? 1 : T <= 16 ? 2 : 4;
    dim3 grid(tiles, (unsigned)((T + ntile * 8 - 1) / (ntile * 8)));
    dim3 block(MMV_WARPS * 32);
    if (ntile == 1) mmv_tc<TC, Q8, 1, E><<<grid, block, 0, s>>>(job, x, T);
    else if (ntile == 2) mmv_tc<TC, Q8, 2, E><<<grid, block, 0, s>>>(job, x, T);
    else mmv_tc<TC, Q8, 4, E><<<grid, block, 0, s>>>(job, x, T);
    CUDA_CHECK_LAUNCH();
}

template <epi E>
void launch_job(const mm_job& job, unsigned tiles, const float* x, int T, cudaStream_t s) {
    if (job.w0.type == dtype::BF16) launch_tc<tc_bf16, false, E>(job, tiles, x, T, s);
    else if (job.w0.type == dtype::F16) launch_tc<tc_f16, false, E>(job, tiles, x, T, s);
    else launch_tc<tc_f16, true, E>(job, tiles, x, T, s);
}

unsigned row_tiles(const dev_weight& w, int rows) { return (unsigned)((w.n_out + rows - 1) / rows); }

// The fused variants need the tensor-core kernel for every weight, with one type and n_in.
void check_fusable(const dev_weight* w, int n, const float* x, const char* what) {
    for (int i = 0; i < n; i++)
        if (!skinny_uses_tensor_cores(w[i], x) || w[i].type != w[0].type || w[i].n_in != w[0].n_in)
            fail(std::string(what) + ": the weights cannot share one tensor-core launch");
}

}  // namespace

bool skinny_uses_tensor_cores(const dev_weight& w, const float* x) {
    return (w.type == dtype::F16 || w.type == dtype::BF16 || w.type == dtype::Q8_0) && w.n_in % 32 == 0 &&
           ((uintptr_t)x % 16) == 0;
}

void matmul_skinny_n(int n, const dev_weight* w, const float* x, int T, float* const* y, cudaStream_t s) {
    if (T <= 0) return;
    if (n < 1 || n > 3) fail("matmul_skinny_n: 1 to 3 products per launch");
    check_fusable(w, n, x, "matmul_skinny_n");
    mm_job job;
    job.w0 = w[0]; job.w1 = w[n > 1 ? 1 : 0]; job.w2 = w[n > 2 ? 2 : 0];
    job.y0 = y[0]; job.y1 = y[n > 1 ? 1 : 0]; job.y2 = y[n > 2 ? 2 : 0];
    job.end0 = row_tiles(w[0], MMV_ROWS);
    job.end1 = job.end0 + (n > 1 ? row_tiles(w[1], MMV_ROWS) : 0);
    const unsigned tiles = job.end1 + (n > 2 ? row_tiles(w[2], MMV_ROWS) : 0);
    if (n == 1) job.end0 = job.end1 = tiles;  // every block is product 0
    else if (n == 2) job.end1 = tiles;
    if (tiles) launch_job<epi::store>(job, tiles, x, T, s);
}

void matmul_skinny_add(const dev_weight& w, const float* x, int T, float* y, cudaStream_t s) {
    if (T <= 0 || w.n_out <= 0) return;
    check_fusable(&w, 1, x, "matmul_skinny_add");
    mm_job job;
    job.w0 = job.w1 = job.w2 = w;
    job.y0 = job.y1 = job.y2 = y;
    job.end0 = job.end1 = row_tiles(w, MMV_ROWS);
    launch_job<epi::add>(job, job.end0, x, T, s);
}

void matmul_skinny_swiglu(const dev_weight& gate, const dev_weight& up, const float* x, int T, float* g,
                          cudaStream_t s) {
    if (T <= 0 || gate.n_out <= 0) return;
    const dev_weight both[2] = {gate, up};
    check_fusable(both, 2, x, "matmul_skinny_swiglu");
    if (gate.n_out != up.n_out) fail("matmul_skinny_swiglu: gate and up differ in shape");
    mm_job job;
    job.w0 = job.w2 = gate;
    job.w1 = up;
    job.y0 = job.y1 = job.y2 = g;
    job.end0 = job.end1 = row_tiles(gate, MMV_ROWS / 2);
    launch_job<epi::swiglu>(job, job.end0, x, T, s);
}

void matmul_skinny(const dev_weight& w, const float* x, int T, float* y, cudaStream_t s) {
    if (T <= 0 || w.n_out <= 0) return;
    if (skinny_uses_tensor_cores(w, x)) {
        matmul_skinny_n(1, &w, x, T, &y, s);
        return;
    }
    dim3 grid((unsigned)((w.n_out + 7) / 8)), block(256);
    switch (w.type) {
        case dtype::F32: mmv_generic<dtype::F32><<<grid, block, 0, s>>>(w, x, T, y); break;
        case dtype::F16: mmv_generic<dtype::F16><<<grid, block, 0, s>>>(w, x, T, y); break;
        case dtype::BF16: mmv_generic<dtype::BF16><<<grid, block, 0, s>>>(w, x, T, y); break;
        case dtype::Q8_0: mmv_generic<dtype::Q8_0><<<grid, block, 0, s>>>(w, x, T, y); break;
        default: fail(std::string("matmul_skinny: ") + dtype_name(w.type) + " weights are refused at load (check_type)");
    }
    CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace clasp
