// Element types the engine reads, and exact scalar conversions to float32.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

namespace clasp {

enum class dtype : int { F32 = 0, F16 = 1, BF16 = 2, Q8_0 = 3 };

constexpr int QK8_0 = 32;
// One Q8_0 block: 32 int8 weights sharing one fp16 scale (GGUF's layout, 34 bytes).
struct block_q8_0 {
    uint16_t d;
    int8_t qs[QK8_0];
};
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must be packed as in GGUF");

inline const char* dtype_name(dtype t) {
    switch (t) {
        case dtype::F32: return "F32";
        case dtype::F16: return "F16";
        case dtype::BF16: return "BF16";
        case dtype::Q8_0: return "Q8_0";
    }
    return "?";
}

// Bytes taken by one row of n elements (n must be a multiple of 32 for Q8_0).
inline uint64_t row_bytes(dtype t, uint64_t n) {
    switch (t) {
        case dtype::F32: return n * 4;
        case dtype::F16:
        case dtype::BF16: return n * 2;
        case dtype::Q8_0: return n / QK8_0 * sizeof(block_q8_0);
    }
    return 0;
}

inline float fp16_to_fp32(uint16_t h) {
    // Exact IEEE half -> single, including subnormals, inf and NaN.
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {
            exp = 127 - 15 + 1;
            while ((man & 0x400) == 0) { man <<= 1; exp--; }
            man &= 0x3ff;
            bits = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline uint16_t fp32_to_fp16(float f) {
    // Round to nearest even; used by tests and fixtures, not on hot paths.
    uint32_t x;
    std::memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t man = x & 0x7fffff;
    if (((x >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    if (exp >= 31) return (uint16_t)(sign | 0x7c00);
    if (exp <= 0) {
        if (exp < -10) return (uint16_t)sign;
        man |= 0x800000;
        uint32_t shift = (uint32_t)(14 - exp);
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)exp << 10) | (man >> 13);
    uint32_t rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
    return (uint16_t)half;
}

inline float bf16_to_fp32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline uint16_t fp32_to_bf16(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

// Dequantize one row of n elements to float32 (the reference path; backends have faster ones).
void dequantize_row(dtype t, const void* src, float* dst, int64_t n);

// Quantize float32 to Q8_0 the way GGUF writers do (scale = amax/127); for test fixtures.
void quantize_row_q8_0(const float* src, block_q8_0* dst, int64_t n);

}  // namespace clasp
