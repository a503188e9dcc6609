#include "policy_store.h"
#include "../core/error.h"
#include "../core/json.h"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace clasp {
namespace policy_store {

namespace fs = std::filesystem;

namespace {

std::string num(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

std::string quoted(const std::string& s) {
    std::string o = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') { o += '\\'; o += (char)c; }
        else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); o += b; }
        else o += (char)c;
    }
    return o + "\"";
}

std::string list(const std::vector<double>& v, size_t from) {
    std::string o = "[";
    for (size_t i = from; i < v.size(); i++) o += (i > from ? "," : "") + num(v[i]);
    return o + "]";
}

std::string list(const std::array<double, CHAIN_BUCKETS>& v) {
    return list(std::vector<double>(v.begin(), v.end()), 0);
}

bool known_mode(const std::string& m) {
    return m == "clasp" || m == "static" || m == "clasp-fixed" || m == "static-fixed";
}

std::string file_stamp(const fs::path& p) {
    auto size = fs::file_size(p);
    auto mtime = fs::last_write_time(p).time_since_epoch().count();
    return p.string() + ":" + std::to_string(size) + ":" + std::to_string((long long)mtime);
}

// The checks on what is read back: each names the field at fault.
const json& field(const json& o, const char* k, json::kind_t kind) {
    const json* v = o.get(k);
    if (!v || v->kind != kind) fail(std::string("'") + k + "' is missing or of the wrong type");
    return *v;
}

double number(const json& o, const char* k, double lo, double hi) {
    double v = field(o, k, json::NUM).num;
    if (!std::isfinite(v) || v < lo || v > hi) fail(std::string("'") + k + "' is out of range");
    return v;
}

std::vector<double> numbers(const json& o, const char* k, size_t n_min, size_t n_max, double lo) {
    const json& a = field(o, k, json::ARR);
    if (a.arr.size() < n_min || a.arr.size() > n_max) fail(std::string("'") + k + "' has the wrong length");
    std::vector<double> v;
    for (const json& e : a.arr) {
        if (!e.is_num() || !std::isfinite(e.num) || e.num < lo || e.num > 1e7) fail(std::string("'") + k + "' holds a value out of range");
        v.push_back(e.num);
    }
    return v;
}

}  // namespace

std::string model_fingerprint(const std::string& model_path) {
    try {
        fs::path p(model_path);
        if (!fs::is_directory(p)) return file_stamp(fs::canonical(p));
        std::vector<std::string> parts;
        for (const auto& e : fs::directory_iterator(p))
            if (e.is_regular_file() && e.path().extension() == ".safetensors") parts.push_back(file_stamp(fs::canonical(e.path())));
        std::sort(parts.begin(), parts.end());
        std::string out;
        for (const auto& s : parts) out += s + ";";
        return out;
    } catch (const fs::filesystem_error& e) {
        fail("policy memory: cannot read " + model_path + ": " + e.code().message());
    }
}

std::string key(const std::string& model_path, const std::string& device_info) {
    return model_fingerprint(model_path) + " | " + device_info;
}

std::string file_for(const std::string& dir, const std::string& key) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a, 64-bit
    for (unsigned char c : key) { h ^= c; h *= 1099511628211ull; }
    char name[40];
    std::snprintf(name, sizeof name, "policy-%016llx.json", (unsigned long long)h);
    return (fs::path(dir) / name).string();
}

std::string to_json(const std::string& key, const learned& l) {
    std::ostringstream o;
    o << "{\"format\":\"clasp-policy\",\"version\":" << VERSION << ",\"key\":" << quoted(key);
    if (l.costs.measured) {
        o << ",\"costs\":{\"L\":" << l.costs.L << ",\"verify_ms\":" << list(l.costs.verify, 1)
          << ",\"draft_ms\":" << list(l.costs.draft, 0) << ",\"dp_ms\":" << list(l.costs.dp, 0) << "}";
    }
    o << ",\"memory\":{";
    bool first_mode = true;
    for (const auto& [mode, m] : l.memory) {
        o << (first_mode ? "" : ",") << quoted(mode) << ":{\"plain_tokens\":" << m.plain_tokens << ",\"backoff\":" << m.backoff
          << ",\"measured\":{\"tokens\":" << num(m.measured.tokens) << ",\"ms\":" << num(m.measured.ms)
          << ",\"plain_ms\":" << num(m.measured.plain_ms) << "},\"by_M\":{";
        bool first = true;
        for (const auto& [M, a] : m.by_M) {
            o << (first ? "" : ",") << "\"" << M << "\":[" << num(a.accepted) << "," << num(a.judged) << "]";
            first = false;
        }
        o << "},\"chain\":{";
        first = true;
        for (const auto& [M, a] : m.by_M) {
            if (a.chain.total() <= 0) continue;
            const chain_counts& cc = a.chain;
            o << (first ? "" : ",") << "\"" << M << "\":{\"drafts\":" << list(cc.drafts) << ",\"log_top1\":" << list(cc.log_top1)
              << ",\"accepted\":" << list(cc.accepted) << ",\"judged\":" << list(cc.judged) << "}";
            first = false;
        }
        o << "}}";
        first_mode = false;
    }
    o << "}}\n";
    return o.str();
}

learned from_json(const std::string& text, const std::string& want_key, int L) {
    json j = json_parse(text.data(), text.size(), "policy memory");
    if (!j.is_obj()) fail("not a JSON object");
    const json* f = j.get("format");
    if (!f || !f->is_str() || f->str != "clasp-policy") fail("not a clasp-policy file");
    int version = (int)number(j, "version", 0, 1e6);
    if (version != VERSION) fail("format version " + std::to_string(version) + ", this engine reads " + std::to_string(VERSION));
    if (field(j, "key", json::STR).str != want_key) fail("it was kept for another model file or machine setting");
    learned l;
    if (const json* c = j.get("costs")) {
        if (!c->is_obj()) fail("'costs' is not an object");
        if ((int)number(*c, "L", 1, 4096) != L) fail("'costs' is for another layer count");
        auto verify = numbers(*c, "verify_ms", 1, 1 << 16, 1e-9);
        auto draft = numbers(*c, "draft_ms", L + 1, L + 1, 1e-9);
        auto dp = numbers(*c, "dp_ms", L + 1, L + 1, 1e-9);
        l.costs = make_costs(L, verify, draft, dp);
    }
    const json& mem = field(j, "memory", json::OBJ);
    for (const auto& [mode, mj] : mem.obj) {
        if (!known_mode(mode)) fail("unknown mode '" + mode + "' in 'memory'");
        if (!mj.is_obj()) fail("'memory." + mode + "' is not an object");
        policy_memory m;
        m.plain_tokens = (int)number(mj, "plain_tokens", 0, 1e9);
        m.backoff = (int)number(mj, "backoff", 0, 64);
        const json& ms = field(mj, "measured", json::OBJ);
        m.measured.tokens = number(ms, "tokens", 0, 1e15);
        m.measured.ms = number(ms, "ms", 0, 1e15);
        m.measured.plain_ms = number(ms, "plain_ms", 0, 1e15);
        for (const auto& [k, a] : field(mj, "by_M", json::OBJ).obj) {
            char* end = nullptr;
            long M = std::strtol(k.c_str(), &end, 10);
            if (k.empty() || *end || M < 1 || M >= L) fail("skip count '" + k + "' is out of range for " + std::to_string(L) + " layers");
            if (!a.is_arr() || a.arr.size() != 2 || !a.arr[0].is_num() || !a.arr[1].is_num()) fail("'by_M." + k + "' is not [accepted, judged]");
            double acc = a.arr[0].num, judged = a.arr[1].num;
            if (!std::isfinite(acc) || !std::isfinite(judged) || acc < 0 || acc > judged || judged > 1e15)
                fail("'by_M." + k + "' has counts out of range");
            m.by_M[(int)M].accepted = acc;
            m.by_M[(int)M].judged = judged;
        }
        for (const auto& [k, cj] : field(mj, "chain", json::OBJ).obj) {
            char* end = nullptr;
            long M = std::strtol(k.c_str(), &end, 10);
            if (k.empty() || *end || !m.by_M.count((int)M)) fail("'chain." + k + "' has no counts in 'by_M'");
            if (!cj.is_obj()) fail("'chain." + k + "' is not an object");
            chain_counts& cc = m.by_M[(int)M].chain;
            auto bucket = [&](const char* name, std::array<double, CHAIN_BUCKETS>& to, double lo, double hi) {
                const json& a = field(cj, name, json::ARR);
                if (a.arr.size() != CHAIN_BUCKETS) fail("'chain." + k + "." + name + "' needs " + std::to_string(CHAIN_BUCKETS) + " values");
                for (int b = 0; b < CHAIN_BUCKETS; b++) {
                    const json& e = a.arr[b];
                    if (!e.is_num() || !std::isfinite(e.num) || e.num < lo || e.num > hi) fail("'chain." + k + "." + name + "' holds a value out of range");
                    to[b] = e.num;
                }
            };
            bucket("drafts", cc.drafts, 0, 1e15);
            bucket("log_top1", cc.log_top1, -1e17, 0);
            bucket("accepted", cc.accepted, 0, 1e15);
            bucket("judged", cc.judged, 0, 1e15);
            for (int b = 0; b < CHAIN_BUCKETS; b++) {
                // A bucket's mean log top-1 lies in its range's log (within rounding); none judged beyond those drafted.
                const double mean = cc.drafts[b] > 0 ? cc.log_top1[b] / cc.drafts[b] : 0;
                if (cc.accepted[b] > cc.judged[b] || cc.judged[b] > cc.drafts[b] || (cc.drafts[b] == 0 && cc.log_top1[b] != 0) ||
                    mean < std::log(std::max(1e-6, (double)b / CHAIN_BUCKETS)) - 1e-9)
                    fail("'chain." + k + "' has counts out of range");
            }
        }
        l.memory[mode] = std::move(m);
    }
    return l;
}

bool load(const std::string& file, const std::string& key, int L, learned& out, std::string& warning) {
    warning.clear();
    std::error_code ec;
    if (!fs::exists(file, ec)) return false;
    try {
        auto size = fs::file_size(file);
        if (size > (1u << 20)) fail("larger than 1 MiB");
        std::ifstream in(file, std::ios::binary);
        if (!in) fail("cannot be opened");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        out = from_json(text, key, L);
        return true;
    } catch (const std::exception& e) {
        warning = "ignored the policy memory in " + file + " (" + e.what() + "); it will be measured again";
        return false;
    }
}

void save(const std::string& file, const std::string& key, const learned& l) {
    std::error_code ec;
    fs::path p(file);
    fs::create_directories(p.parent_path(), ec);
    if (ec) fail("cannot create " + p.parent_path().string() + ": " + ec.message());
    // A temporary name per process: two processes writing at once never interleave within a file.
    fs::path tmp = p;
    tmp += ".tmp" + std::to_string((long)getpid());
    {
        std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
        if (!o) fail("cannot write " + tmp.string());
        o << to_json(key, l);
        if (!o.flush()) fail("cannot write " + tmp.string());
    }
    fs::rename(tmp, p, ec);
    if (ec) {
        fs::remove(tmp, ec);
        fail("cannot replace " + file);
    }
}

}  // namespace policy_store
}  // namespace clasp
