// Per-op timings of one decode step (T = 1) at a model's shapes, for clasp-gpu-bench.
#pragma once
#include <cstdint>

struct op_shape {
    const char* model;
    int n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim, n_vocab;
};

// Times each op of a decode step on its own with CUDA events and prints one JSON line per op: every
// matrix product alone and as the fused launches the engine makes (Q|K|V, wo + add, gate|up + SwiGLU,
// down + add) as GB/s and as a share of the copy bandwidth (rotating weight copies so that L2 holds
// none of them), attention alone at 512 and 4096 keys (both kernels), rmsnorm, rope, add, silu and
// the KV-cache copies. Then the sum of the launches of a whole step against the measured step
// (decode_ms): the gap is launch and host overhead. Returns the sum in ms.
double bench_decode_ops(const op_shape& s, double copy_gb_s, double decode_ms, int context, bool quick);
