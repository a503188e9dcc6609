// What the two split-K attention kernels share (attention.cu: the block-per-chunk kernel that scores
// one key per thread; attention_warp.cu: warps over keys, lanes over the head dimension): the
// parameters, the logical key sequence of a query, the chunking and the scratch layout the combine
// kernel (attention.cu) merges.
//
// Batch invariance: a query's keys are one logical sequence j = 0 .. n_kv-1 (prefix, then the new
// keys it may see), and the chunk size is a function of n_kv alone (and of which kernel runs, which
// depends on the shape only). So a token decoded alone at position p and the same token verified inside
// a batch go through exactly the same arithmetic. Queries are independent of each other.
#pragma once
#include "cuda_common.cuh"

namespace clasp {
namespace cuda {
namespace attn {

constexpr int MAX_CHUNKS = 64;  // chunks per query at most (the scratch holds this many)
constexpr int GROUP_T = 32;     // queries per launch
constexpr int TILE = 128;       // block kernel: keys scored per pass; also its threads per block

struct params {
    const float *q, *k_new, *v_new, *k_cache, *v_cache;
    float* out;
    float* part_o;   // (GROUP_T, n_head, MAX_CHUNKS, hd) unnormalized sums of p * v
    float* part_ml;  // (GROUP_T, n_head, MAX_CHUNKS, 2) running max and sum of p
    int n_prefix, n_head, n_head_kv, hd;
    bool diagonal;
    bool warp_kernel;  // which kernel (and so which chunking) this launch uses
    float scale;
};

// Keys per chunk for a query with n_kv keys. The block kernel: 128 keys, growing to keep at most 64
// chunks. The warp kernel: small chunks at short contexts (16 keys, one step of its 4 warps) growing
// to keep at most 32 chunks, so that a decode step has enough blocks for every SM at any context.
__host__ __device__ inline int chunk_size(int n_kv, bool warp_kernel) {
    int c = warp_kernel ? 16 : TILE;
    const int max_chunks = warp_kernel ? 32 : MAX_CHUNKS;
    while ((int64_t)c * max_chunks < n_kv) c *= 2;
    return c;
}

__device__ __forceinline__ int n_kv_of(const params& p, int t) { return p.n_prefix + (p.diagonal ? 1 : t + 1); }

// Offset of logical key j of query t, for KV head hk, in k_new/v_new (is_new) or the cache.
__device__ __forceinline__ int64_t kv_offset(const params& p, int t, int j, int hk, bool& is_new) {
    const int64_t stride = (int64_t)p.n_head_kv * p.hd;
    is_new = j >= p.n_prefix;
    const int64_t row = is_new ? (p.diagonal ? t : j - p.n_prefix) : j;
    return row * stride + (int64_t)hk * p.hd;
}

// The warp kernel handles G = n_head / n_head_kv in {1, 2, 4, 8} and head_dim in {64, 128, 256} with
// 16-byte aligned K/V; attention.cu falls back to the block kernel otherwise.
bool warp_kernel_supports(int G, int hd);
void launch_warp_partial(const params& p, dim3 grid, cudaStream_t s, int t_base);

}  // namespace attn
}  // namespace cuda
}  // namespace clasp
