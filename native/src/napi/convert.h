// Conversions between JavaScript values and the engine's structs: option readers that throw one
// clear error per bad field, and the shapes of stats, rounds and policy events (docs/NUMBERS.md).
#pragma once
#include <napi.h>
#include "model/gguf.h"
#include "runtime/engine.h"
#include <string>
#include <vector>

namespace clasp::js {

std::string get_str(const Napi::Object& o, const char* k, const std::string& def);
double get_num(const Napi::Object& o, const char* k, double def);
bool get_bool(const Napi::Object& o, const char* k, bool def);
std::vector<int> get_ids(const Napi::Value& v, const char* what);

Napi::Array int_list(Napi::Env env, const std::vector<int>& v);
Napi::Value gguf_to_js(Napi::Env env, const gguf_value& v);

gen_params parse_params(const Napi::Object& o);
Napi::Object round_to_js(Napi::Env env, const round_event& r);
Napi::Object decision_to_js(Napi::Env env, const policy_event& e);
Napi::Object plain_to_js(Napi::Env env, const plain_event& e);
Napi::Object stats_to_js(Napi::Env env, const gen_stats& s);
Napi::Object logprobs_to_js(Napi::Env env, const token_logprobs& lp);

}  // namespace clasp::js
