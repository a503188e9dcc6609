// The CUDA backend: buffers in device memory, the model's weights uploaded once by prepare(), every op
// queued on one stream. Only download() and sync() wait for the GPU. (Whether CUDA can be used at
// all: cuda_probe.cu.)
#include "../backend.h"
#include "cuda_common.cuh"
#include <cstdio>
#include <cstdlib>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace clasp {
namespace {

using cuda::dev_weight;

std::string fmt_bytes(uint64_t b) {
    char buf[64];
    if (b >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / (double)(1ull << 30));
    else std::snprintf(buf, sizeof buf, "%.1f MiB", b / (double)(1ull << 20));
    return buf;
}

// The weight types the kernels read; any other (a newer quantization) is refused by name, never run.
void check_type(const weight& w, const std::string& where) {
    if (w.type != dtype::F32 && w.type != dtype::F16 && w.type != dtype::BF16 && w.type != dtype::Q8_0)
        fail(where + w.name + " is " + dtype_name(w.type) +
             "; the CUDA backend reads F32, F16, BF16 and Q8_0 weights (use the cpu backend for this file)");
}

// Device memory a weight takes once uploaded (Q8_0 is repacked: int8 quants + fp16 scales).
uint64_t device_bytes(const weight& w) {
    if (w.type == dtype::Q8_0) return (uint64_t)w.n_out * w.n_in + (uint64_t)w.n_out * (w.n_in / QK8_0) * 2;
    return w.nbytes();
}

struct scratch_buf {
    void* p = nullptr;
    size_t bytes = 0;
};

struct cuda_backend final : backend {
    explicit cuda_backend(int dev);
    ~cuda_backend() override;

    std::string name() const override { return "cuda"; }
    std::string device_info() const override;

    float* alloc(size_t n) override { return (float*)dev_alloc(n * sizeof(float), "a buffer"); }
    void free(float* p) override {
        if (p) cudaFree(p);  // synchronizes: queued work that still reads p finishes first
    }
    void upload(float* dst, const float* host, size_t n) override {
        // From pageable memory the runtime stages the data before returning, so `host` may be reused.
        if (n) CUDA_CHECK(cudaMemcpyAsync(dst, host, n * sizeof(float), cudaMemcpyHostToDevice, s_));
    }
    void download(float* host, const float* src, size_t n) override {
        if (n) CUDA_CHECK(cudaMemcpyAsync(host, src, n * sizeof(float), cudaMemcpyDeviceToHost, s_));
        CUDA_CHECK(cudaStreamSynchronize(s_));
    }
    void copy(float* dst, const float* src, size_t n) override {
        if (n && dst != src) CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, s_));
    }
    // The attention kernels read a float32 cache only: an F16 cache is refused when the engine is made.
    bool supports_kv(kv_type kv) const override { return kv == kv_type::f32; }
    void store_kv(void* cache, kv_type kv, size_t at, const float* src, size_t n) override {
        if (kv != kv_type::f32) fail("the CUDA backend has no F16 KV cache (use --kv f32)");
        copy((float*)cache + at, src, n);
    }
    void prepare(const llama_model& m) override;

    void embed(const weight& E, const int32_t* ids, int T, float* out) override;
    void matmul(const weight& W, const float* x, int T, float* y) override;
    void rmsnorm(const float* x, const float* w, int T, int n, float eps, float* out) override {
        cuda::rmsnorm(x, w, T, n, eps, out, s_);
    }
    void rope(float* x, int T, int n_head, int head_dim, const int32_t* pos, const float* inv_freq,
              bool interleaved) override;
    void attention(const float* q, const float* k_new, const float* v_new, int T, const void* k_cache,
                   const void* v_cache, kv_type kv, int n_prefix, int n_head, int n_head_kv, int hd, attn_mask mask,
                   float* out) override;
    void silu_mul(float* g, const float* u, size_t n) override { cuda::silu_mul(g, u, n, s_); }
    void add(float* x, const float* y, size_t n) override { cuda::add(x, y, n, s_); }
    void sync() override { CUDA_CHECK(cudaStreamSynchronize(s_)); }

    // The fused hooks: one launch where the defaults take two or three, with the same bits. They
    // serve the skinny kernel's batches (decode, verify, DP) of prepared weights; anything else, or
    // CLASP_CUDA_FUSED=0 in the environment, takes the defaults.
    void matmul_n(int n, const weight* const* W, const float* x, int T, float* const* y) override;
    void matmul_add(const weight& W, const float* x, int T, float* tmp, float* y) override;
    void matmul_swiglu(const weight& w_gate, const weight& w_up, const float* x, int T, float* g, float* u) override;
    void qkv_rope_attention(const weight& wq, const weight& wk, const weight& wv, const float* xn, int T,
                            const int32_t* pos, const float* inv_freq, bool interleaved, const void* k_cache,
                            const void* v_cache, kv_type kv, int n_prefix, int n_head, int n_head_kv, int hd,
                            attn_mask mask, float* q, float* k, float* v, float* att) override;

private:
    struct entry {
        dev_weight w;
        void* mem[2] = {nullptr, nullptr};
    };
    int dev_ = 0;
    cudaStream_t s_ = nullptr;
    std::string gpu_name_;
    int cc_major_ = 0, cc_minor_ = 0;
    bool fused_ = true;
    std::unordered_map<const void*, entry> weights_;  // host data pointer -> device copy
    scratch_buf ids_, pos_, att_, raw_, tmp_q_, tmp_s_;

    void* dev_alloc(size_t bytes, const std::string& what);
    void* grow(scratch_buf& b, size_t bytes, const char* what);
    // Copies a host weight into (q, s) device memory, repacking Q8_0 through the raw staging buffer.
    dev_weight upload_weight(const weight& W, void* mem, void* scales);
    // The prepared device copy of W, or a temporary upload for weights prepare() never saw (op tests).
    dev_weight resolve(const weight& W);
    // Device copies of n prepared weights for one fused launch of T tokens on x; false when a weight
    // was never prepared or the launch would not be the skinny tensor-core kernel matmul() takes.
    bool fusable(const weight* const* W, int n, const float* x, int T, dev_weight* d) const;
    // Positions as rope kernels take them: pos0 + t * step, or an uploaded array (pos_dev).
    void positions(const int32_t* pos, int T, const int32_t*& pos_dev, int& step);
};

cuda_backend::cuda_backend(int dev) : dev_(dev) {
    CUDA_CHECK(cudaSetDevice(dev_));
    cudaDeviceProp prop;
    CUDA_CHECK(cudaGetDeviceProperties(&prop, dev_));
    gpu_name_ = prop.name;
    cc_major_ = prop.major;
    cc_minor_ = prop.minor;
    CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking));
    const char* f = std::getenv("CLASP_CUDA_FUSED");
    fused_ = !(f && std::string(f) == "0");
}

cuda_backend::~cuda_backend() {
    // No throwing here: errors at teardown (a dead context) are ignored.
    if (s_) cudaStreamSynchronize(s_);
    for (auto& kv : weights_)
        for (void* p : kv.second.mem)
            if (p) cudaFree(p);
    for (scratch_buf* b : {&ids_, &pos_, &att_, &raw_, &tmp_q_, &tmp_s_})
        if (b->p) cudaFree(b->p);
    if (s_) cudaStreamDestroy(s_);
}

std::string cuda_backend::device_info() const {
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    int rt = 0, drv = 0;
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv);
    return "cuda (" + gpu_name_ + ", sm_" + std::to_string(cc_major_) + std::to_string(cc_minor_) + ", " +
           fmt_bytes(free_b) + " free of " + fmt_bytes(total_b) + ", runtime " + cuda::cuda_version(rt) + ", driver " +
           cuda::cuda_version(drv) + ")";
}

void* cuda_backend::dev_alloc(size_t bytes, const std::string& what) {
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();  // an allocation failure does not poison the context; clear it
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        fail("CUDA out of memory on " + gpu_name_ + " allocating " + what + ": needed " + fmt_bytes(bytes) + ", " +
             fmt_bytes(free_b) + " free of " + fmt_bytes(total_b));
    }
    CUDA_CHECK(e);
    return p;
}

void* cuda_backend::grow(scratch_buf& b, size_t bytes, const char* what) {
    if (bytes <= b.bytes) return b.p;
    if (b.p) {
        CUDA_CHECK(cudaStreamSynchronize(s_));  // queued work may still use the old buffer
        cudaFree(b.p);
        b.p = nullptr;
        b.bytes = 0;
    }
    b.p = dev_alloc(bytes, what);
    b.bytes = bytes;
    return b.p;
}

dev_weight cuda_backend::upload_weight(const weight& W, void* mem, void* scales) {
    dev_weight d;
    d.type = W.type;
    d.n_in = W.n_in;
    d.n_out = W.n_out;
    d.data = mem;
    if (W.type == dtype::Q8_0) {
        void* raw = grow(raw_, W.nbytes(), "the Q8_0 upload staging buffer");
        CUDA_CHECK(cudaMemcpyAsync(raw, W.data, W.nbytes(), cudaMemcpyHostToDevice, s_));
        cuda::repack_q8_0(raw, W.n_out, W.n_in, (int8_t*)mem, (__half*)scales, s_);
        d.scales = (const __half*)scales;
    } else {
        CUDA_CHECK(cudaMemcpyAsync(mem, W.data, W.nbytes(), cudaMemcpyHostToDevice, s_));
    }
    return d;
}

void cuda_backend::prepare(const llama_model& m) {
    std::vector<const weight*> all = {&m.tok_embd, &m.output};
    for (const auto& lw : m.layers)
        for (const weight* w : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w_gate, &lw.w_up, &lw.w_down}) all.push_back(w);
    // Tied embeddings share their data pointer and are uploaded once.
    std::vector<const weight*> todo;
    std::unordered_set<const void*> seen;
    uint64_t need = 0;
    for (const weight* w : all) {
        if (!w->data || !seen.insert(w->data).second) continue;
        auto it = weights_.find(w->data);
        if (it != weights_.end() && it->second.w.type == w->type && it->second.w.n_in == w->n_in &&
            it->second.w.n_out == w->n_out)
            continue;
        check_type(*w, m.path + ": ");
        if (w->type == dtype::Q8_0 && w->n_in % QK8_0)
            fail(m.path + ": " + w->name + " is Q8_0 with rows that are not a multiple of 32");
        todo.push_back(w);
        need += device_bytes(*w);
    }
    size_t free_b = 0, total_b = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    if (need > free_b)
        fail(m.path + ": the weights need " + fmt_bytes(need) + " of GPU memory, but only " + fmt_bytes(free_b) +
             " of " + fmt_bytes(total_b) + " are free on " + gpu_name_ + " (the KV cache needs more on top)");
    for (const weight* w : todo) {
        entry e;
        if (w->type == dtype::Q8_0) {
            e.mem[0] = dev_alloc((size_t)w->n_out * w->n_in, "weight " + w->name);
            e.mem[1] = dev_alloc((size_t)w->n_out * (w->n_in / QK8_0) * 2, "weight " + w->name + " (scales)");
        } else {
            e.mem[0] = dev_alloc(w->nbytes(), "weight " + w->name);
        }
        e.w = upload_weight(*w, e.mem[0], e.mem[1]);
        auto old = weights_.find(w->data);
        if (old != weights_.end()) {
            CUDA_CHECK(cudaStreamSynchronize(s_));
            for (void* p : old->second.mem)
                if (p) cudaFree(p);
            weights_.erase(old);
        }
        weights_.emplace(w->data, e);
    }
    CUDA_CHECK(cudaStreamSynchronize(s_));
    // The staging buffer is only needed while uploading.
    if (raw_.p) {
        cudaFree(raw_.p);
        raw_ = scratch_buf();
    }
}

dev_weight cuda_backend::resolve(const weight& W) {
    auto it = weights_.find(W.data);
    if (it != weights_.end() && it->second.w.type == W.type && it->second.w.n_in == W.n_in &&
        it->second.w.n_out == W.n_out)
        return it->second.w;
    check_type(W, "");
    if (W.type == dtype::Q8_0 && W.n_in % QK8_0) fail(W.name + ": Q8_0 rows must be a multiple of 32");
    // Not prepared: a temporary copy for this call only. The host memory may be freed and reused
    // after the call, so nothing is cached by its address.
    void* q = grow(tmp_q_, W.type == dtype::Q8_0 ? (size_t)W.n_out * W.n_in : W.nbytes(), "a temporary weight");
    void* s = W.type == dtype::Q8_0 ? grow(tmp_s_, (size_t)W.n_out * (W.n_in / QK8_0) * 2, "temporary scales") : nullptr;
    CUDA_CHECK(cudaStreamSynchronize(s_));  // the previous temporary weight may still be in use
    return upload_weight(W, q, s);
}

void cuda_backend::embed(const weight& E, const int32_t* ids, int T, float* out) {
    if (T <= 0) return;
    for (int t = 0; t < T; t++)
        if (ids[t] < 0 || ids[t] >= E.n_out)
            fail("token id " + std::to_string(ids[t]) + " is outside the embedding table (0 to " +
                 std::to_string(E.n_out - 1) + ")");
    dev_weight d = resolve(E);
    int32_t* ids_dev = (int32_t*)grow(ids_, (size_t)T * sizeof(int32_t), "token ids");
    CUDA_CHECK(cudaMemcpyAsync(ids_dev, ids, (size_t)T * sizeof(int32_t), cudaMemcpyHostToDevice, s_));
    cuda::embed(d, ids_dev, T, out, s_);
}

void cuda_backend::matmul(const weight& W, const float* x, int T, float* y) {
    if (T <= 0) return;
    dev_weight d = resolve(W);
    // Decode, verify (up to max_draft 64 + 1 tokens) and DP batches all take the batch-invariant
    // kernel; only longer runs (prefill chunks) take the GEMM.
    if (T > cuda::SKINNY_MAX_T && cuda::gemm_prefill_supported(d) && ((uintptr_t)x % 16) == 0)
        cuda::gemm_prefill(d, x, T, y, s_);
    else cuda::matmul_skinny(d, x, T, y, s_);
}

void cuda_backend::positions(const int32_t* pos, int T, const int32_t*& pos_dev, int& step) {
    // Positions are almost always n_past + t (forward) or all equal (DP candidates): pass them as two
    // numbers instead of uploading an array.
    step = T > 1 ? pos[1] - pos[0] : 0;
    bool affine = true;
    for (int t = 0; t < T && affine; t++) affine = pos[t] == pos[0] + t * step;
    pos_dev = nullptr;
    if (!affine) {
        int32_t* p = (int32_t*)grow(pos_, (size_t)T * sizeof(int32_t), "positions");
        CUDA_CHECK(cudaMemcpyAsync(p, pos, (size_t)T * sizeof(int32_t), cudaMemcpyHostToDevice, s_));
        pos_dev = p;
    }
}

void cuda_backend::rope(float* x, int T, int n_head, int head_dim, const int32_t* pos, const float* inv_freq,
                        bool interleaved) {
    if (T <= 0) return;
    const int32_t* pos_dev;
    int step;
    positions(pos, T, pos_dev, step);
    cuda::rope(x, T, n_head, head_dim, pos_dev, pos[0], step, inv_freq, interleaved, s_);
}

bool cuda_backend::fusable(const weight* const* W, int n, const float* x, int T, dev_weight* d) const {
    if (!fused_ || T > cuda::SKINNY_MAX_T) return false;
    for (int i = 0; i < n; i++) {
        auto it = weights_.find(W[i]->data);
        if (it == weights_.end() || it->second.w.type != W[i]->type || it->second.w.n_in != W[i]->n_in ||
            it->second.w.n_out != W[i]->n_out)
            return false;
        d[i] = it->second.w;
        if (!cuda::skinny_uses_tensor_cores(d[i], x) || d[i].type != d[0].type || d[i].n_in != d[0].n_in) return false;
    }
    return true;
}

void cuda_backend::matmul_n(int n, const weight* const* W, const float* x, int T, float* const* y) {
    dev_weight d[3];
    if (T > 0 && n >= 1 && n <= 3 && fusable(W, n, x, T, d)) cuda::matmul_skinny_n(n, d, x, T, y, s_);
    else backend::matmul_n(n, W, x, T, y);
}

void cuda_backend::matmul_add(const weight& W, const float* x, int T, float* tmp, float* y) {
    const weight* Ws[1] = {&W};
    dev_weight d[1];
    if (T > 0 && fusable(Ws, 1, x, T, d)) cuda::matmul_skinny_add(d[0], x, T, y, s_);
    else backend::matmul_add(W, x, T, tmp, y);
}

void cuda_backend::matmul_swiglu(const weight& w_gate, const weight& w_up, const float* x, int T, float* g, float* u) {
    const weight* Ws[2] = {&w_gate, &w_up};
    dev_weight d[2];
    if (T > 0 && w_gate.n_out == w_up.n_out && fusable(Ws, 2, x, T, d)) cuda::matmul_skinny_swiglu(d[0], d[1], x, T, g, s_);
    else backend::matmul_swiglu(w_gate, w_up, x, T, g, u);
}

void cuda_backend::qkv_rope_attention(const weight& wq, const weight& wk, const weight& wv, const float* xn, int T,
                                      const int32_t* pos, const float* inv_freq, bool interleaved,
                                      const void* k_cache, const void* v_cache, kv_type kv, int n_prefix,
                                      int n_head, int n_head_kv, int hd, attn_mask mask, float* q, float* k,
                                      float* v, float* att) {
    if (!fused_ || T <= 0) {
        backend::qkv_rope_attention(wq, wk, wv, xn, T, pos, inv_freq, interleaved, k_cache, v_cache, kv, n_prefix,
                                    n_head, n_head_kv, hd, mask, q, k, v, att);
        return;
    }
    const weight* W[3] = {&wq, &wk, &wv};
    float* const Y[3] = {q, k, v};
    matmul_n(3, W, xn, T, Y);
    const int32_t* pos_dev;
    int step;
    positions(pos, T, pos_dev, step);
    cuda::rope_qk(q, n_head, k, n_head_kv, T, hd, pos_dev, pos[0], step, inv_freq, interleaved, s_);
    attention(q, k, v, T, k_cache, v_cache, kv, n_prefix, n_head, n_head_kv, hd, mask, att);
}

void cuda_backend::attention(const float* q, const float* k_new, const float* v_new, int T, const void* k_cache,
                             const void* v_cache, kv_type kv, int n_prefix, int n_head, int n_head_kv, int hd,
                             attn_mask mask, float* out) {
    if (T <= 0) return;
    if (kv != kv_type::f32) fail("the CUDA backend has no F16 KV cache (use --kv f32)");
    // The DP compares each candidate state run in a batch with the same state alone; that holds only
    // while every matmul of the batch takes the batch-invariant skinny kernel (a model of 80 layers
    // or more can ask for more candidates than that).
    if (mask == attn_mask::diagonal && T > cuda::SKINNY_MAX_T)
        fail("the CLaSp DP's batch of " + std::to_string(T) + " candidate states exceeds the CUDA backend's " +
             "batch-invariant limit of " + std::to_string(cuda::SKINNY_MAX_T) + " tokens per matmul");
    float* scratch = (float*)grow(att_, cuda::attention_scratch_floats(T, n_prefix, n_head, hd) * sizeof(float),
                                  "attention scratch");
    cuda::attention(q, k_new, v_new, T, (const float*)k_cache, (const float*)v_cache, n_prefix, n_head, n_head_kv, hd,
                    mask == attn_mask::diagonal, out, scratch, s_);
}

}  // namespace

std::unique_ptr<backend> cuda_backend_create(std::string& reason) {
    try {
        return std::make_unique<cuda_backend>(0);
    } catch (const engine_error& e) {
        reason = e.what();
        return nullptr;
    }
}

}  // namespace clasp
