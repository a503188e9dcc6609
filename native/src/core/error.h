// Errors a user can read: every failure in the engine is an engine_error with a one-line message
// that names the file or value at fault. Nothing in the engine aborts the process on bad input.
#pragma once
#include <stdexcept>
#include <string>

namespace clasp {

// Messages quote names and strings read from untrusted files; a control byte in one (a newline, a
// terminal escape) would break the one-line message, so those bytes are shown as \xNN.
inline std::string one_line_message(const std::string& msg) {
    std::string out;
    out.reserve(msg.size());
    for (unsigned char ch : msg) {
        if (ch >= 0x20 && ch != 0x7f) { out += (char)ch; continue; }
        const char* hex = "0123456789abcdef";
        out += "\\x";
        out += hex[ch >> 4];
        out += hex[ch & 15];
    }
    return out;
}

struct engine_error : std::runtime_error {
    explicit engine_error(const std::string& msg) : std::runtime_error(one_line_message(msg)) {}
};

[[noreturn]] inline void fail(const std::string& msg) { throw engine_error(msg); }

}  // namespace clasp
