// Token choice: greedy, or sampling from the distribution warped by temperature, top-k and top-p.
// Speculative sampling needs the warped distributions themselves, so they are first-class here.
#pragma once
#include <cstdint>
#include <vector>

namespace clasp {

struct sampling_params {
    float temperature = 0.f;  // <= 0: greedy
    int top_k = 0;            // 0: off
    float top_p = 1.f;        // 1: off
    uint64_t seed = 0;
    bool greedy() const { return temperature <= 0.f; }
};

// xoshiro256**, seeded through splitmix64: fast, and identical on every platform.
struct rng {
    uint64_t s[4];
    explicit rng(uint64_t seed = 0);
    uint64_t next();
    double uniform();  // [0, 1)
};

// Index of the largest value; ties go to the lowest index.
int argmax(const float* x, int n);

// The warped distribution over n tokens: softmax(logits / T), restricted to the top-k tokens and to
// the smallest set whose mass reaches top_p (ties broken by token id), renormalized. Greedy gives a
// one-hot vector on the argmax.
void warp_probs(const float* logits, int n, const sampling_params& sp, std::vector<float>& probs);

// Draws an index from probs (which sum to ~1).
int sample_probs(const std::vector<float>& probs, rng& r);

// Sample or take the argmax, per sp.
int sample_token(const float* logits, int n, const sampling_params& sp, rng& r, std::vector<float>& scratch);

}  // namespace clasp
