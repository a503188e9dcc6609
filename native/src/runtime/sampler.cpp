#include "sampler.h"
#include <algorithm>
#include <cmath>
#include <numeric>

namespace clasp {

rng::rng(uint64_t seed) {
    uint64_t z = seed;
    for (auto& x : s) {
        z += 0x9e3779b97f4a7c15ull;
        uint64_t t = z;
        t = (t ^ (t >> 30)) * 0xbf58476d1ce4e5b9ull;
        t = (t ^ (t >> 27)) * 0x94d049bb133111ebull;
        x = t ^ (t >> 31);
    }
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng::next() {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

double rng::uniform() { return (double)(next() >> 11) * (1.0 / 9007199254740992.0); }

int argmax(const float* x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

void warp_probs(const float* logits, int n, const sampling_params& sp, std::vector<float>& probs) {
    probs.assign(n, 0.f);
    if (sp.greedy()) { probs[argmax(logits, n)] = 1.f; return; }
    std::vector<int> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    int k = sp.top_k > 0 && sp.top_k < n ? sp.top_k : n;
    auto cmp = [&](int a, int b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    if (k < n) std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), cmp);
    else if (sp.top_p < 1.f) std::sort(idx.begin(), idx.end(), cmp);
    idx.resize(k);
    float mx = -INFINITY;
    for (int i : idx) mx = std::max(mx, logits[i]);
    std::vector<double> e(idx.size());
    double sum = 0;
    for (size_t j = 0; j < idx.size(); j++) { e[j] = std::exp((double)(logits[idx[j]] - mx) / sp.temperature); sum += e[j]; }
    size_t keep = idx.size();
    if (sp.top_p < 1.f) {
        // idx is sorted by probability here: keep the smallest prefix whose mass reaches top_p.
        double cum = 0;
        for (size_t j = 0; j < idx.size(); j++) {
            cum += e[j] / sum;
            if (cum >= sp.top_p) { keep = j + 1; break; }
        }
    }
    double kept = 0;
    for (size_t j = 0; j < keep; j++) kept += e[j];
    for (size_t j = 0; j < keep; j++) probs[idx[j]] = (float)(e[j] / kept);
}

int sample_probs(const std::vector<float>& probs, rng& r) {
    double u = r.uniform(), cum = 0;
    int last = -1;
    for (size_t i = 0; i < probs.size(); i++) {
        if (probs[i] <= 0.f) continue;
        cum += probs[i];
        last = (int)i;
        if (u < cum) return (int)i;
    }
    return last < 0 ? 0 : last;  // rounding left u above the total mass
}

int sample_token(const float* logits, int n, const sampling_params& sp, rng& r, std::vector<float>& scratch) {
    if (sp.greedy()) return argmax(logits, n);
    warp_probs(logits, n, sp, scratch);
    return sample_probs(scratch, r);
}

}  // namespace clasp
