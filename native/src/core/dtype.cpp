#include "dtype.h"
#include <cmath>

namespace clasp {

void dequantize_row(dtype t, const void* src, float* dst, int64_t n) {
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
        case dtype::Q8_0: {
            const block_q8_0* b = (const block_q8_0*)src;
            for (int64_t i = 0; i < n / QK8_0; i++) {
                float d = fp16_to_fp32(b[i].d);
                for (int j = 0; j < QK8_0; j++) dst[i * QK8_0 + j] = d * (float)b[i].qs[j];
            }
            return;
        }
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
