// The run-time probe that decides whether CUDA can be used at all, with a reason a user can read
// when it cannot (no driver, no device, a driver older than the toolkit, a card this build has no
// code for).
#include "cuda_ops.h"
#include <dlfcn.h>

#ifndef CLASP_CUDA_ARCHS
#define CLASP_CUDA_ARCHS "unknown"
#endif

namespace clasp {
namespace {

// A kernel whose attributes tell whether this build has code the device can run.
__global__ void probe_kernel(int* p) {
    if (p) *p = 1;
}

}  // namespace

bool cuda_probe(std::string& reason) {
    // cudart loads the driver library itself; looking first gives a plain reason when it is absent.
    if (!dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
        const char* e = dlerror();
        reason = std::string("no NVIDIA driver found (libcuda.so.1 could not be loaded") + (e ? std::string(": ") + e : "") + ")";
        return false;
    }
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaErrorNoDevice || (e == cudaSuccess && n == 0)) {
        cudaGetLastError();
        reason = "no CUDA device found";
        return false;
    }
    if (e == cudaErrorInsufficientDriver) {
        cudaGetLastError();
        int drv = 0;
        cudaDriverGetVersion(&drv);
        reason = "the NVIDIA driver supports CUDA " + (drv ? cuda::cuda_version(drv) : std::string("(unknown)")) +
                 ", but this build needs CUDA " + cuda::cuda_version(CUDART_VERSION) +
                 " (update the driver, or rebuild with the toolkit the driver supports)";
        return false;
    }
    if (e != cudaSuccess) {
        cudaGetLastError();
        reason = std::string("CUDA is not usable: ") + cudaGetErrorName(e) + ": " + cudaGetErrorString(e);
        return false;
    }
    cudaDeviceProp prop;
    e = cudaGetDeviceProperties(&prop, 0);
    if (e != cudaSuccess) {
        cudaGetLastError();
        reason = std::string("CUDA device 0 cannot be queried: ") + cudaGetErrorString(e);
        return false;
    }
    if (prop.major < 8) {
        reason = std::string(prop.name) + " has compute capability " + std::to_string(prop.major) + "." +
                 std::to_string(prop.minor) + "; the CUDA backend needs 8.0 or newer";
        return false;
    }
    cudaFuncAttributes attr;
    e = cudaFuncGetAttributes(&attr, probe_kernel);
    if (e != cudaSuccess) {
        cudaGetLastError();
        reason = std::string(prop.name) + " (compute capability " + std::to_string(prop.major) + "." +
                 std::to_string(prop.minor) + ") cannot run this build's kernels (built for " CLASP_CUDA_ARCHS "): " +
                 cudaGetErrorString(e) + "; rebuild with -DCLASP_CUDA_ARCHITECTURES=" + std::to_string(prop.major) +
                 std::to_string(prop.minor);
        return false;
    }
    return true;
}

}  // namespace clasp
