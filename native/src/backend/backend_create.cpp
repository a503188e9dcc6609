#include "backend.h"
#include "../core/error.h"
#include "cpu/cpu_backend.h"
#include "ref/ref_backend.h"
#include <thread>

namespace clasp {

#ifdef CLASP_WITH_CUDA
std::unique_ptr<backend> cuda_backend_create(std::string& reason);
bool cuda_probe(std::string& reason);
#endif

kv_type kv_type_parse(const std::string& s, const std::string& what) {
    if (s == "f32") return kv_type::f32;
    if (s == "f16") return kv_type::f16;
    fail(what + " must be f32 or f16 (got '" + s + "')");
}

bool cuda_available(std::string& reason) {
#ifdef CLASP_WITH_CUDA
    return cuda_probe(reason);
#else
    reason = "this build has no CUDA support (nvcc was not found at build time)";
    return false;
#endif
}

std::unique_ptr<backend> backend_create(const std::string& kind, int n_threads) {
    if (n_threads <= 0) {
        unsigned hc = std::thread::hardware_concurrency();
        n_threads = hc ? (int)hc : 1;
    }
    if (n_threads > 256) fail("--threads " + std::to_string(n_threads) + " is out of range (1 to 256)");
    if (kind == "ref") return std::make_unique<ref_backend>();
    if (kind == "cpu") return std::make_unique<cpu_backend>(n_threads, cpu_kernels_best());
    if (kind == "cuda") {
        std::string reason;
        if (!cuda_available(reason)) fail("--backend cuda: " + reason);
#ifdef CLASP_WITH_CUDA
        auto b = cuda_backend_create(reason);
        if (!b) fail("--backend cuda: " + reason);
        return b;
#endif
    }
    fail("unknown backend '" + kind + "' (expected auto, cpu, cuda or ref)");
}

}  // namespace clasp
