#include "logprobs.h"
#include <cmath>

namespace clasp {

token_logprobs logprobs_of(const float* logits, int n_vocab, int id, int n) {
    // The n largest in a small sorted list: once it is full, nearly every logit fails the one
    // comparison with its last (cut), so this pass costs little more than the max.
    std::vector<int> top;
    top.reserve(n + 1);
    float cut = -INFINITY;
    bool full = false;
    for (int i = 0; i < n_vocab; i++) {
        const float v = logits[i];
        if (full && !(v > cut)) continue;  // an equal value keeps the lower id first
        int j = (int)top.size();
        top.push_back(i);
        while (j > 0 && v > logits[top[j - 1]]) { top[j] = top[j - 1]; j--; }
        top[j] = i;
        if ((int)top.size() > n) top.pop_back();
        full = (int)top.size() == n;
        if (full) cut = logits[top.back()];
    }
    // In double: a sum over a large vocabulary in float would lose the 1e-6 the figures keep. The
    // largest logit is the first of the top ones, so no pass of its own finds it.
    const float mx = logits[top[0]];
    double sum = 0;
    for (int i = 0; i < n_vocab; i++) sum += std::exp((double)logits[i] - mx);
    const double lse = mx + std::log(sum);
    token_logprobs r;
    r.logprob = (float)((double)logits[id] - lse);
    r.top_ids = top;
    for (int t : top) r.top_logprobs.push_back((float)((double)logits[t] - lse));
    return r;
}

}  // namespace clasp
