// The test runner for both native suites: clasp-native-tests (npm test) and, built with
// CLASP_SUITE_CUDA, clasp-gpu-tests (scripts/gpu-check.sh only).
// Usage: BINARY [name-filter] | BINARY --only NAME (that test alone) | BINARY --list (the names, in order)
#include "harness.h"
#ifdef CLASP_SUITE_CUDA
#include "backend/backend.h"
#define CLASP_SUITE_NAME "gpu"
#else
#define CLASP_SUITE_NAME "native"
#endif
#include <chrono>
#include <cstdlib>
#include <exception>
#include <sys/stat.h>

namespace th {
std::vector<test_case>& registry() {
    static std::vector<test_case> r;
    return r;
}
int current_failures = 0;

static bool exists(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

std::string repo_dir() {
#ifdef CLASP_REPO_DIR
    return CLASP_REPO_DIR;
#else
    return ".";
#endif
}

std::string golden_dir() { return repo_dir() + "/test/fixtures/golden"; }
std::string demo_model() { return repo_dir() + "/resources/clasp-demo-29M-q8_0.gguf"; }

// The large reference models (the HF folder, the F16 and quantized GGUFs) are not in the repository:
// $CLASP_MODELS_DIR, else ../shared/models beside the checkout, else shared-gpu/models or
// shared/models inside it (a GPU server gets the repository only; see scripts/gpu-check.sh).
std::string models_dir() {
    if (const char* s = std::getenv("CLASP_MODELS_DIR")) return s;
    for (const char* rel : {"/../shared/models", "/shared-gpu/models", "/shared/models"}) {
        std::string p = repo_dir() + rel;
        if (exists(p)) return p;
    }
    return repo_dir() + "/../shared/models";
}

bool ci_refuses_skips() {
    const char* s = std::getenv("CI");
    return s && (std::string(s) == "true" || std::string(s) == "1");
}

std::string skip_reason;

std::string reference_model(const std::string& name) {
    std::string p = models_dir() + "/" + name;
    if (exists(p)) return p;
    std::string why = "reference model " + p + " not found (set CLASP_MODELS_DIR)";
    if (ci_refuses_skips()) report(__FILE__, __LINE__, "CI=true refuses to skip: " + why);
    else skip_reason = why;
    return "";
}
}  // namespace th

int main(int argc, char** argv) {
    std::string filter = argc > 1 ? argv[1] : "";
    bool exact = false;
    if (filter == "--list") {
        for (auto& t : th::registry()) std::printf("%s\n", t.name.c_str());
        return 0;
    }
    if (filter == "--only") {
        if (argc < 3) {
            std::fprintf(stderr, "usage: %s --only TEST_NAME\n", argv[0]);
            return 2;
        }
        filter = argv[2];
        exact = true;
    }
#ifdef CLASP_SUITE_CUDA
    std::string reason;
    if (!clasp::cuda_available(reason)) {
        std::printf("gpu: CUDA is not usable here: %s\n", reason.c_str());
        std::printf("gpu: 0 passed, 1 failed\n");
        return 1;
    }
#endif
    int passed = 0, failed = 0;
    std::string skipped;  // "a, b, c"
    int n_skipped = 0;
    for (auto& t : th::registry()) {
        if (exact ? t.name != filter : !filter.empty() && t.name.find(filter) == std::string::npos) continue;
        th::current_failures = 0;
        th::skip_reason.clear();
        auto t0 = std::chrono::steady_clock::now();
        try {
            t.fn();
        } catch (const std::exception& e) {
            th::report(__FILE__, __LINE__, std::string("uncaught exception: ") + e.what());
        }
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (th::current_failures == 0 && !th::skip_reason.empty()) {
            n_skipped++;
            skipped += (skipped.empty() ? "" : ", ") + t.name;
            std::printf("skip %s: %s\n", t.name.c_str(), th::skip_reason.c_str());
        } else if (th::current_failures == 0) {
            passed++;
            std::printf("ok   %s (%.0f ms)\n", t.name.c_str(), ms);
        } else {
            failed++;
            std::printf("FAIL %s (%d failures)\n", t.name.c_str(), th::current_failures);
        }
        std::fflush(stdout);
    }
    // The summary line scripts/test.js reads; skipped tests are named so nobody mistakes them for passes.
    if (n_skipped) std::printf(CLASP_SUITE_NAME ": %d passed, %d failed, %d skipped (%s)\n", passed, failed, n_skipped, skipped.c_str());
    else std::printf(CLASP_SUITE_NAME ": %d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
