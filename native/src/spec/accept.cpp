#include "accept.h"
#include <algorithm>

namespace clasp {

bool accept_or_resample(const float* p, const float* q, int V, int draft, rng& r, int& resampled,
                        std::vector<float>& scratch) {
    double ratio = q[draft] > 0 ? (double)p[draft] / q[draft] : 0;
    if (r.uniform() < std::min(1.0, ratio)) return true;
    scratch.assign(V, 0.f);
    double mass = 0;
    for (int v = 0; v < V; v++) {
        scratch[v] = std::max(0.f, p[v] - q[v]);
        mass += scratch[v];
    }
    if (mass <= 0) {
        // p == q up to rounding, so a rejection is (nearly) impossible; a draw from p is exact.
        scratch.assign(p, p + V);
    } else {
        for (auto& v : scratch) v = (float)(v / mass);
    }
    resampled = sample_probs(scratch, r);
    return false;
}

}  // namespace clasp
