// The decode attention kernel: one block per (chunk, KV head, query), 4 warps that take disjoint,
// interleaved key subsets of the chunk, 4 keys per warp step with their K and V rows loaded together
// (8 loads of 16 bytes in flight per lane), lanes across the head dimension. The GQA group size and
// head dimension are template parameters, so no guard sits between the loads. Each warp keeps its own
// online softmax over its keys; the warps merge in warp order at the end and the chunk's (max, sum,
// weighted V) goes to the scratch that attention.cu's combine kernel merges in chunk order.
// See attention_common.cuh for why this is batch-invariant.
#include "attention_common.cuh"

namespace clasp {
namespace cuda {
namespace attn {
namespace {

constexpr int NW = 4;  // warps per block
constexpr int KB = 4;  // keys per warp step

__device__ __forceinline__ float dot4(float4 a, float4 b) {
    return fmaf(a.x, b.x, fmaf(a.y, b.y, fmaf(a.z, b.z, a.w * b.w)));
}

template <int G, int HD>
__global__ void __launch_bounds__(NW * 32) attn_warp_partial(params p, int t_base) {
    constexpr int V4 = HD / 4;                  // float4 per K/V row
    constexpr int LANES = V4 < 32 ? V4 : 32;    // lanes that hold part of a row
    constexpr int PER = V4 / LANES;             // float4 per lane (2 for head_dim 256)
    __shared__ float sm_m[NW][G], sm_l[NW][G];
    __shared__ float4 sm_o[NW][G][V4];

    const int tq = blockIdx.z, t = t_base + tq, hk = blockIdx.y, c = blockIdx.x;
    const int n_kv = n_kv_of(p, t), C = chunk_size(n_kv, true), nc = (n_kv + C - 1) / C;
    if (c >= nc) return;  // the whole block: no barrier is skipped by part of it
    const int j_begin = c * C, j_end = min(n_kv, j_begin + C);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const bool act = lane < LANES;

    float4 q[G][PER], o[G][PER];
    float m[G], l[G];
#pragma unroll
    for (int g = 0; g < G; g++) {
        const float4* qp = (const float4*)(p.q + ((int64_t)t * p.n_head + (int64_t)hk * G + g) * HD);
#pragma unroll
        for (int i = 0; i < PER; i++) {
            q[g][i] = act ? qp[lane + i * LANES] : make_float4(0.f, 0.f, 0.f, 0.f);
            o[g][i] = make_float4(0.f, 0.f, 0.f, 0.f);
        }
        m[g] = -INFINITY;
        l[g] = 0.f;
    }

    for (int j0 = j_begin + warp * KB; j0 < j_end; j0 += NW * KB) {
        float4 kr[KB][PER], vr[KB][PER];
#pragma unroll
        for (int kb = 0; kb < KB; kb++) {
            const bool valid = j0 + kb < j_end;
            bool is_new = false;
            const int64_t off = valid ? kv_offset(p, t, j0 + kb, hk, is_new) : 0;
            const float4* kp = (const float4*)((is_new ? p.k_new : p.k_cache) + off);
            const float4* vp = (const float4*)((is_new ? p.v_new : p.v_cache) + off);
#pragma unroll
            for (int i = 0; i < PER; i++) {
                kr[kb][i] = valid && act ? __ldg(kp + lane + i * LANES) : make_float4(0.f, 0.f, 0.f, 0.f);
                vr[kb][i] = valid && act ? __ldg(vp + lane + i * LANES) : make_float4(0.f, 0.f, 0.f, 0.f);
            }
        }
#pragma unroll
        for (int g = 0; g < G; g++) {
            float s[KB];
            float mx = m[g];
#pragma unroll
            for (int kb = 0; kb < KB; kb++) {
                float d = 0.f;
#pragma unroll
                for (int i = 0; i < PER; i++) d += dot4(q[g][i], kr[kb][i]);
                s[kb] = j0 + kb < j_end ? warp_sum(d) * p.scale : -INFINITY;
                mx = fmaxf(mx, s[kb]);
            }
            const float alpha = expf(m[g] - mx);  // 0 on the warp's first step (m = -inf)
            float sum = 0.f;
#pragma unroll
            for (int i = 0; i < PER; i++) {
                o[g][i].x *= alpha; o[g][i].y *= alpha; o[g][i].z *= alpha; o[g][i].w *= alpha;
            }
#pragma unroll
            for (int kb = 0; kb < KB; kb++) {
                const float e = expf(s[kb] - mx);  // 0 for keys past the chunk's end
                sum += e;
#pragma unroll
                for (int i = 0; i < PER; i++) {
                    o[g][i].x = fmaf(e, vr[kb][i].x, o[g][i].x);
                    o[g][i].y = fmaf(e, vr[kb][i].y, o[g][i].y);
                    o[g][i].z = fmaf(e, vr[kb][i].z, o[g][i].z);
                    o[g][i].w = fmaf(e, vr[kb][i].w, o[g][i].w);
                }
            }
            l[g] = l[g] * alpha + sum;
            m[g] = mx;
        }
    }

    // Merge the warps in warp order. A warp with no key of this chunk has m = -inf, l = 0, o = 0;
    // warp 0 always has one, so M is finite.
#pragma unroll
    for (int g = 0; g < G; g++) {
        if (lane == 0) { sm_m[warp][g] = m[g]; sm_l[warp][g] = l[g]; }
#pragma unroll
        for (int i = 0; i < PER; i++)
            if (act) sm_o[warp][g][lane + i * LANES] = o[g][i];
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < G * V4; idx += NW * 32) {
        const int g = idx / V4, v = idx % V4;
        float M = sm_m[0][g];
#pragma unroll
        for (int w = 1; w < NW; w++) M = fmaxf(M, sm_m[w][g]);
        float sum = 0.f;
        float4 O = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
        for (int w = 0; w < NW; w++) {
            const float f = expf(sm_m[w][g] - M);
            const float4 ow = sm_o[w][g][v];
            sum = fmaf(sm_l[w][g], f, sum);
            O.x = fmaf(ow.x, f, O.x); O.y = fmaf(ow.y, f, O.y); O.z = fmaf(ow.z, f, O.z); O.w = fmaf(ow.w, f, O.w);
        }
        const int64_t slot = ((int64_t)tq * p.n_head + (int64_t)hk * G + g) * MAX_CHUNKS + c;
        ((float4*)(p.part_o + slot * HD))[v] = O;
        if (v == 0) {
            p.part_ml[slot * 2] = M;
            p.part_ml[slot * 2 + 1] = sum;
        }
    }
}

template <int G>
void launch_g(const params& p, dim3 grid, cudaStream_t s, int t_base) {
    switch (p.hd) {
        case 64: attn_warp_partial<G, 64><<<grid, NW * 32, 0, s>>>(p, t_base); break;
        case 128: attn_warp_partial<G, 128><<<grid, NW * 32, 0, s>>>(p, t_base); break;
        default: attn_warp_partial<G, 256><<<grid, NW * 32, 0, s>>>(p, t_base); break;
    }
    CUDA_CHECK_LAUNCH();
}

}  // namespace

bool warp_kernel_supports(int G, int hd) {
    return (G == 1 || G == 2 || G == 4 || G == 8) && (hd == 64 || hd == 128 || hd == 256);
}

void launch_warp_partial(const params& p, dim3 grid, cudaStream_t s, int t_base) {
    switch (p.n_head / p.n_head_kv) {
        case 1: launch_g<1>(p, grid, s, t_base); break;
        case 2: launch_g<2>(p, grid, s, t_base); break;
        case 4: launch_g<4>(p, grid, s, t_base); break;
        default: launch_g<8>(p, grid, s, t_base); break;
    }
}

}  // namespace attn
}  // namespace cuda
}  // namespace clasp
