#include "qact.h"
#include <cmath>

namespace clasp {
namespace {

// x rounded to the nearest integer, ties to even, as std::nearbyint in the default rounding mode:
// adding and taking off 1.5 * 2^23 leaves no fraction bits (|x| <= 127 here; without -ffast-math
// the compiler keeps both operations). Inline, where the library call cost more than the rest.
inline float round_even(float x) { return (x + 12582912.f) - 12582912.f; }

// q = round(x * 127 / amax) in [-127, 127]; returns d = amax / 127 (0 for an all-zero block). A
// block holding inf or NaN gets d = NaN, so that the products come out NaN as in float arithmetic.
float quantize_block(const float* x, int n, int8_t* q) {
    float amax = 0.f;
    bool finite = true;
    for (int j = 0; j < n; j++) {
        const float a = std::fabs(x[j]);
        finite = finite && a <= 3.4028235e38f;  // false for inf and NaN
        amax = a > amax ? a : amax;
    }
    if (!finite) {
        for (int j = 0; j < n; j++) q[j] = 0;
        return NAN;
    }
    const float d = amax / 127.f, id = amax > 0.f ? 127.f / amax : 0.f;
    for (int j = 0; j < n; j++) q[j] = (int8_t)round_even(x[j] * id);
    return d;
}

}  // namespace

void quantize_act(act_kind k, const float* x, int64_t n, void* out) {
    int8_t* qs = (int8_t*)out;
    float* d = (float*)((uint8_t*)out + n);
    if (k == act_kind::q8_32) {
        int32_t* s = (int32_t*)(d + n / 32);
        for (int64_t i = 0; i < n / 32; i++) {
            d[i] = quantize_block(x + 32 * i, 32, qs + 32 * i);
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += qs[32 * i + j];
            s[i] = sum;
        }
    } else if (k == act_kind::q8_K) {
        int16_t* bsums = (int16_t*)(d + n / QK_K);
        for (int64_t i = 0; i < n / QK_K; i++) d[i] = quantize_block(x + QK_K * i, QK_K, qs + QK_K * i);
        for (int64_t j = 0; j < n / 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += qs[16 * j + l];
            bsums[j] = (int16_t)sum;
        }
        int16_t* sums32 = bsums + n / 16;
        for (int64_t j = 0; j < n / 32; j++) sums32[j] = (int16_t)(bsums[2 * j] + bsums[2 * j + 1]);
    }
}

}  // namespace clasp
