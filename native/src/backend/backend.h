// The op interface every backend implements: ref (the naive oracle), cpu (threads + SIMD) and cuda.
// Buffers are float32 arrays in the backend's own memory (host for ref/cpu, device for cuda);
// the transformer is written once against this interface.
#pragma once
#include "../model/llama_model.h"
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace clasp {

// The element type of the KV cache. F16 halves its memory; keys and values are rounded to F16 as
// they are stored, and attention reads every key and value (cached or new) at that precision, so a
// token's result does not depend on whether its neighbours were cached or in the same batch.
enum class kv_type { f32, f16 };
inline const char* kv_type_name(kv_type t) { return t == kv_type::f16 ? "f16" : "f32"; }
inline size_t kv_type_bytes(kv_type t) { return t == kv_type::f16 ? 2 : 4; }
// "f32" | "f16"; anything else throws a one-line error naming `what` (the option as the caller spells it).
kv_type kv_type_parse(const std::string& s, const std::string& what);

enum class attn_mask {
    causal,    // new token t sees the prefix and new tokens 0..t (prefill, decode, verify, draft)
    diagonal,  // new token t sees the prefix and itself only (the CLaSp DP's candidate batch)
};

struct backend {
    virtual ~backend() = default;
    virtual std::string name() const = 0;
    virtual std::string device_info() const { return name(); }

    // Memory. Buffers hold float32; the contents of a new buffer are unspecified.
    virtual float* alloc(size_t n_floats) = 0;
    virtual void free(float* p) = 0;
    virtual void upload(float* dst, const float* host, size_t n) = 0;
    virtual void download(float* host, const float* src, size_t n) = 0;
    virtual void copy(float* dst, const float* src, size_t n) = 0;
    // Makes a model's weights usable (a no-op on the host; an upload on a GPU).
    virtual void prepare(const llama_model& m) { (void)m; }
    // Bytes of host memory held for weights beyond the model's files (the CPU's packed copies).
    virtual uint64_t weight_copy_bytes() const { return 0; }

    // out[t, :] = E[ids[t], :]                             out: (T, n_embd)
    virtual void embed(const weight& E, const int32_t* ids, int T, float* out) = 0;
    // y[t, o] = sum_i W[o, i] * x[t, i]                    x: (T, n_in), y: (T, n_out)
    virtual void matmul(const weight& W, const float* x, int T, float* y) = 0;
    // out[t, :] = x[t, :] / rms(x[t, :]) * w               x, out: (T, n); w: (n), a buffer
    virtual void rmsnorm(const float* x, const float* w, int T, int n, float eps, float* out) = 0;
    // Rotates each head of x in place.                     x: (T, n_head, head_dim); pos: host (T)
    // inv_freq is a buffer (head_dim/2). interleaved: pairs (2i, 2i+1), else (i, i + head_dim/2).
    virtual void rope(float* x, int T, int n_head, int head_dim, const int32_t* pos, const float* inv_freq,
                      bool interleaved) = 0;
    // Attention of T new queries over a cached prefix plus the T new keys/values.
    //   q: (T, n_head, hd)   k_new, v_new: (T, n_head_kv, hd)
    //   k_cache, v_cache: (n_ctx, n_head_kv, hd) of one layer in type kv, of which [0, n_prefix) is read.
    //   With kv f16 the new keys and values are used rounded to F16, as the cache will hold them.
    //   out: (T, n_head, hd)
    virtual void attention(const float* q, const float* k_new, const float* v_new, int T, const void* k_cache,
                           const void* v_cache, kv_type kv, int n_prefix, int n_head, int n_head_kv, int hd,
                           attn_mask mask, float* out) = 0;
    // Stores n floats of src at element `at` of a cache buffer of type kv (rounded to nearest even in F16).
    // A backend that cannot hold an F16 cache throws (engine options are checked before, see supports_kv).
    virtual void store_kv(void* cache, kv_type kv, size_t at, const float* src, size_t n) = 0;
    virtual bool supports_kv(kv_type kv) const { (void)kv; return true; }
    // g[i] = silu(g[i]) * u[i]
    virtual void silu_mul(float* g, const float* u, size_t n) = 0;
    // x[i] += y[i]
    virtual void add(float* x, const float* y, size_t n) = 0;
    // Waits for queued work (GPU backends run asynchronously).
    virtual void sync() {}

    // ---- Optional fused ops. The defaults are the plain ops above; a backend overrides them to save
    // passes over memory or synchronizations. Overrides give the same results as the defaults.
    // y[i] = W[i] x for i < n: several products of one input (e.g. Q, K and V).
    virtual void matmul_n(int n, const weight* const* W, const float* x, int T, float* const* y) {
        for (int i = 0; i < n; i++) matmul(*W[i], x, T, y[i]);
    }
    // y += W x (e.g. an output projection into the residual stream). tmp: scratch (T, W.n_out).
    virtual void matmul_add(const weight& W, const float* x, int T, float* tmp, float* y) {
        matmul(W, x, T, tmp);
        add(y, tmp, (size_t)T * W.n_out);
    }
    // The attention half of a layer up to the output projection: q, k, v = wq xn, wk xn, wv xn; rope
    // on q and k at positions pos; then attention (as attention() above) over the cached prefix and
    // the new k, v. Outputs: q (T, n_head, hd), k and v (T, n_head_kv, hd: the caller stores them in
    // the cache) and att (T, n_head, hd).
    virtual void qkv_rope_attention(const weight& wq, const weight& wk, const weight& wv, const float* xn, int T,
                                    const int32_t* pos, const float* inv_freq, bool interleaved, const void* k_cache,
                                    const void* v_cache, kv_type kv, int n_prefix, int n_head, int n_head_kv, int hd,
                                    attn_mask mask, float* q, float* k, float* v, float* att) {
        const weight* W[3] = {&wq, &wk, &wv};
        float* const Y[3] = {q, k, v};
        matmul_n(3, W, xn, T, Y);
        rope(q, T, n_head, hd, pos, inv_freq, interleaved);
        rope(k, T, n_head_kv, hd, pos, inv_freq, interleaved);
        attention(q, k, v, T, k_cache, v_cache, kv, n_prefix, n_head, n_head_kv, hd, mask, att);
    }
    // g = silu(w_gate x) * (w_up x), the SwiGLU input of the down projection. u: scratch (T, n_ff).
    //   x: (T, n_embd)   g, u: (T, n_ff)
    virtual void matmul_swiglu(const weight& w_gate, const weight& w_up, const float* x, int T, float* g, float* u) {
        matmul(w_gate, x, T, g);
        matmul(w_up, x, T, u);
        silu_mul(g, u, (size_t)T * w_gate.n_out);
    }
};

// backend_create("ref" | "cpu" | "cuda", threads). Throws engine_error with the reason if unavailable.
std::unique_ptr<backend> backend_create(const std::string& kind, int n_threads);
// Whether a CUDA device is usable; when not, reason says why (no build support, no device, driver).
bool cuda_available(std::string& reason);

}  // namespace clasp
