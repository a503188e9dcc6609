#include "speculative.h"
#include "../core/error.h"

namespace clasp {

gen_result speculative_generate(engine&, const std::vector<int>&, const gen_params&, const gen_callbacks&) {
    fail("speculative modes are not built yet");
}

}  // namespace clasp
