// Errors a user can read: every failure in the engine is an engine_error with a one-line message
// that names the file or value at fault. Nothing in the engine aborts the process on bad input.
#pragma once
#include <stdexcept>
#include <string>

namespace clasp {

struct engine_error : std::runtime_error {
    explicit engine_error(const std::string& msg) : std::runtime_error(msg) {}
};

[[noreturn]] inline void fail(const std::string& msg) { throw engine_error(msg); }

}  // namespace clasp
