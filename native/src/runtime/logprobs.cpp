#include "logprobs.h"
#include <cmath>

namespace clasp {

token_logprobs logprobs_of(const float* logits, int n_vocab, int id, int n) {
    // One pass keeps the n largest in a small sorted list: nearly every logit fails the first
    // comparison, so this costs about as much as the max it also finds.
    std::vector<int> top;
    top.reserve(n + 1);
    float mx = logits[0];
    for (int i = 0; i < n_vocab; i++) {
        const float v = logits[i];
        mx = v > mx ? v : mx;
        if ((int)top.size() == n && !(v > logits[top.back()])) continue;  // an equal value keeps the lower id first
        int j = (int)top.size();
        top.push_back(i);
        while (j > 0 && v > logits[top[j - 1]]) { top[j] = top[j - 1]; j--; }
        top[j] = i;
        if ((int)top.size() > n) top.pop_back();
    }
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
