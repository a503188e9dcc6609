#include "json.h"
#include "error.h"
#include <cmath>
#include <cstdlib>

namespace clasp {
namespace {

struct parser {
    const char* s;
    size_t n, i = 0;
    const std::string& what;
    int depth = 0;

    [[noreturn]] void err(const std::string& why) {
        fail(what + ": invalid JSON at byte " + std::to_string(i) + ": " + why);
    }
    void ws() { while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++; }
    bool lit(const char* w) {
        size_t k = 0;
        while (w[k]) { if (i + k >= n || s[i + k] != w[k]) return false; k++; }
        i += k;
        return true;
    }
    void put_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) out += (char)cp;
        else if (cp < 0x800) { out += (char)(0xc0 | (cp >> 6)); out += (char)(0x80 | (cp & 0x3f)); }
        else if (cp < 0x10000) {
            out += (char)(0xe0 | (cp >> 12)); out += (char)(0x80 | ((cp >> 6) & 0x3f));
            out += (char)(0x80 | (cp & 0x3f));
        } else {
            out += (char)(0xf0 | (cp >> 18)); out += (char)(0x80 | ((cp >> 12) & 0x3f));
            out += (char)(0x80 | ((cp >> 6) & 0x3f)); out += (char)(0x80 | (cp & 0x3f));
        }
    }
    uint32_t hex4() {
        if (i + 4 > n) err("truncated \\u escape");
        uint32_t v = 0;
        for (int k = 0; k < 4; k++) {
            char c = s[i++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= c - '0';
            else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
            else err("bad \\u escape");
        }
        return v;
    }
    std::string string() {
        if (i >= n || s[i] != '"') err("expected a string");
        i++;
        std::string out;
        while (true) {
            if (i >= n) err("unterminated string");
            char c = s[i++];
            if (c == '"') break;
            if ((unsigned char)c < 0x20) err("control character in string");
            if (c != '\\') { out += c; continue; }
            if (i >= n) err("unterminated escape");
            char e = s[i++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    uint32_t cp = hex4();
                    if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
                        i += 2;
                        uint32_t lo = hex4();
                        if (lo >= 0xdc00 && lo < 0xe000) cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        else err("bad surrogate pair");
                    }
                    put_utf8(out, cp);
                    break;
                }
                default: err("bad escape");
            }
        }
        return out;
    }
    json value() {
        if (++depth > 64) err("nesting too deep");
        ws();
        if (i >= n) err("unexpected end");
        json v;
        char c = s[i];
        if (c == '{') {
            v.kind = json::OBJ;
            i++;
            ws();
            if (i < n && s[i] == '}') { i++; }
            else {
                while (true) {
                    ws();
                    std::string k = string();
                    ws();
                    if (i >= n || s[i] != ':') err("expected ':'");
                    i++;
                    if (v.obj.count(k)) err("duplicate key \"" + k + "\"");
                    v.obj[k] = value();
                    ws();
                    if (i < n && s[i] == ',') { i++; continue; }
                    if (i < n && s[i] == '}') { i++; break; }
                    err("expected ',' or '}'");
                }
            }
        } else if (c == '[') {
            v.kind = json::ARR;
            i++;
            ws();
            if (i < n && s[i] == ']') { i++; }
            else {
                while (true) {
                    v.arr.push_back(value());
                    ws();
                    if (i < n && s[i] == ',') { i++; continue; }
                    if (i < n && s[i] == ']') { i++; break; }
                    err("expected ',' or ']'");
                }
            }
        } else if (c == '"') {
            v.kind = json::STR;
            v.str = string();
        } else if (lit("true")) { v.kind = json::BOOL; v.b = true; }
        else if (lit("false")) { v.kind = json::BOOL; v.b = false; }
        else if (lit("null")) { v.kind = json::NUL; }
        else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t st = i;
            if (s[i] == '-') i++;
            while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
                             s[i] == '+' || s[i] == '-'))
                i++;
            std::string t(s + st, i - st);
            char* end = nullptr;
            v.kind = json::NUM;
            v.num = std::strtod(t.c_str(), &end);
            if (end != t.c_str() + t.size() || !std::isfinite(v.num)) { i = st; err("bad number"); }
        } else {
            err(std::string("unexpected character '") + c + "'");
        }
        depth--;
        return v;
    }
};

}  // namespace

json json_parse(const char* text, size_t len, const std::string& what) {
    parser p{text, len, 0, what};
    json v = p.value();
    p.ws();
    // safetensors pads its header with spaces; anything else after the value is an error.
    if (p.i != len) p.err("trailing data after the value");
    return v;
}

}  // namespace clasp
