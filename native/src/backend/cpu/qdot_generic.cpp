// Portable integer dot products (qdot.h gives the order of the float scaling).
#include "qdot.h"
#include <cstring>
#include <type_traits>

namespace clasp {
namespace {

// 32-element blocks: isum(b, y) is block b's integer sum; dm(b) its min, or 0.
template <typename B, typename ISUM, typename MIN>
inline float dot32(const uint8_t* row, const void* act, int64_t n, ISUM isum, MIN min_of) {
    const B* w = (const B*)row;
    const int8_t* y = act_qs(act);
    const float* dy = act_d(act, n);
    const int32_t* sy = act_s(act, n);
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t b = 0; b < n / 32; b++) {
        float& l = lane[b % 8];
        l += (fp16_to_fp32(w[b].d) * dy[b]) * (float)isum(w[b], y + 32 * b, sy[b]);
        if constexpr (!std::is_same_v<MIN, std::nullptr_t>) l += (min_of(w[b]) * dy[b]) * (float)sy[b];
    }
    return lanes8_sum(lane);
}

uint32_t u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

float dot_q8_0(const uint8_t* row, const void* act, int64_t n) {
    return dot32<block_q8_0>(row, act, n, [](const block_q8_0& b, const int8_t* y, int) {
        int s = 0;
        for (int j = 0; j < 32; j++) s += b.qs[j] * y[j];
        return s;
    }, nullptr);
}

// Unsigned 4-bit codes: low nibbles are elements 0-15, high nibbles 16-31.
inline int nib_dot(const uint8_t* qs, const int8_t* y) {
    int s = 0;
    for (int j = 0; j < 16; j++) s += (qs[j] & 0xF) * y[j] + (qs[j] >> 4) * y[j + 16];
    return s;
}
// Adds the fifth bits (bit j of qh is element j's bit 4).
inline int high_dot(uint32_t qh, const int8_t* y) {
    int s = 0;
    for (int j = 0; j < 32; j++) s += (int)((qh >> j) & 1) * 16 * y[j];
    return s;
}

float dot_q4_0(const uint8_t* row, const void* act, int64_t n) {
    return dot32<block_q4_0>(row, act, n, [](const block_q4_0& b, const int8_t* y, int sy) { return nib_dot(b.qs, y) - 8 * sy; },
                             nullptr);
}
float dot_q4_1(const uint8_t* row, const void* act, int64_t n) {
    return dot32<block_q4_1>(row, act, n, [](const block_q4_1& b, const int8_t* y, int) { return nib_dot(b.qs, y); },
                             [](const block_q4_1& b) { return fp16_to_fp32(b.m); });
}
float dot_q5_0(const uint8_t* row, const void* act, int64_t n) {
    return dot32<block_q5_0>(row, act, n, [](const block_q5_0& b, const int8_t* y, int sy) {
        return nib_dot(b.qs, y) + high_dot(u32(b.qh), y) - 16 * sy;
    }, nullptr);
}
float dot_q5_1(const uint8_t* row, const void* act, int64_t n) {
    return dot32<block_q5_1>(row, act, n, [](const block_q5_1& b, const int8_t* y, int) {
        return nib_dot(b.qs, y) + high_dot(u32(b.qh), y);
    }, [](const block_q5_1& b) { return fp16_to_fp32(b.m); });
}

// Q4_K and Q5_K: sub-block j covers elements 32 j .. 32 j + 31 of the super-block.
template <bool FIVE, typename B>
float dot_k45(const uint8_t* row, const void* act, int64_t n) {
    const B* w = (const B*)row;
    const int8_t* y = act_qs(act);
    const float* dy = act_d(act, n);
    const int16_t* bs = act_bsums(act, n);
    float acc = 0.f;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K, bs += 16) {
        int isum = 0, imin = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            k_scale_min(j, w[i].scales, sc, m);
            const uint8_t* q = w[i].qs + 32 * (j / 2);
            const int shift = 4 * (j % 2);
            int s = 0;
            for (int l = 0; l < 32; l++) {
                int v = (q[l] >> shift) & 0xF;
                if constexpr (FIVE) v += ((w[i].qh[l] >> j) & 1) << 4;
                s += v * y[32 * j + l];
            }
            isum += sc * s;
            imin += m * (bs[2 * j] + bs[2 * j + 1]);
        }
        acc += (dy[i] * fp16_to_fp32(w[i].d)) * (float)isum;
        acc -= (dy[i] * fp16_to_fp32(w[i].dmin)) * (float)imin;
    }
    return acc;
}

float dot_q4_K(const uint8_t* row, const void* act, int64_t n) {
    return dot_k45<false, block_q4_K>(row, act, n);
}
float dot_q5_K(const uint8_t* row, const void* act, int64_t n) { return dot_k45<true, block_q5_K>(row, act, n); }

// Q6_K: element 128 h + 32 c + l (c = 0..3, l = 0..31) has low bits from ql[64 h + l + 32 (c % 2)]
// (low nibble for c < 2, high for c >= 2) and high bits (qh[32 h + l] >> 2 c) & 3; sub-block = elem / 16.
float dot_q6_K(const uint8_t* row, const void* act, int64_t n) {
    const block_q6_K* w = (const block_q6_K*)row;
    const int8_t* y = act_qs(act);
    const float* dy = act_d(act, n);
    const int16_t* bs = act_bsums(act, n);
    float acc = 0.f;
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K, bs += 16) {
        int isum = 0;
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int k = 0; k < 16; k++) {
                const int e = 16 * j + k, h = e / 128, c = (e % 128) / 32, l = e % 32;
                const uint8_t lo = w[i].ql[64 * h + l + 32 * (c % 2)];
                const int q = ((c < 2 ? lo & 0xF : lo >> 4) | (((w[i].qh[32 * h + l] >> (2 * c)) & 3) << 4));
                s += q * y[e];
            }
            isum += w[i].scales[j] * (s - 32 * bs[j]);
        }
        acc += (dy[i] * fp16_to_fp32(w[i].d)) * (float)isum;
    }
    return acc;
}

template <float (*DOT)(const uint8_t*, const void*, int64_t)>
void tokens(const uint8_t* row, const uint8_t* act, size_t stride, int nt, int64_t n, float* out) {
    for (int t = 0; t < nt; t++) out[t] = DOT(row, act + stride * t, n);
}

}  // namespace

const qdot_fn* qdot_table_generic() {
    static qdot_fn t[n_dtypes] = {};
    t[(int)dtype::Q8_0] = tokens<dot_q8_0>;
    t[(int)dtype::Q4_0] = tokens<dot_q4_0>;
    t[(int)dtype::Q4_1] = tokens<dot_q4_1>;
    t[(int)dtype::Q5_0] = tokens<dot_q5_0>;
    t[(int)dtype::Q5_1] = tokens<dot_q5_1>;
    t[(int)dtype::Q4_K] = tokens<dot_q4_K>;
    t[(int)dtype::Q5_K] = tokens<dot_q5_K>;
    t[(int)dtype::Q6_K] = tokens<dot_q6_K>;
    return t;
}

}  // namespace clasp
