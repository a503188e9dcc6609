// What the policy learned on one model and machine, kept across processes: the cost table and each
// mode's acceptance memory, in one small JSON file per key. The key names everything the figures
// depend on (the model file's path, size and modification time; the backend, its threads and its
// kernel level), so another model, machine setting or a rewritten model file never reuses them.
// A file that cannot be read back exactly (corrupt, another format version, another key, a value
// out of range) is ignored with a one-line warning, and the figures are measured again.
#pragma once
#include "cost_table.h"
#include "policy.h"
#include <map>
#include <string>

namespace clasp {

struct learned {
    cost_table costs;                             // costs.measured false: none kept
    std::map<std::string, policy_memory> memory;  // per mode: "clasp", "static", "clasp-fixed", "static-fixed"
};

namespace policy_store {

constexpr int VERSION = 2;  // 2: chain counts per M (policy_chain.h); version 1 files are ignored

// The model's fingerprint: its path, size and modification time (for a Hugging Face folder, those
// of its *.safetensors files). Throws engine_error when the path cannot be read.
std::string model_fingerprint(const std::string& model_path);

// The key: the fingerprint plus the backend's own description (device_info: its threads and kernel
// level on the CPU, the device on CUDA).
std::string key(const std::string& model_path, const std::string& device_info);

// The file a key is kept in, inside dir: policy-<64-bit hash of the key>.json.
std::string file_for(const std::string& dir, const std::string& key);

std::string to_json(const std::string& key, const learned& l);

// Parses a file's text for a model of L layers; throws engine_error with the first problem found.
learned from_json(const std::string& text, const std::string& key, int L);

// Reads a kept file. Returns false when there is none (warning empty) or it cannot be used (warning
// says why, in one line).
bool load(const std::string& file, const std::string& key, int L, learned& out, std::string& warning);

// Writes atomically (a temporary file renamed over the old one), creating dir when needed. Throws
// engine_error when it cannot.
void save(const std::string& file, const std::string& key, const learned& l);

}  // namespace policy_store
}  // namespace clasp
