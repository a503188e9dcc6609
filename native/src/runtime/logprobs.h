// Log-probabilities reported with each generated token (gen_params::n_logprobs): the log-softmax of
// the full model's logits at the token's position, before temperature, top-k and top-p (the raw
// distribution, as vLLM reports by default; docs/NUMBERS.md). Under CLaSp those logits are the
// verify pass's, so the figures do not depend on which layers were skipped while drafting.
#pragma once
#include <vector>

namespace clasp {

constexpr int MAX_LOGPROBS = 20;  // the most alternatives one token reports (OpenAI's limit too)

struct token_logprobs {
    float logprob = 0;               // of the generated token
    std::vector<int> top_ids;        // the n most likely tokens, most likely first (ties: the lower id, as argmax)
    std::vector<float> top_logprobs;
};

// logits: one row of n_vocab values; id: the generated token; n: how many of the most likely to list (1 to MAX_LOGPROBS).
token_logprobs logprobs_of(const float* logits, int n_vocab, int id, int n);

}  // namespace clasp
