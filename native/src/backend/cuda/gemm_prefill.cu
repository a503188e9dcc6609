// The tensor-core GEMM for prefill (T > SKINNY_MAX_T = 80): Y (T, n_out) = X (T, n_in) . W^T for F16,
// BF16 and Q8_0 weights with n_in % 32 == 0. Block tile: 128 weight rows x 64 tokens x 32 of K, 8 warps of 32 x 32,
// mma.sync m16n8k16 with fp32 accumulation, register-staged double buffering through shared memory.
//
// Activations enter as hi + lo 16-bit parts (two mma per K step), so the result keeps about 16
// significant bits of x; Q8_0 quants become f16 exactly and each 32-wide K tile (one Q8_0 block) is
// scaled by its row's fp16 scale. Not batch-invariant with matmul_skinny.cu: it only serves prefill,
// whose logits are never compared with decode's.
#include "cuda_common.cuh"

namespace clasp {
namespace cuda {
namespace {

constexpr int BM = 128, BN = 64, BK = 32, THREADS = 256;

template <typename TC, bool Q8>
__global__ void __launch_bounds__(THREADS, Q8 ? 1 : 2) gemm_tc(dev_weight w, const float* __restrict__ x, int T,
                                                      float* __restrict__ y) {
    // Rows of 32 16-bit values (64 bytes): the 16-byte fragment loads of 8 lanes cover 128
    // consecutive bytes, so neither they nor the tile stores conflict on banks.
    __shared__ __align__(16) uint16_t Ws[2][BM][BK];  // weight tile (row, k)
    __shared__ __align__(16) uint16_t Xh[2][BN][BK];  // activation tile, hi part (token, k)
    __shared__ __align__(16) uint16_t Xl[2][BN][BK];  // activation tile, lo part
    __shared__ float Ds[2][BM];                       // Q8_0: the tile's scale per row

    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane >> 2, tig = lane & 3;
    const int wm = warp % 4, wn = warp / 4;  // warp tile: rows wm*32.., tokens wn*32..
    const int64_t n_in = w.n_in, n_out = w.n_out;
    const int64_t row0 = (int64_t)blockIdx.x * BM;
    const int tok0 = blockIdx.y * BN;
    const int nk = (int)(n_in / BK);

    // Per-thread staging registers for the next tile.
    uint4 wreg[2];
    float4 xreg[2];
    float dreg = 0.f;

    auto load = [&](int kt) {
        const int64_t k0 = (int64_t)kt * BK;
        if constexpr (Q8) {
            const int r = tid / 2, part = tid % 2;  // 16 int8 per thread
            const int64_t row = row0 + r;
            wreg[0] = row < n_out ? __ldg((const uint4*)((const int8_t*)w.data + row * n_in + k0 + part * 16))
                                  : make_uint4(0, 0, 0, 0);
            if (tid < BM) {
                const int64_t rr = row0 + tid;
                dreg = rr < n_out ? __half2float(w.scales[rr * (n_in / 32) + kt]) : 0.f;
            }
        } else {
#pragma unroll
            for (int i = 0; i < 2; i++) {
                const int slot = tid + i * THREADS, r = slot / 4, part = slot % 4;  // 8 values per slot
                const int64_t row = row0 + r;
                wreg[i] = row < n_out ? __ldg((const uint4*)((const uint16_t*)w.data + row * n_in + k0 + part * 8))
                                      : make_uint4(0, 0, 0, 0);
            }
        }
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const int slot = tid + i * THREADS, tk = slot / 8, part = slot % 8;  // 4 floats per slot
            const int t = tok0 + tk;
            xreg[i] = t < T ? __ldg((const float4*)(x + (int64_t)t * n_in + k0 + part * 4))
                            : make_float4(0.f, 0.f, 0.f, 0.f);
        }
    };

    auto store = [&](int buf) {
        if constexpr (Q8) {
            const int r = tid / 2, part = tid % 2;
            const uint32_t v[4] = {wreg[0].x, wreg[0].y, wreg[0].z, wreg[0].w};
            uint32_t hv[8];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                hv[2 * i] = pack_q8_pair((int8_t)(v[i] & 0xff), (int8_t)((v[i] >> 8) & 0xff));
                hv[2 * i + 1] = pack_q8_pair((int8_t)((v[i] >> 16) & 0xff), (int8_t)((v[i] >> 24) & 0xff));
            }
            *(uint4*)&Ws[buf][r][part * 16] = make_uint4(hv[0], hv[1], hv[2], hv[3]);
            *(uint4*)&Ws[buf][r][part * 16 + 8] = make_uint4(hv[4], hv[5], hv[6], hv[7]);
            if (tid < BM) Ds[buf][tid] = dreg;
        } else {
#pragma unroll
            for (int i = 0; i < 2; i++) {
                const int slot = tid + i * THREADS, r = slot / 4, part = slot % 4;
                *(uint4*)&Ws[buf][r][part * 8] = wreg[i];
            }
        }
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const int slot = tid + i * THREADS, tk = slot / 8, part = slot % 8;
            uint32_t h0, l0, h1, l1;
            split_pack<TC>(xreg[i].x, xreg[i].y, h0, l0);
            split_pack<TC>(xreg[i].z, xreg[i].w, h1, l1);
            *(uint2*)&Xh[buf][tk][part * 4] = make_uint2(h0, h1);
            *(uint2*)&Xl[buf][tk][part * 4] = make_uint2(l0, l1);
        }
    };

    float acc[2][4][4];
#pragma unroll
    for (int mi = 0; mi < 2; mi++)
#pragma unroll
        for (int nj = 0; nj < 4; nj++) acc[mi][nj][0] = acc[mi][nj][1] = acc[mi][nj][2] = acc[mi][nj][3] = 0.f;

    load(0);
    store(0);
    __syncthreads();
    for (int kt = 0; kt < nk; kt++) {
        const int buf = kt & 1;
        if (kt + 1 < nk) load(kt + 1);

        // The same K permutation as matmul_skinny.cu: a lane's 16 bytes hold k = 8*tig .. 8*tig+7;
        // the first mma takes pairs (0,1)(2,3), the second (4,5)(6,7), for A and B alike.
        uint32_t a1[2][4], a2[2][4];
#pragma unroll
        for (int mi = 0; mi < 2; mi++) {
            const int r = wm * 32 + mi * 16 + g;
            const uint4 ra = *(const uint4*)&Ws[buf][r][tig * 8];
            const uint4 rb = *(const uint4*)&Ws[buf][r + 8][tig * 8];
            a1[mi][0] = ra.x; a1[mi][1] = rb.x; a1[mi][2] = ra.y; a1[mi][3] = rb.y;
            a2[mi][0] = ra.z; a2[mi][1] = rb.z; a2[mi][2] = ra.w; a2[mi][3] = rb.w;
        }
        float tmp[2][4][4];
        if constexpr (Q8) {
#pragma unroll
            for (int mi = 0; mi < 2; mi++)
#pragma unroll
                for (int nj = 0; nj < 4; nj++) tmp[mi][nj][0] = tmp[mi][nj][1] = tmp[mi][nj][2] = tmp[mi][nj][3] = 0.f;
        }
#pragma unroll
        for (int nj = 0; nj < 4; nj++) {
            const int tk = wn * 32 + nj * 8 + g;
            const uint4 bh = *(const uint4*)&Xh[buf][tk][tig * 8];
            const uint4 bl = *(const uint4*)&Xl[buf][tk][tig * 8];
#pragma unroll
            for (int mi = 0; mi < 2; mi++) {
                float(&d)[4] = Q8 ? tmp[mi][nj] : acc[mi][nj];
                mma_16816<TC>(d, a1[mi], bh.x, bh.y);
                mma_16816<TC>(d, a1[mi], bl.x, bl.y);
                mma_16816<TC>(d, a2[mi], bh.z, bh.w);
                mma_16816<TC>(d, a2[mi], bl.z, bl.w);
            }
        }
        if constexpr (Q8) {
#pragma unroll
            for (int mi = 0; mi < 2; mi++) {
                const float da = Ds[buf][wm * 32 + mi * 16 + g], db = Ds[buf][wm * 32 + mi * 16 + g + 8];
#pragma unroll
                for (int nj = 0; nj < 4; nj++) {
                    acc[mi][nj][0] = fmaf(da, tmp[mi][nj][0], acc[mi][nj][0]);
                    acc[mi][nj][1] = fmaf(da, tmp[mi][nj][1], acc[mi][nj][1]);
                    acc[mi][nj][2] = fmaf(db, tmp[mi][nj][2], acc[mi][nj][2]);
                    acc[mi][nj][3] = fmaf(db, tmp[mi][nj][3], acc[mi][nj][3]);
                }
            }
        }
        if (kt + 1 < nk) store(buf ^ 1);
        __syncthreads();
    }

#pragma unroll
    for (int mi = 0; mi < 2; mi++)
#pragma unroll
        for (int nj = 0; nj < 4; nj++) {
            const int64_t ra = row0 + wm * 32 + mi * 16 + g, rb = ra + 8;
            const int t0 = tok0 + wn * 32 + nj * 8 + 2 * tig, t1 = t0 + 1;
            if (ra < n_out && t0 < T) y[(int64_t)t0 * n_out + ra] = acc[mi][nj][0];
            if (ra < n_out && t1 < T) y[(int64_t)t1 * n_out + ra] = acc[mi][nj][1];
            if (rb < n_out && t0 < T) y[(int64_t)t0 * n_out + rb] = acc[mi][nj][2];
            if (rb < n_out && t1 < T) y[(int64_t)t1 * n_out + rb] = acc[mi][nj][3];
        }
}

}  // namespace

bool gemm_prefill_supported(const dev_weight& w) {
    return (w.type == dtype::F16 || w.type == dtype::BF16 || w.type == dtype::Q8_0) && w.n_in % BK == 0 && w.n_in > 0;
}

void gemm_prefill(const dev_weight& w, const float* x, int T, float* y, cudaStream_t s) {
    if (T <= 0 || w.n_out <= 0) return;
    dim3 grid((unsigned)((w.n_out + BM - 1) / BM), (unsigned)((T + BN - 1) / BN)), block(THREADS);
    if (w.type == dtype::BF16) gemm_tc<tc_bf16, false><<<grid, block, 0, s>>>(w, x, T, y);
    else if (w.type == dtype::F16) gemm_tc<tc_f16, false><<<grid, block, 0, s>>>(w, x, T, y);
    else gemm_tc<tc_f16, true><<<grid, block, 0, s>>>(w, x, T, y);
    CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace clasp
