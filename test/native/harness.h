// A minimal test harness for the native tests: TEST registers a case, CHECK records a failure with
// its location and keeps going. The binary prints "N passed, N failed" as its last line.
#pragma once
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace th {

struct test_case {
    std::string name;
    std::function<void()> fn;
};
std::vector<test_case>& registry();
extern int current_failures;
std::string repo_dir();
std::string golden_dir();  // test/fixtures/golden: the reference outputs, kept in the repository
std::string demo_model();  // resources/clasp-demo-29M-q8_0.gguf, the bundled model
std::string models_dir();  // the large reference models: $CLASP_MODELS_DIR or ../shared/models
// The path of a reference model under models_dir(), or "" when it is absent: then the test is
// reported skipped by name, except under CI=true, where its absence is a failure.
std::string reference_model(const std::string& name);
extern std::string skip_reason;
bool ci_refuses_skips();  // CI=true (or 1)

struct registrar {
    registrar(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

inline void report(const char* file, int line, const std::string& msg) {
    current_failures++;
    std::fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, msg.c_str());
}

}  // namespace th

#define TH_CAT2(a, b) a##b
#define TH_CAT(a, b) TH_CAT2(a, b)
#define TEST(name)                                                          \
    static void TH_CAT(test_fn_, name)();                                   \
    static th::registrar TH_CAT(test_reg_, name)(#name, TH_CAT(test_fn_, name)); \
    static void TH_CAT(test_fn_, name)()

#define CHECK(cond)                                                  \
    do {                                                             \
        if (!(cond)) th::report(__FILE__, __LINE__, "CHECK(" #cond ")"); \
    } while (0)

#define CHECK_MSG(cond, msg)                                                                      \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            std::ostringstream os_;                                                               \
            os_ << "CHECK(" #cond ") " << msg;                                                     \
            th::report(__FILE__, __LINE__, os_.str());                                            \
        }                                                                                         \
    } while (0)

// Expects the statement to throw clasp::engine_error whose message contains `needle`.
#define CHECK_THROWS(stmt, needle)                                                                 \
    do {                                                                                           \
        bool thrown_ = false;                                                                      \
        std::string what_;                                                                         \
        try { stmt; } catch (const clasp::engine_error& e_) { thrown_ = true; what_ = e_.what(); } \
        if (!thrown_) th::report(__FILE__, __LINE__, "expected an engine_error from " #stmt);     \
        else if (what_.find(needle) == std::string::npos)                                          \
            th::report(__FILE__, __LINE__, "error '" + what_ + "' does not mention '" + needle + "'"); \
    } while (0)

// Binds `var` to a reference model's path, or ends the test: skipped, or failed under CI=true.
#define REQUIRE_REFERENCE_MODEL(var, name)                 \
    const std::string var = th::reference_model(name); \
    if (var.empty()) return
