#include "kernels.h"
#include "../../core/error.h"
#include <cstdlib>
#include <string>

namespace clasp {

const cpu_kernels& cpu_kernels_best() {
    bool has512 = false, has2 = false, hasvnni = false;
#if defined(__x86_64__)
    __builtin_cpu_init();
    has512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    hasvnni = has2 && __builtin_cpu_supports("avxvnni");
#endif
    if (const char* want = std::getenv("CLASP_CPU_LEVEL")) {
        std::string w = want;
        if (w == "generic") return cpu_kernels_generic();
        if (w == "avx2" && has2) return cpu_kernels_avx2();
        if (w == "avxvnni" && hasvnni) return cpu_kernels_avxvnni();
        if (w == "avx512" && has512) return cpu_kernels_avx512();
        if (w == "avx2" || w == "avxvnni" || w == "avx512")
            fail("CLASP_CPU_LEVEL=" + w + ": this processor does not support it");
        fail("CLASP_CPU_LEVEL=" + w + " is not a kernel level (use generic, avx2, avxvnni or avx512)");
    }
    if (has512) return cpu_kernels_avx512();
    if (hasvnni) return cpu_kernels_avxvnni();
    if (has2) return cpu_kernels_avx2();
    return cpu_kernels_generic();
}

}  // namespace clasp
