// CLaSp self-speculative decoding: draft with layers skipped, verify with all of them, and re-choose
// the skipped layers with the dynamic program after every LOI verify rounds.
#pragma once
#include "../runtime/engine.h"

namespace clasp {

gen_result speculative_generate(engine& e, const std::vector<int>& prompt, const gen_params& p,
                                const gen_callbacks& cb);

}  // namespace clasp
