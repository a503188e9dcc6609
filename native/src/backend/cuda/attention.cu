// Attention of T new queries over the cached prefix plus the new keys (causal, or the DP's diagonal
// mask), flash-decoding style: each query's keys are cut into chunks, one CUDA block scores a chunk for
// all query heads that share a KV head (K/V read once per group), and a second kernel merges the
// chunks' (max, sum, weighted V) in chunk order.
//
// Two kernels score chunks: the warp kernel (attention_warp.cu; the common shapes) and, for the other
// shapes, the block kernel below: one key per thread, one head dimension per thread for V. Which one
// runs depends on the shape only; see attention_common.cuh for why either is batch-invariant.
//
// Long prompts run in groups of 32 queries (the scratch stays bounded); queries re-read K/V from L2
// rather than sharing shared-memory tiles, which costs little at the engine's 256-token prefill chunks.
#include "attention_common.cuh"

namespace clasp {
namespace cuda {
namespace {

using attn::chunk_size;
using attn::GROUP_T;
using attn::kv_offset;
using attn::MAX_CHUNKS;
using attn::n_kv_of;
using attn::TILE;
using attn_params = attn::params;

bool g_block_kernel_only = false;  // set by tests and benchmarks to exercise the older kernel

// Grid: (chunk, KV head, query in group). Dynamic shared memory: q (MAXG, hd), scores (MAXG, TILE).
template <int MAXG, bool VEC4>
__global__ void __launch_bounds__(TILE) attn_partial(attn_params p, int t_base) {
    extern __shared__ float sm[];
    __shared__ float m_s[MAXG], l_s[MAXG], alpha_s[MAXG];
    const int tq = blockIdx.z, t = t_base + tq, hk = blockIdx.y, c = blockIdx.x;
    const int n_kv = n_kv_of(p, t), C = chunk_size(n_kv, false), nc = (n_kv + C - 1) / C;
    if (c >= nc) return;
    const int j_begin = c * C, j_end = min(n_kv, j_begin + C);
    const int G = p.n_head / p.n_head_kv, hd = p.hd;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    float* qs = sm;              // (MAXG, hd)
    float* S = sm + MAXG * hd;   // (MAXG, TILE)

    for (int i = tid; i < G * hd; i += TILE) qs[i] = p.q[((int64_t)t * p.n_head + (int64_t)hk * G) * hd + i];
    if (tid < MAXG) { m_s[tid] = -INFINITY; l_s[tid] = 0.f; }
    float o[MAXG][2];
#pragma unroll
    for (int g = 0; g < MAXG; g++) o[g][0] = o[g][1] = 0.f;
    __syncthreads();

    for (int j0 = j_begin; j0 < j_end; j0 += TILE) {
        const int nj = min(TILE, j_end - j0);
        // Scores: one key per thread, dot products in d order.
        if (tid < nj) {
            bool is_new;
            const int64_t off = kv_offset(p, t, j0 + tid, hk, is_new);
            const float* kp = (is_new ? p.k_new : p.k_cache) + off;
            float acc[MAXG];
#pragma unroll
            for (int g = 0; g < MAXG; g++) acc[g] = 0.f;
            if constexpr (VEC4) {
                for (int d = 0; d < hd; d += 4) {
                    const float4 kv = __ldg((const float4*)(kp + d));
#pragma unroll
                    for (int g = 0; g < MAXG; g++) {
                        if (g < G) {
                            const float* qg = qs + g * hd + d;
                            acc[g] = fmaf(qg[0], kv.x, acc[g]);
                            acc[g] = fmaf(qg[1], kv.y, acc[g]);
                            acc[g] = fmaf(qg[2], kv.z, acc[g]);
                            acc[g] = fmaf(qg[3], kv.w, acc[g]);
                        }
                    }
                }
            } else {
                for (int d = 0; d < hd; d++) {
                    const float kv = __ldg(kp + d);
#pragma unroll
                    for (int g = 0; g < MAXG; g++)
                        if (g < G) acc[g] = fmaf(qs[g * hd + d], kv, acc[g]);
                }
            }
#pragma unroll
            for (int g = 0; g < MAXG; g++)
                if (g < G) S[g * TILE + tid] = acc[g] * p.scale;
        }
        __syncthreads();
        // Online softmax bookkeeping per head: one warp per head.
        for (int g = warp; g < G; g += TILE / 32) {
            float mx = -INFINITY;
            for (int jj = lane; jj < nj; jj += 32) mx = fmaxf(mx, S[g * TILE + jj]);
            mx = warp_max(mx);
            const float m_old = m_s[g], m_new = fmaxf(m_old, mx);
            float sum = 0.f;
            for (int jj = lane; jj < nj; jj += 32) {
                const float e = expf(S[g * TILE + jj] - m_new);
                S[g * TILE + jj] = e;
                sum += e;
            }
            sum = warp_sum(sum);
            if (lane == 0) {
                const float a = expf(m_old - m_new);  // 0 on the first pass (m_old = -inf)
                alpha_s[g] = a;
                l_s[g] = l_s[g] * a + sum;
                m_s[g] = m_new;
            }
        }
        __syncthreads();
        // o = o * alpha + sum_j p_j v_j, one head dimension per thread, keys in order.
#pragma unroll
        for (int dd = 0; dd < 2; dd++) {
            const int d = tid + dd * TILE;
            if (d < hd) {
#pragma unroll
                for (int g = 0; g < MAXG; g++)
                    if (g < G) o[g][dd] *= alpha_s[g];
#pragma unroll 4
                for (int jj = 0; jj < nj; jj++) {
                    bool is_new;
                    const int64_t off = kv_offset(p, t, j0 + jj, hk, is_new);
                    const float v = __ldg((is_new ? p.v_new : p.v_cache) + off + d);
#pragma unroll
                    for (int g = 0; g < MAXG; g++)
                        if (g < G) o[g][dd] = fmaf(S[g * TILE + jj], v, o[g][dd]);
                }
            }
        }
        __syncthreads();  // S is overwritten by the next pass
    }

#pragma unroll
    for (int g = 0; g < MAXG; g++) {
        if (g >= G) break;
        const int64_t slot = ((int64_t)tq * p.n_head + (int64_t)hk * G + g) * MAX_CHUNKS + c;
#pragma unroll
        for (int dd = 0; dd < 2; dd++) {
            const int d = tid + dd * TILE;
            if (d < hd) p.part_o[slot * hd + d] = o[g][dd];
        }
        if (tid == 0) {
            p.part_ml[slot * 2] = m_s[g];
            p.part_ml[slot * 2 + 1] = l_s[g];
        }
    }
}

// Grid: (head, query in group); one thread per head dimension. Chunks merge in order.
__global__ void attn_combine(attn_params p, int t_base) {
    const int tq = blockIdx.y, t = t_base + tq, h = blockIdx.x, d = threadIdx.x;
    if (d >= p.hd) return;
    const int n_kv = n_kv_of(p, t), C = chunk_size(n_kv, p.warp_kernel), nc = (n_kv + C - 1) / C;
    const int64_t base = ((int64_t)tq * p.n_head + h) * MAX_CHUNKS;
    float M = -INFINITY;
    for (int c = 0; c < nc; c++) M = fmaxf(M, p.part_ml[(base + c) * 2]);
    float sum = 0.f, acc = 0.f;
    for (int c = 0; c < nc; c++) {
        const float f = expf(p.part_ml[(base + c) * 2] - M);
        sum = fmaf(p.part_ml[(base + c) * 2 + 1], f, sum);
        acc = fmaf(p.part_o[(base + c) * p.hd + d], f, acc);
    }
    p.out[((int64_t)t * p.n_head + h) * p.hd + d] = acc / sum;
}

template <int MAXG>
void launch_partial(const attn_params& p, bool vec4, dim3 grid, cudaStream_t s, int t_base) {
    const size_t smem = (size_t)MAXG * (p.hd + TILE) * sizeof(float);
    if (vec4) attn_partial<MAXG, true><<<grid, TILE, smem, s>>>(p, t_base);
    else attn_partial<MAXG, false><<<grid, TILE, smem, s>>>(p, t_base);
    CUDA_CHECK_LAUNCH();
}

}  // namespace

void attention_block_kernel_only(bool on) { g_block_kernel_only = on; }

size_t attention_scratch_floats(int T, int n_prefix, int n_head, int hd) {
    (void)n_prefix;
    const size_t gt = (size_t)(T < GROUP_T ? T : GROUP_T);
    return gt * n_head * MAX_CHUNKS * ((size_t)hd + 2);
}

void attention(const float* q, const float* k_new, const float* v_new, int T, const float* k_cache,
               const float* v_cache, int n_prefix, int n_head, int n_head_kv, int hd, bool diagonal, float* out,
               float* scratch, cudaStream_t s) {
    if (T <= 0) return;
    if (n_head_kv <= 0 || n_head % n_head_kv != 0) fail("attention: n_head must be a multiple of n_head_kv");
    const int G = n_head / n_head_kv;
    if (G > 16) fail("attention: " + std::to_string(G) + " query heads per KV head; the CUDA backend supports up to 16");
    if (hd <= 0 || hd > 2 * TILE) fail("attention: head_dim " + std::to_string(hd) + " (the CUDA backend supports up to 256)");
    attn_params p;
    p.q = q; p.k_new = k_new; p.v_new = v_new; p.k_cache = k_cache; p.v_cache = v_cache; p.out = out;
    p.part_o = scratch;
    p.part_ml = scratch + (size_t)(T < GROUP_T ? T : GROUP_T) * n_head * MAX_CHUNKS * hd;
    p.n_prefix = n_prefix; p.n_head = n_head; p.n_head_kv = n_head_kv; p.hd = hd; p.diagonal = diagonal;
    p.scale = 1.0f / sqrtf((float)hd);
    auto a16 = [](const void* ptr) { return ptr == nullptr || ((uintptr_t)ptr % 16) == 0; };
    const bool vec4 = hd % 4 == 0 && a16(k_new) && a16(v_new) && a16(k_cache) && a16(v_cache);
    p.warp_kernel = !g_block_kernel_only && vec4 && a16(q) && attn::warp_kernel_supports(G, hd);
    for (int tb = 0; tb < T; tb += GROUP_T) {
        const int gt = T - tb < GROUP_T ? T - tb : GROUP_T;
        const int n_kv_max = n_prefix + (diagonal ? 1 : tb + gt);
        // An upper bound on every query's chunk count (blocks past a query's own count return at once).
        const int min_chunk = chunk_size(1, p.warp_kernel);
        int chunks = (n_kv_max + min_chunk - 1) / min_chunk;
        const int max_chunks = p.warp_kernel ? 32 : MAX_CHUNKS;
        if (chunks > max_chunks) chunks = max_chunks;
        dim3 grid(chunks, n_head_kv, gt);
        if (p.warp_kernel) attn::launch_warp_partial(p, grid, s, tb);
        else if (G <= 1) launch_partial<1>(p, vec4, grid, s, tb);
        else if (G <= 2) launch_partial<2>(p, vec4, grid, s, tb);
        else if (G <= 4) launch_partial<4>(p, vec4, grid, s, tb);
        else if (G <= 8) launch_partial<8>(p, vec4, grid, s, tb);
        else launch_partial<16>(p, vec4, grid, s, tb);
        const int threads = (hd + 31) / 32 * 32;
        attn_combine<<<dim3(n_head, gt), threads, 0, s>>>(p, tb);
        CUDA_CHECK_LAUNCH();
    }
}

}  // namespace cuda
}  // namespace clasp
