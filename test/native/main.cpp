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

// $CLASP_SHARED, else ../shared beside the checkout, else shared-gpu/ or shared/ inside it (a GPU
// server gets the repository only; scripts/gpu-check.sh explains what to copy there).
std::string shared_dir() {
    if (const char* s = std::getenv("CLASP_SHARED")) return s;
    for (const char* rel : {"/../shared", "/shared-gpu", "/shared"}) {
        std::string p = repo_dir() + rel;
        if (exists(p + "/golden/golden.json")) return p;
    }
    return repo_dir() + "/../shared";
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
    for (auto& t : th::registry()) {
        if (exact ? t.name != filter : !filter.empty() && t.name.find(filter) == std::string::npos) continue;
        th::current_failures = 0;
        auto t0 = std::chrono::steady_clock::now();
        try {
            t.fn();
        } catch (const std::exception& e) {
            th::report(__FILE__, __LINE__, std::string("uncaught exception: ") + e.what());
        }
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (th::current_failures == 0) {
            passed++;
            std::printf("ok   %s (%.0f ms)\n", t.name.c_str(), ms);
        } else {
            failed++;
            std::printf("FAIL %s (%d failures)\n", t.name.c_str(), th::current_failures);
        }
        std::fflush(stdout);
    }
    std::printf(CLASP_SUITE_NAME ": %d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
