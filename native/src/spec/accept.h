// The lossless acceptance rule of speculative sampling (Leviathan et al. 2023; Chen et al. 2023):
// a draft d ~ q is kept with probability min(1, p(d)/q(d)); otherwise the emitted token is drawn
// from norm(max(0, p - q)). The emitted token is then distributed exactly as p.
#pragma once
#include "../runtime/sampler.h"
#include <vector>

namespace clasp {

// p, q: (V) distributions. Returns true when the draft is accepted; otherwise sets `resampled`.
bool accept_or_resample(const float* p, const float* q, int V, int draft, rng& r, int& resampled,
                        std::vector<float>& scratch);

}  // namespace clasp
