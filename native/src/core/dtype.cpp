#include "dtype.h"
#include <cmath>

namespace clasp {
namespace {

// Each dequantizer follows ggml's C reference (ggml-quants.c) operation for operation, in float32,
// so the weights come out bit-identical to what llama.cpp and gguf-py compute.

void deq_q8_0(const block_q8_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 32; j++) y[j] = d * (float)b[i].qs[j];
    }
}

void deq_q4_0(const block_q4_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((b[i].qs[j] & 0x0F) - 8) * d;
            y[j + 16] = (float)((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void deq_q4_1(const block_q4_1* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(b[i].qs[j] & 0x0F) * d + m;
            y[j + 16] = (float)(b[i].qs[j] >> 4) * d + m;
        }
    }
}

uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

void deq_q5_0(const block_q5_0* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = fp16_to_fp32(b[i].d);
        const uint32_t qh = load_u32(b[i].qh);
        for (int j = 0; j < 16; j++) {
            const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
            y[j] = (float)(((b[i].qs[j] & 0x0F) | h0) - 16) * d;
            y[j + 16] = (float)(((b[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

void deq_q5_1(const block_q5_1* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = fp16_to_fp32(b[i].d), m = fp16_to_fp32(b[i].m);
        const uint32_t qh = load_u32(b[i].qh);
        for (int j = 0; j < 16; j++) {
            const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
            y[j] = (float)((b[i].qs[j] & 0x0F) | h0) * d + m;
            y[j + 16] = (float)((b[i].qs[j] >> 4) | h1) * d + m;
        }
    }
}

void deq_q4_K(const block_q4_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
        const uint8_t* q = b[i].qs;
        for (int j = 0; j < 8; j += 2, q += 32) {
            uint8_t sc, m;
            k_scale_min(j, b[i].scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            k_scale_min(j + 1, b[i].scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

void deq_q5_K(const block_q5_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = fp16_to_fp32(b[i].d), dmin = fp16_to_fp32(b[i].dmin);
        const uint8_t* ql = b[i].qs;
        const uint8_t* qh = b[i].qh;
        uint8_t u1 = 1, u2 = 2;
        for (int j = 0; j < 8; j += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, m;
            k_scale_min(j, b[i].scales, sc, m);
            const float d1 = d * sc, m1 = dmin * m;
            k_scale_min(j + 1, b[i].scales, sc, m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

void deq_q6_K(const block_q6_K* b, float* y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = fp16_to_fp32(b[i].d);
        const uint8_t* ql = b[i].ql;
        const uint8_t* qh = b[i].qh;
        const int8_t* sc = b[i].scales;
        for (int n = 0; n < QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8)
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
    }
}

}  // namespace

void dequantize_row(dtype t, const void* src, float* dst, int64_t n) {
    const int64_t nb = n / block_elems(t);
    switch (t) {
        case dtype::F32:
            std::memcpy(dst, src, (size_t)n * 4);
            return;
        case dtype::F16: {
            const uint16_t* s = (const uint16_t*)src;
            for (int64_t i = 0; i < n; i++) dst[i] = fp16_to_fp32(s[i]);
            return;
        }
        case dtype::BF16: {
            const uint16_t* s = (const uint16_t*)src;
            for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_fp32(s[i]);
            return;
        }
        case dtype::Q8_0: return deq_q8_0((const block_q8_0*)src, dst, nb);
        case dtype::Q4_0: return deq_q4_0((const block_q4_0*)src, dst, nb);
        case dtype::Q4_1: return deq_q4_1((const block_q4_1*)src, dst, nb);
        case dtype::Q5_0: return deq_q5_0((const block_q5_0*)src, dst, nb);
        case dtype::Q5_1: return deq_q5_1((const block_q5_1*)src, dst, nb);
        case dtype::Q4_K: return deq_q4_K((const block_q4_K*)src, dst, nb);
        case dtype::Q5_K: return deq_q5_K((const block_q5_K*)src, dst, nb);
        case dtype::Q6_K: return deq_q6_K((const block_q6_K*)src, dst, nb);
    }
}

void quantize_row_q8_0(const float* src, block_q8_0* dst, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; i++) {
        float amax = 0.f;
        for (int j = 0; j < QK8_0; j++) amax = std::fmax(amax, std::fabs(src[i * QK8_0 + j]));
        float d = amax / 127.f;
        float id = d != 0.f ? 1.f / d : 0.f;
        dst[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) dst[i].qs[j] = (int8_t)std::lround(src[i * QK8_0 + j] * id);
    }
}

}  // namespace clasp
