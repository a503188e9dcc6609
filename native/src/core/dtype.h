// Element types the engine reads, and exact scalar conversions to float32.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

namespace clasp {

enum class dtype : int { F32 = 0, F16 = 1, BF16 = 2, Q8_0 = 3, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K };

// Quantized blocks, byte for byte as GGUF (ggml) stores them. Block types of 32 weights ("legacy"
// quants) and of 256 (K-quants: a super-block of 8 or 16 sub-blocks with quantized scales).
constexpr int QK8_0 = 32;
constexpr int QK4_0 = 32;
constexpr int QK_K = 256;

struct block_q8_0 {  // w = d * q
    uint16_t d;
    int8_t qs[QK8_0];
};
struct block_q4_0 {  // w = d * (q - 8); byte j holds q[j] (low nibble) and q[j + 16] (high)
    uint16_t d;
    uint8_t qs[16];
};
struct block_q4_1 {  // w = d * q + m
    uint16_t d, m;
    uint8_t qs[16];
};
struct block_q5_0 {  // w = d * (q - 16); bit j of qh is bit 4 of q[j]
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[16];
};
struct block_q5_1 {  // w = d * q + m
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[16];
};
// Q4_K: 8 sub-blocks of 32, w = d * sc[j] * q - dmin * m[j], with 6-bit sc and m packed in scales.
// qs: for each 64 elements, 32 bytes: the first 32 elements in the low nibbles, the next 32 high.
struct block_q4_K {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qs[QK_K / 2];
};
// Q5_K: as Q4_K plus a fifth bit: bit (2i, 2i + 1) of qh[l] belongs to element 64 i + l (+ 32).
struct block_q5_K {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qh[QK_K / 8];
    uint8_t qs[QK_K / 2];
};
// Q6_K: 16 sub-blocks of 16, w = d * scales[j] * (q - 32), q = 4 low bits (ql) + 2 high bits (qh).
struct block_q6_K {
    uint8_t ql[QK_K / 2];
    uint8_t qh[QK_K / 4];
    int8_t scales[QK_K / 16];
    uint16_t d;
};
static_assert(sizeof(block_q8_0) == 34 && sizeof(block_q4_0) == 18 && sizeof(block_q4_1) == 20, "GGUF layout");
static_assert(sizeof(block_q5_0) == 22 && sizeof(block_q5_1) == 24, "GGUF layout");
static_assert(sizeof(block_q4_K) == 144 && sizeof(block_q5_K) == 176 && sizeof(block_q6_K) == 210, "GGUF layout");

inline const char* dtype_name(dtype t) {
    switch (t) {
        case dtype::F32: return "F32";
        case dtype::F16: return "F16";
        case dtype::BF16: return "BF16";
        case dtype::Q8_0: return "Q8_0";
        case dtype::Q4_0: return "Q4_0";
        case dtype::Q4_1: return "Q4_1";
        case dtype::Q5_0: return "Q5_0";
        case dtype::Q5_1: return "Q5_1";
        case dtype::Q4_K: return "Q4_K";
        case dtype::Q5_K: return "Q5_K";
        case dtype::Q6_K: return "Q6_K";
    }
    return "?";
}

// Elements per block (1 for the float types) and bytes per block.
inline int block_elems(dtype t) {
    switch (t) {
        case dtype::F32: case dtype::F16: case dtype::BF16: return 1;
        case dtype::Q8_0: case dtype::Q4_0: case dtype::Q4_1: case dtype::Q5_0: case dtype::Q5_1: return 32;
        case dtype::Q4_K: case dtype::Q5_K: case dtype::Q6_K: return QK_K;
    }
    return 1;
}
inline int block_bytes(dtype t) {
    switch (t) {
        case dtype::F32: return 4;
        case dtype::F16: case dtype::BF16: return 2;
        case dtype::Q8_0: return sizeof(block_q8_0);
        case dtype::Q4_0: return sizeof(block_q4_0);
        case dtype::Q4_1: return sizeof(block_q4_1);
        case dtype::Q5_0: return sizeof(block_q5_0);
        case dtype::Q5_1: return sizeof(block_q5_1);
        case dtype::Q4_K: return sizeof(block_q4_K);
        case dtype::Q5_K: return sizeof(block_q5_K);
        case dtype::Q6_K: return sizeof(block_q6_K);
    }
    return 0;
}
inline bool is_quantized(dtype t) { return block_elems(t) > 1; }

// Bytes taken by one row of n elements (n must be a multiple of block_elems(t)).
inline uint64_t row_bytes(dtype t, uint64_t n) { return n / block_elems(t) * block_bytes(t); }

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
    // Round to nearest even: test fixtures, and F16 KV caches where the CPU has no F16C (cpu/kv_f16.h).
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

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K super-block (ggml's get_scale_min_k4).
inline void k_scale_min(int j, const uint8_t* q, uint8_t& sc, uint8_t& m) {
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// Dequantize one row of n elements to float32 (the reference path; backends have faster ones).
void dequantize_row(dtype t, const void* src, float* dst, int64_t n);

// Quantize float32 to Q8_0 the way GGUF writers do (scale = amax/127); for test fixtures.
void quantize_row_q8_0(const float* src, block_q8_0* dst, int64_t n);

}  // namespace clasp
