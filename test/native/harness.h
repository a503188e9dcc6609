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
std::string shared_dir();  // ../shared beside the checkout, or $CLASP_SHARED
std::string repo_dir();

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
