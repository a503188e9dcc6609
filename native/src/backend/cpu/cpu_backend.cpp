#include "cpu_backend.h"
#include "kv_f16.h"
#include "../../core/mapped_file.h"
#include <algorithm>
#include <cmath>

namespace clasp {

cpu_backend::cpu_backend(int n_threads, const cpu_kernels& k) : k_(k), pool_(n_threads), scratch_(pool_.size()), wide_(pool_.size()) {}

std::string cpu_backend::device_info() const {
    return "cpu (" + std::to_string(pool_.size()) + " threads, " + k_.level + " kernels)";
}

void cpu_backend::embed(const weight& E, const int32_t* ids, int T, float* out) {
    for (int t = 0; t < T; t++) dequantize_row(E.type, E.row(ids[t]), out + (size_t)t * E.n_in, E.n_in);
}

// Q8_0 weights keep float activations at the AVX-512 and portable levels (the float kernel reads
// them as d * q): on the demo model the integer path halved prefill and cut decode by a third with
// AVX-512 (docs/PERF.md), and float activations are exact to the dequantized weights. The 256-bit
// levels take the integer path for Q8_0 (cpu_kernels::q8_0_integer), as every level does for the
// other quantized types (qdot.h).
// The fewest tokens for which Q8_0's tile kernel (on the file's rows) beats its one-row kernel, which
// takes a whole 32-element block per instruction (docs/PERF.md). The packed K-quants take their tile
// kernels for any number of tokens.
constexpr int qgemm_min_tokens_q8_0 = 8;

static bool integer_path(dtype t, const cpu_kernels& k) {
    return (t != dtype::Q8_0 || k.q8_0_integer) && k.qdot[(int)t] != nullptr;
}

void cpu_backend::quantize_acts(const weight* const* W, int n_w, const float* x, int T) {
    bool done[3] = {false, false, false};
    for (int i = 0; i < n_w; i++) {
        const act_kind k = act_for(W[i]->type);
        if (k == act_kind::f32 || !integer_path(W[i]->type, k_) || done[(int)k]) continue;
        done[(int)k] = true;
        const int64_t n = W[i]->n_in;
        const size_t stride = act_row_bytes(k, n);
        auto& buf = act_[(int)k];
        if (buf.size() < stride * T) buf.resize(stride * T);
        uint8_t* out = buf.data();
        if (T == 1) quantize_act(k, x, n, out);
        else pool_.parallel_for(T, [&](int t, int) { quantize_act(k, x + (size_t)t * n, n, out + stride * t); });
    }
}

void cpu_backend::prepare(const llama_model& m) {
    std::vector<const weight*> all = {&m.output};
    for (const auto& lw : m.layers)
        for (const weight* w : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w_gate, &lw.w_up, &lw.w_down}) all.push_back(w);
    for (const weight* w : all) {
        const mapped_file* file = nullptr;
        for (const auto& f : m.files)
            if (f->contains(w->data, w->nbytes())) file = f.get();
        pack(*w, file);
    }
}

void cpu_backend::pack(const weight& W, const mapped_file* file) {
    const qpack_fn fn = k_.qgemm && integer_path(W.type, k_) ? k_.qgemm->pack[(int)W.type] : nullptr;
    const int tr = k_.qgemm ? k_.qgemm->tile_rows : 0;
    if (!fn || !W.data || W.n_out < tr || W.n_in % block_elems(W.type) || packed_for(W)) return;
    packed_weight P;
    P.type = W.type, P.n_in = W.n_in, P.n_out = W.n_out, P.rows = W.n_out / tr * tr;
    const size_t rb = row_bytes(W.type, W.n_in), prb = packed_row_bytes(W.type, W.n_in);
    P.data = std::make_unique<page_buffer>(prb * P.rows);
    const int64_t n_tiles = P.rows / tr;
    const int n_chunks = (int)std::min<int64_t>(n_tiles, 8 * pool_.size());
    if (file) file->populate(W.data, rb * P.rows);
    pool_.parallel_for(n_chunks, [&](int c, int) {
        const int64_t a = n_tiles * c / n_chunks * tr, b = n_tiles * (c + 1) / n_chunks * tr;
        fn(W.row(a), rb, (int)(b - a), W.n_in, P.data->data + prb * a);
    });
    // The products read only the copy now (embed reads tied weights where they lie, mapped again).
    if (file) file->release(W.data, rb * P.rows);
    packed_.erase(W.data);
    packed_.emplace(W.data, std::move(P));
}

const cpu_backend::packed_weight* cpu_backend::packed_for(const weight& W) const {
    auto it = packed_.find(W.data);
    if (it == packed_.end() || it->second.type != W.type || it->second.n_in != W.n_in || it->second.n_out != W.n_out)
        return nullptr;
    return &it->second;
}

uint64_t cpu_backend::weight_copy_bytes() const {
    uint64_t n = 0;
    for (const auto& [data, P] : packed_) n += packed_row_bytes(P.type, P.n_in) * (uint64_t)P.rows;
    return n;
}

void cpu_backend::rows(const weight& W, const float* x, int T, float* y, int64_t r0, int64_t r1, bool accum) const {
    if (!integer_path(W.type, k_)) return k_.matmul_rows(W, x, T, y, r0, r1, accum);
    const qdot_fn dot = k_.qdot[(int)W.type];
    const act_kind k = act_for(W.type);
    const size_t stride = act_row_bytes(k, W.n_in);
    const uint8_t* xq = act_[(int)k].data();
    // The rows are one stream from memory, read a row at a time: ask for the bytes 4 KB ahead of each
    // row as it is reached. The small matrices of the demo model are many short streams that the
    // hardware prefetcher barely ramps up on: its Q8_0 decode at the AVX2 level (Zen 3) went from
    // 102-124 to 162-196 tok/s on one thread (docs/PERF.md); 16 KB ahead gained nothing.
    const size_t rb = row_bytes(W.type, W.n_in), ahead = 4096;
    const char* end = (const char*)W.row(r1);
    // Row by row, up to 4 tokens at a time (the weights are unpacked once for them): the row stays in
    // L1 while the tokens' activations come from L2.
    auto dots = [&](int64_t a, int64_t b) {
        float out[qdot_max_tokens];
        for (int64_t r = a; r < b; r++) {
            const uint8_t* row = W.row(r);
            for (const char* p = (const char*)row + ahead; p < (const char*)row + ahead + rb && p < end; p += 64)
                __builtin_prefetch(p);
            for (int t0 = 0; t0 < T; t0 += qdot_max_tokens) {
                const int nt = std::min(qdot_max_tokens, T - t0);
                dot(row, xq + stride * t0, stride, nt, W.n_in, out);
                for (int t = 0; t < nt; t++) {
                    float& yo = y[(size_t)(t0 + t) * W.n_out + r];
                    yo = accum ? yo + out[t] : out[t];
                }
            }
        }
    };
    const qgemm_fn gemm = k_.qgemm ? k_.qgemm->gemm[(int)W.type] : nullptr;
    // Packed matrices: the tile kernels for any number of tokens, on the whole tiles in [r0, r1).
    if (const packed_weight* P = packed_for(W)) {
        const int64_t tr = k_.qgemm->tile_rows, prb = (int64_t)packed_row_bytes(W.type, W.n_in);
        const int64_t a = std::min(r1, (r0 + tr - 1) / tr * tr), b = std::max(a, std::min(r1, P->rows) / tr * tr);
        dots(r0, a);
        if (b > a) gemm(P->data->data + prb * a, (size_t)prb, (int)(b - a), xq, stride, T, W.n_in, y + a, (size_t)W.n_out, accum);
        return dots(b, r1);
    }
    // Many tokens on Q8_0's rows as they lie in the file: tiles of rows, unpacked once for up to 64
    // tokens. (K-quant matrices that were never packed, as in some op tests, take the dot products.)
    int64_t r = r0;
    if (gemm && !k_.qgemm->pack[(int)W.type] && T >= qgemm_min_tokens_q8_0 && r1 - r0 >= qgemm_rows) {
        const int n_rows = (int)((r1 - r0) / qgemm_rows * qgemm_rows);
        gemm(W.row(r), row_bytes(W.type, W.n_in), n_rows, xq, stride, T, W.n_in, y + r, (size_t)W.n_out, accum);
        r += n_rows;
    }
    dots(r, r1);
}

// Splits the rows of each product into chunks for the pool (a few per thread, so that a thread that
// starts late or runs slow gets help), and runs them all in one region. With swiglu, parts[0] is the
// gate and parts[1] the up projection: a chunk computes both for its rows, then silu(g) * u there.
void cpu_backend::run_matmuls(const mm_part* parts, int n_parts, const float* x, int T, bool swiglu) {
    constexpr int max_chunks = 256;
    const int nth = pool_.size();
    const int64_t align = 16;  // the kernels' row tiles (float: 8 rows at T <= 2, panels of 6 or 4 for more; qgemm: 8 or 16)
    const int n_split = swiglu ? 1 : n_parts;  // swiglu: chunks of the gate's rows cover both
    if (n_split > max_chunks / 4) {
        for (int p = 0; p < n_parts; p++) run_matmuls(parts + p, 1, x, T);
        return;
    }
    struct chunk {
        int part;
        int64_t r0, r1;
    };
    chunk chunks[max_chunks];
    int n_chunks = 0;
    uint64_t macs = 0;
    int64_t n_rows = 0;
    for (int p = 0; p < n_parts; p++) macs += (uint64_t)parts[p].W->n_out * parts[p].W->n_in * T;
    for (int p = 0; p < n_split; p++) n_rows += parts[p].W->n_out;
    // about 4 chunks per thread, none under ~16k multiply-adds unless the whole op is that small. A
    // thread that finishes first waits up to a chunk at the op's end, so long ops (many tokens on big
    // matrices: 2M multiply-adds a chunk or more) take 8 per thread: the 1B Q4_K_M 12-token verify
    // about 5% faster (docs/PERF.md). Shorter chunks cost more than they save (demo F16 prefill 4%).
    const int per_thread = T > 1 && macs / (8 * (uint64_t)nth) >= (2u << 20) ? 8 : 4;
    const int64_t want = nth == 1 ? 1 : std::max<int64_t>(1, std::min<int64_t>(per_thread * nth, (int64_t)(macs / 16384)));
    for (int p = 0; p < n_split; p++) {
        const int64_t rows = parts[p].W->n_out;
        int64_t per = (rows * want + n_rows - 1) / n_rows;  // this part's share of the chunks
        per = std::max<int64_t>(1, std::min<int64_t>(per, max_chunks / n_split));
        const int64_t step = ((rows + per - 1) / per + align - 1) / align * align;
        for (int64_t r = 0; r < rows; r += step) chunks[n_chunks++] = {p, r, std::min(rows, r + step)};
    }
    const weight* W[max_chunks / 4] = {};
    for (int p = 0; p < n_parts; p++) W[p] = parts[p].W;
    quantize_acts(W, n_parts, x, T);
    pool_.parallel_for(n_chunks, [&](int c, int) {
        const chunk& ch = chunks[c];
        const mm_part& P = parts[ch.part];
        rows(*P.W, x, T, P.y, ch.r0, ch.r1, P.accum);
        if (swiglu) {
            const mm_part& U = parts[1];
            rows(*U.W, x, T, U.y, ch.r0, ch.r1, false);
            const int64_t n = P.W->n_out;
            for (int t = 0; t < T; t++)
                k_.silu_mul(P.y + (size_t)t * n + ch.r0, U.y + (size_t)t * n + ch.r0, (size_t)(ch.r1 - ch.r0));
        }
    });
}

void cpu_backend::matmul(const weight& W, const float* x, int T, float* y) {
    mm_part p{&W, y, false};
    run_matmuls(&p, 1, x, T);
}

void cpu_backend::matmul_n(int n, const weight* const* W, const float* x, int T, float* const* y) {
    std::vector<mm_part> parts(n);
    for (int i = 0; i < n; i++) parts[i] = {W[i], y[i], false};
    run_matmuls(parts.data(), n, x, T);
}

void cpu_backend::matmul_add(const weight& W, const float* x, int T, float* tmp, float* y) {
    (void)tmp;
    mm_part p{&W, y, true};
    run_matmuls(&p, 1, x, T);
}

void cpu_backend::matmul_swiglu(const weight& w_gate, const weight& w_up, const float* x, int T, float* g, float* u) {
    if (w_gate.n_out != w_up.n_out || w_gate.n_in != w_up.n_in) {
        backend::matmul_swiglu(w_gate, w_up, x, T, g, u);
        return;
    }
    mm_part p[2] = {{&w_gate, g, false}, {&w_up, u, false}};
    run_matmuls(p, 2, x, T, true);
}

void cpu_backend::rmsnorm(const float* x, const float* w, int T, int n, float eps, float* out) {
    for (int t = 0; t < T; t++) {
        const float* xt = x + (size_t)t * n;
        float ss = k_.dot(xt, xt, n);
        float scale = 1.0f / std::sqrt(ss / n + eps);
        k_.scale_mul(xt, scale, w, n, out + (size_t)t * n);
    }
}

void cpu_backend::rope_tables(int T, const int32_t* pos, const float* inv_freq, int half) {
    if (rope_freq_.size() == (size_t)half && std::equal(inv_freq, inv_freq + half, rope_freq_.begin()) &&
        rope_pos_.size() == (size_t)T && std::equal(pos, pos + T, rope_pos_.begin()))
        return;  // Q and K of every layer use the same positions
    rope_freq_.assign(inv_freq, inv_freq + half);
    rope_pos_.assign(pos, pos + T);
    rope_cs_.resize((size_t)T * half);
    rope_sn_.resize((size_t)T * half);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            float ang = (float)pos[t] * inv_freq[i];
            rope_cs_[(size_t)t * half + i] = std::cos(ang);
            rope_sn_[(size_t)t * half + i] = std::sin(ang);
        }
}

void cpu_backend::rope_heads(float* x, int T, int n_head, int hd, int h0, int h1, bool interleaved) const {
    const int half = hd / 2;
    for (int t = 0; t < T; t++) {
        const float* cs = rope_cs_.data() + (size_t)t * half;
        const float* sn = rope_sn_.data() + (size_t)t * half;
        for (int h = h0; h < h1; h++) {
            float* v = x + ((size_t)t * n_head + h) * hd;
            if (interleaved) {
                for (int i = 0; i < half; i++) {
                    float x0 = v[2 * i], x1 = v[2 * i + 1];
                    v[2 * i] = x0 * cs[i] - x1 * sn[i];
                    v[2 * i + 1] = x0 * sn[i] + x1 * cs[i];
                }
            } else {
                for (int i = 0; i < half; i++) {
                    float x0 = v[i], x1 = v[i + half];
                    v[i] = x0 * cs[i] - x1 * sn[i];
                    v[i + half] = x0 * sn[i] + x1 * cs[i];
                }
            }
        }
    }
}

void cpu_backend::rope(float* x, int T, int n_head, int hd, const int32_t* pos, const float* inv_freq,
                       bool interleaved) {
    rope_tables(T, pos, inv_freq, hd / 2);
    rope_heads(x, T, n_head, hd, 0, n_head, interleaved);
}

cpu_backend::head_kv cpu_backend::head_view(int hk, const float* k_new, const float* v_new, const void* k_cache,
                                            const void* v_cache, kv_type kv, int n_prefix, int T, int n_head_kv,
                                            int hd, int ith) {
    const size_t kvs = (size_t)n_head_kv * hd;
    if (kv == kv_type::f32)
        return {(const float*)k_cache + hk * hd, (const float*)v_cache + hk * hd, k_new + hk * hd, v_new + hk * hd,
                kvs};
    // F16: widen head hk's cached rows, and round its new rows, into this thread's float scratch, so
    // that the float kernels see exactly the values a cache of F16 holds (cached or new alike).
    const size_t n = (size_t)n_prefix + T;
    auto& w = wide_[ith];
    if (w.size() < 2 * n * hd) w.resize(2 * n * hd);
    float *wk = w.data(), *wv = w.data() + n * hd;
    const uint16_t *kc = (const uint16_t*)k_cache + hk * hd, *vc = (const uint16_t*)v_cache + hk * hd;
    for (int j = 0; j < n_prefix; j++) {
        f16_to_f32_row(kc + j * kvs, wk + (size_t)j * hd, hd);
        f16_to_f32_row(vc + j * kvs, wv + (size_t)j * hd, hd);
    }
    for (int j = 0; j < T; j++) {
        f32_round_f16_row(k_new + j * kvs + hk * hd, wk + (size_t)(n_prefix + j) * hd, hd);
        f32_round_f16_row(v_new + j * kvs + hk * hd, wv + (size_t)(n_prefix + j) * hd, hd);
    }
    return {wk, wv, wk + (size_t)n_prefix * hd, wv + (size_t)n_prefix * hd, (size_t)hd};
}

void cpu_backend::attend_group(int t, int hk, const float* q, const head_kv& kvh, int n_prefix, int n_head,
                               int n_head_kv, int hd, attn_mask mask, float* out, int ith) {
    const int group = n_head / n_head_kv;
    const int n_new = mask == attn_mask::causal ? t + 1 : 1;
    const int first_new = mask == attn_mask::causal ? 0 : t;
    const size_t qo = ((size_t)t * n_head + (size_t)hk * group) * hd;
    k_.attend(q + qo, group, kvh.k0, kvh.v0, n_prefix, kvh.k1 + first_new * kvh.stride,
              kvh.v1 + first_new * kvh.stride, n_new, kvh.stride, hd, 1.0f / std::sqrt((float)hd),
              scratch_[ith].data(), out + qo);
}

void cpu_backend::attention(const float* q, const float* k_new, const float* v_new, int T, const void* k_cache,
                            const void* v_cache, kv_type kv, int n_prefix, int n_head, int n_head_kv, int hd,
                            attn_mask mask, float* out) {
    // One task per (KV head, token): the query heads that share the KV head go together, so that
    // its keys and values are read once for all of them. Head-major, so that a chunk of tasks
    // widens an F16 head once for all its tokens.
    const int group = n_head / n_head_kv;
    const int n_tasks = T * n_head_kv;
    for (auto& s : scratch_)
        if (s.size() < (size_t)group * (n_prefix + T + 16)) s.resize((size_t)group * (n_prefix + T + 16));
    auto run = [&](int b, int e, int ith) {
        int cur = -1;
        head_kv kvh{};
        for (int task = b; task < e; task++) {
            const int hk = task / T, t = task % T;
            if (hk != cur) kvh = head_view(cur = hk, k_new, v_new, k_cache, v_cache, kv, n_prefix, T, n_head_kv, hd, ith);
            attend_group(t, hk, q, kvh, n_prefix, n_head, n_head_kv, hd, mask, out, ith);
        }
    };
    const int64_t work = (int64_t)T * n_head * (n_prefix + T) * hd;
    const int nth = pool_.size();
    if (work < 65536 || nth == 1 || n_tasks == 1) return run(0, n_tasks, 0);
    const int n_chunks = std::min(n_tasks, 4 * nth);
    pool_.parallel_for(n_chunks, [&](int c, int ith) {
        run((int)((int64_t)n_tasks * c / n_chunks), (int)((int64_t)n_tasks * (c + 1) / n_chunks), ith);
    });
}

void cpu_backend::qkv_rope_attention(const weight& wq, const weight& wk, const weight& wv, const float* xn, int T,
                                     const int32_t* pos, const float* inv_freq, bool interleaved,
                                     const void* k_cache, const void* v_cache, kv_type kv, int n_prefix, int n_head,
                                     int n_head_kv, int hd, attn_mask mask, float* q, float* k, float* v,
                                     float* att) {
    const int nth = pool_.size(), group = n_head / n_head_kv;
    // One task per KV head: its rows of Q (the heads of its group), K and V for every token, their rope,
    // and the attention of those heads; a parallel region in all. Each part is computed as by the
    // separate ops, so the results are the same. With fewer KV heads than threads, the separate ops
    // share the work out better.
    if (nth == 1 || n_head_kv < nth || wq.n_out != (int64_t)n_head * hd || wk.n_out != (int64_t)n_head_kv * hd ||
        wv.n_out != wk.n_out) {
        backend::qkv_rope_attention(wq, wk, wv, xn, T, pos, inv_freq, interleaved, k_cache, v_cache, kv, n_prefix,
                                    n_head, n_head_kv, hd, mask, q, k, v, att);
        return;
    }
    rope_tables(T, pos, inv_freq, hd / 2);
    for (auto& s : scratch_)
        if (s.size() < (size_t)group * (n_prefix + T + 16)) s.resize((size_t)group * (n_prefix + T + 16));
    const weight* W[3] = {&wq, &wk, &wv};
    quantize_acts(W, 3, xn, T);
    pool_.parallel_for(n_head_kv, [&](int hk, int ith) {
        const int64_t qr = (int64_t)hk * group * hd, kr = (int64_t)hk * hd;
        rows(wq, xn, T, q, qr, qr + (int64_t)group * hd, false);
        rows(wk, xn, T, k, kr, kr + hd, false);
        rows(wv, xn, T, v, kr, kr + hd, false);
        rope_heads(q, T, n_head, hd, hk * group, (hk + 1) * group, interleaved);
        rope_heads(k, T, n_head_kv, hd, hk, hk + 1, interleaved);
        const head_kv kvh = head_view(hk, k, v, k_cache, v_cache, kv, n_prefix, T, n_head_kv, hd, ith);
        for (int t = 0; t < T; t++) attend_group(t, hk, q, kvh, n_prefix, n_head, n_head_kv, hd, mask, att, ith);
    });
}

void cpu_backend::store_kv(void* cache, kv_type kv, size_t at, const float* src, size_t n) {
    if (kv == kv_type::f16) f32_to_f16_row(src, (uint16_t*)cache + at, n);  // as head_view rounds new keys
    else host_backend::store_kv(cache, kv, at, src, n);
}

void cpu_backend::silu_mul(float* g, const float* u, size_t n) { k_.silu_mul(g, u, n); }

void cpu_backend::add(float* x, const float* y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

}  // namespace clasp
