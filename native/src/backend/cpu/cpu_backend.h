// The CPU backend: the thread pool plus the SIMD kernels picked for this processor.
#pragma once
#include "../host_memory.h"
#include "kernels.h"
#include "qact.h"
#include "thread_pool.h"
#include <memory>
#include <unordered_map>
#include <vector>

namespace clasp {

struct cpu_backend : host_backend {
    cpu_backend(int n_threads, const cpu_kernels& k);
    std::string name() const override { return "cpu"; }
    std::string device_info() const override;
    int threads() const { return pool_.size(); }
    const cpu_kernels& kernels() const { return k_; }

    // Packs the model's K-quant matrices for this level's tile kernels (qdot.h), once per matrix.
    void prepare(const llama_model& m) override;
    // Packs one matrix (a no-op where the level packs nothing). Its products then read the packed copy:
    // the same bits (qdot.h), from one stream of memory. Keyed by the data pointer, as prepare's. With
    // the model file that holds W, its pages are mapped in one go, and let go once copied.
    void pack(const weight& W, const mapped_file* file = nullptr);
    uint64_t weight_copy_bytes() const override;

    void embed(const weight& E, const int32_t* ids, int T, float* out) override;
    void matmul(const weight& W, const float* x, int T, float* y) override;
    void rmsnorm(const float* x, const float* w, int T, int n, float eps, float* out) override;
    void rope(float* x, int T, int n_head, int head_dim, const int32_t* pos, const float* inv_freq,
              bool interleaved) override;
    void attention(const float* q, const float* k_new, const float* v_new, int T, const void* k_cache,
                   const void* v_cache, kv_type kv, int n_prefix, int n_head, int n_head_kv, int hd, attn_mask mask,
                   float* out) override;
    void store_kv(void* cache, kv_type kv, size_t at, const float* src, size_t n) override;
    void silu_mul(float* g, const float* u, size_t n) override;
    void add(float* x, const float* y, size_t n) override;

    // Fused ops: one parallel region each.
    void matmul_n(int n, const weight* const* W, const float* x, int T, float* const* y) override;
    void matmul_add(const weight& W, const float* x, int T, float* tmp, float* y) override;
    void matmul_swiglu(const weight& w_gate, const weight& w_up, const float* x, int T, float* g, float* u) override;
    void qkv_rope_attention(const weight& wq, const weight& wk, const weight& wv, const float* xn, int T,
                            const int32_t* pos, const float* inv_freq, bool interleaved, const void* k_cache,
                            const void* v_cache, kv_type kv, int n_prefix, int n_head, int n_head_kv, int hd,
                            attn_mask mask, float* q, float* k, float* v, float* att) override;

private:
    // Row chunks of one or more products over the same tokens, run in one parallel region.
    struct mm_part {
        const weight* W;
        float* y;
        bool accum;
    };
    void run_matmuls(const mm_part* parts, int n_parts, const float* x, int T, bool swiglu = false);
    // Quantizes x (T tokens of n) for the integer kernels of these weights, once per format needed.
    void quantize_acts(const weight* const* W, int n_w, const float* x, int T);
    // Rows [r0, r1) of y = W x: the float kernels, or the integer ones on the activations quantize_acts made.
    void rows(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1, bool accum) const;
    // rope's tables for these positions; then rope_heads rotates heads [h0, h1) of every token
    void rope_tables(int T, const int32_t* pos, const float* inv_freq, int half);
    void rope_heads(float* x, int T, int n_head, int hd, int h0, int h1, bool interleaved) const;
    // The keys and values KV head hk's queries read, as float rows `stride` floats apart: the cached
    // prefix (k0, v0), then the T new tokens (k1, v1). F16 caches are widened into wide_[ith].
    struct head_kv {
        const float *k0, *v0, *k1, *v1;
        size_t stride;
    };
    head_kv head_view(int hk, const float* k_new, const float* v_new, const void* k_cache, const void* v_cache,
                      kv_type kv, int n_prefix, int T, int n_head_kv, int hd, int ith);
    // attention of token t's query heads that share KV head hk
    void attend_group(int t, int hk, const float* q, const head_kv& kvh, int n_prefix, int n_head, int n_head_kv,
                      int hd, attn_mask mask, float* out, int ith);

    // A packed matrix: its first `rows` rows (whole tiles); the rest are read where they lie.
    struct packed_weight {
        dtype type;
        int64_t n_in, n_out, rows;
        std::unique_ptr<page_buffer> data;
    };
    const packed_weight* packed_for(const weight& W) const;

    const cpu_kernels& k_;
    thread_pool pool_;
    std::unordered_map<const void*, packed_weight> packed_;
    std::vector<std::vector<float>> scratch_;  // per thread: attention scores
    std::vector<std::vector<float>> wide_;     // per thread: one KV head's keys and values widened from F16
    std::vector<uint8_t> act_[3];              // quantized activations per act_kind (qact.h)
    // rope's cos/sin for the positions of the last call (the same for Q and K of every layer)
    std::vector<int32_t> rope_pos_;
    std::vector<float> rope_freq_, rope_cs_, rope_sn_;
};

}  // namespace clasp
