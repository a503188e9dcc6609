// Helpers for the GPU tests: the shared CUDA backend and device buffers that upload on construction
// and download on demand. Random data, weights and error measures come from test/native/util.h.
#pragma once
#include "core/error.h"
#include "op_cases.h"
#include "util.h"
#include <memory>

namespace tg {

// One CUDA backend for the whole suite (created on first use).
inline clasp::backend& cuda() {
    static std::unique_ptr<clasp::backend> be = clasp::backend_create("cuda", 1);
    return *be;
}

// A float buffer in device memory (op_cases.h: uploads on construction, downloads on demand).
using dbuf = oc::buf;
using oc::same_bits;

}  // namespace tg
