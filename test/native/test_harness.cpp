// The harness's lookup of reference models: an absent one skips the test with a reason that names
// the file and the variable to set; under CI=true reference_model reports a failure instead.
#include "harness.h"
#include <cstdlib>

TEST(harness_absent_reference_model_skips_unless_ci) {
    const char* ci = std::getenv("CI");
    const std::string saved = ci ? ci : "";

    unsetenv("CI");
    CHECK(!th::ci_refuses_skips());
    CHECK(th::reference_model("no-such-model.gguf").empty());
    const std::string why = th::skip_reason;
    th::skip_reason.clear();  // this test itself ran: not a skip
    CHECK_MSG(why.find("no-such-model.gguf") != std::string::npos && why.find("CLASP_MODELS_DIR") != std::string::npos,
              "skip reason: " << why);

    setenv("CI", "true", 1);
    CHECK(th::ci_refuses_skips());
    setenv("CI", "false", 1);
    CHECK(!th::ci_refuses_skips());

    if (ci) setenv("CI", saved.c_str(), 1);
    else unsetenv("CI");
}
