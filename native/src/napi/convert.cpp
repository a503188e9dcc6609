#include "convert.h"
#include "core/error.h"
#include <cmath>

namespace clasp::js {

std::string get_str(const Napi::Object& o, const char* k, const std::string& def) {
    Napi::Value v = o.Get(k);
    if (v.IsUndefined() || v.IsNull()) return def;
    if (!v.IsString()) throw engine_error(std::string("option '") + k + "' must be a string");
    return v.As<Napi::String>().Utf8Value();
}

double get_num(const Napi::Object& o, const char* k, double def) {
    Napi::Value v = o.Get(k);
    if (v.IsUndefined() || v.IsNull()) return def;
    if (!v.IsNumber()) throw engine_error(std::string("option '") + k + "' must be a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) throw engine_error(std::string("option '") + k + "' must be finite");
    return d;
}

bool get_bool(const Napi::Object& o, const char* k, bool def) {
    Napi::Value v = o.Get(k);
    if (v.IsUndefined() || v.IsNull()) return def;
    if (!v.IsBoolean()) throw engine_error(std::string("option '") + k + "' must be a boolean");
    return v.As<Napi::Boolean>().Value();
}

std::vector<int> get_ids(const Napi::Value& v, const char* what) {
    std::vector<int> ids;
    if (v.IsTypedArray()) {
        auto ta = v.As<Napi::TypedArray>();
        if (ta.TypedArrayType() != napi_int32_array) throw engine_error(std::string(what) + " must be an Int32Array or an array of integers");
        auto a = v.As<Napi::Int32Array>();
        ids.assign(a.Data(), a.Data() + a.ElementLength());
        return ids;
    }
    if (!v.IsArray()) throw engine_error(std::string(what) + " must be an array of token ids");
    auto a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
        Napi::Value e = a.Get(i);
        if (!e.IsNumber()) throw engine_error(std::string(what) + " must hold integers");
        double d = e.As<Napi::Number>().DoubleValue();
        if (d != (double)(int)d) throw engine_error(std::string(what) + " must hold integers");
        ids.push_back((int)d);
    }
    return ids;
}

namespace {

Napi::Value num_or_null(Napi::Env env, double v) { return std::isfinite(v) ? Napi::Number::New(env, v) : env.Null(); }

Napi::Array f32_list(Napi::Env env, const std::vector<float>& v) {
    auto a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); i++) a.Set((uint32_t)i, num_or_null(env, v[i]));
    return a;
}

Napi::Array f64_list(Napi::Env env, const std::vector<double>& v, size_t from) {
    auto a = Napi::Array::New(env, v.size() > from ? v.size() - from : 0);
    for (size_t i = from; i < v.size(); i++) a.Set((uint32_t)(i - from), num_or_null(env, v[i]));
    return a;
}

Napi::Object dp_to_js(Napi::Env env, const dp_event& dp) {
    auto d = Napi::Object::New(env);
    d.Set("target_pos", dp.target_pos);
    d.Set("ms", dp.ms);
    d.Set("M", dp.M);
    if (dp.given) d.Set("given", true);
    d.Set("path_cosine", f32_list(env, dp.path_cosine));
    d.Set("layer_cosine", f32_list(env, dp.layer_cosine));
    if (!dp.table.empty()) {
        int M1 = dp.M + 1, L1 = (int)dp.table.size() / M1;
        auto t = Napi::Array::New(env, L1);
        for (int i = 0; i < L1; i++) {
            auto row = Napi::Array::New(env, M1);
            for (int j = 0; j < M1; j++) row.Set(j, num_or_null(env, dp.table[(size_t)i * M1 + j]));
            t.Set(i, row);
        }
        d.Set("table", t);
    }
    return d;
}

Napi::Object costs_to_js(Napi::Env env, const cost_table& c) {
    auto o = Napi::Object::New(env);
    o.Set("c1_ms", c.c1());
    o.Set("verify_ms", f64_list(env, c.verify, 1));  // T = 1..
    o.Set("draft_ms", f64_list(env, c.draft, 0));    // M = 0..L
    o.Set("dp_ms", f64_list(env, c.dp, 0));          // M = 0..L
    return o;
}

}  // namespace

Napi::Array int_list(Napi::Env env, const std::vector<int>& v) {
    auto a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); i++) a.Set((uint32_t)i, Napi::Number::New(env, v[i]));
    return a;
}

Napi::Value gguf_to_js(Napi::Env env, const gguf_value& v) {
    switch (v.kind) {
        case gguf_value::STRING: return Napi::String::New(env, v.s);
        case gguf_value::BOOL: return Napi::Boolean::New(env, v.b);
        case gguf_value::FLOAT: return Napi::Number::New(env, v.f);
        case gguf_value::INT: return Napi::Number::New(env, (double)v.i);
        case gguf_value::UINT: return Napi::Number::New(env, (double)v.u);
        case gguf_value::ARRAY: {
            if (v.elem_kind == gguf_value::STRING) {
                auto a = Napi::Array::New(env, v.strs.size());
                for (size_t i = 0; i < v.strs.size(); i++) a.Set((uint32_t)i, Napi::String::New(env, v.strs[i]));
                return a;
            }
            auto a = Napi::Array::New(env, v.nums.size());
            for (size_t i = 0; i < v.nums.size(); i++) a.Set((uint32_t)i, Napi::Number::New(env, v.nums[i]));
            return a;
        }
    }
    return env.Null();
}

gen_params parse_params(const Napi::Object& o) {
    gen_params p;
    p.max_tokens = (int)get_num(o, "maxTokens", 128);
    p.sampling.temperature = (float)get_num(o, "temperature", 0);
    p.sampling.top_k = (int)get_num(o, "topK", 0);
    p.sampling.top_p = (float)get_num(o, "topP", 1);
    double seed = get_num(o, "seed", 0);
    if (seed < 0 || seed > 9007199254740991.0) throw engine_error("seed must be a non-negative integer");
    p.sampling.seed = (uint64_t)seed;
    p.ignore_eos = get_bool(o, "ignoreEos", false);
    p.mode = get_str(o, "mode", "ar");
    p.skip = (int)get_num(o, "skip", -1);
    p.skip_ratio = (float)get_num(o, "skipRatio", -1);
    p.det = (float)get_num(o, "det", -1);
    p.max_draft = (int)get_num(o, "maxDraft", 12);
    p.loi = (int)get_num(o, "loi", 0);
    p.dp_table = get_bool(o, "dpTable", false);
    p.force_speculation = get_bool(o, "forceSpeculation", false);
    const double nlp = get_num(o, "logprobs", 0);
    if (nlp != std::floor(nlp) || nlp < 0 || nlp > MAX_LOGPROBS)
        throw engine_error("logprobs must be an integer from 0 (off) to " + std::to_string(MAX_LOGPROBS));
    p.n_logprobs = (int)nlp;
    Napi::Value sl = o.Get("skipLayers");
    if (!sl.IsUndefined() && !sl.IsNull()) p.skip_layers = get_ids(sl, "skipLayers");  // checked against L by the engine
    // The last line of defence: the TypeScript layers validate these first.
    if (p.max_tokens < 0 || p.max_tokens > 1 << 20) throw engine_error("maxTokens is out of range");
    if (p.sampling.temperature < 0 || p.sampling.temperature > 100) throw engine_error("temperature must be in [0, 100]");
    if (p.sampling.top_p <= 0 || p.sampling.top_p > 1) throw engine_error("topP must be in (0, 1]");
    if (p.sampling.top_k < 0) throw engine_error("topK must be >= 0");
    if (p.det != -1 && !(p.det >= 0 && p.det <= 1)) throw engine_error("det must be in [0, 1] (or absent for automatic)");
    if (p.loi < 0 || p.loi > 1 << 20) throw engine_error("loi must be >= 1 (or absent for automatic)");
    return p;
}

namespace {
// A decision's fields (without its position).
void set_decision(Napi::Env env, Napi::Object& o, const decision& d) {
    o.Set("speculate", d.speculate);
    o.Set("probe", d.probe);
    o.Set("forced", d.forced);
    o.Set("can_pay", d.can_pay);
    o.Set("M", d.M);
    o.Set("k", d.k);
    o.Set("det", d.det);
    o.Set("loi", d.loi);
    o.Set("alpha", num_or_null(env, d.alpha));
    o.Set("alpha_drafts", d.alpha_drafts);
    o.Set("predicted_speedup", num_or_null(env, d.predicted_speedup));
    o.Set("verify_steps", num_or_null(env, d.verify_steps));
    o.Set("draft_steps", num_or_null(env, d.draft_steps));
    o.Set("dp_steps", num_or_null(env, d.dp_steps));
    o.Set("reason", d.reason);
}
}  // namespace

Napi::Object decision_to_js(Napi::Env env, const policy_event& e) {
    auto o = Napi::Object::New(env);
    o.Set("pos", e.pos);
    set_decision(env, o, e.d);
    return o;
}

Napi::Object plain_to_js(Napi::Env env, const plain_event& e) {
    auto o = Napi::Object::New(env);
    o.Set("pos", e.pos);
    o.Set("n", e.n);
    o.Set("reason", e.reason);
    return o;
}

Napi::Object round_to_js(Napi::Env env, const round_event& r) {
    auto o = Napi::Object::New(env);
    o.Set("index", r.index);
    o.Set("pos", r.pos);
    o.Set("skip", int_list(env, r.skip));
    o.Set("det", r.det);
    o.Set("stop", r.stop);
    o.Set("dp", r.dp ? (Napi::Value)dp_to_js(env, *r.dp) : env.Null());
    auto dr = Napi::Object::New(env);
    dr.Set("ids", int_list(env, r.draft_ids));
    dr.Set("q", f32_list(env, r.draft_q));
    dr.Set("top1", f32_list(env, r.draft_top1));
    dr.Set("ms", r.draft_ms);
    o.Set("draft", dr);
    auto v = Napi::Object::New(env);
    v.Set("accepted", r.accepted);
    v.Set("p", f32_list(env, r.verify_p));
    v.Set("next_id", r.next_id);
    v.Set("ms", r.verify_ms);
    o.Set("verify", v);
    o.Set("policy", r.policy ? (Napi::Value)decision_to_js(env, *r.policy) : env.Null());
    return o;
}

Napi::Object logprobs_to_js(Napi::Env env, const token_logprobs& lp) {
    auto o = Napi::Object::New(env);
    o.Set("logprob", num_or_null(env, lp.logprob));
    auto top = Napi::Array::New(env, lp.top_ids.size());
    for (size_t i = 0; i < lp.top_ids.size(); i++) {
        auto t = Napi::Object::New(env);
        t.Set("id", lp.top_ids[i]);
        t.Set("logprob", num_or_null(env, lp.top_logprobs[i]));
        top.Set((uint32_t)i, t);
    }
    o.Set("top", top);
    return o;
}

Napi::Object stats_to_js(Napi::Env env, const gen_stats& s) {
    auto o = Napi::Object::New(env);
    bool spec = s.mode != "ar";
    auto spec_num = [&](double v) -> Napi::Value { return spec && std::isfinite(v) ? Napi::Number::New(env, v) : env.Null(); };
    o.Set("mode", s.mode);
    o.Set("backend", s.backend);
    o.Set("n_prompt", s.n_prompt);
    o.Set("n_reused", s.n_reused);
    o.Set("n_generated", s.n_generated);
    o.Set("prefill_ms", s.prefill_ms);
    o.Set("decode_ms", s.decode_ms);
    o.Set("tokens_per_s", s.tokens_per_s);
    o.Set("ttft_ms", s.ttft_ms);
    o.Set("rounds", spec_num(s.rounds));
    o.Set("drafted", spec_num(s.drafted));
    o.Set("accepted", spec_num(s.accepted));
    o.Set("plain_steps", spec_num(s.plain_steps));
    o.Set("mean_accepted_length", spec_num(s.mean_accepted_length));
    o.Set("acceptance_rate", spec_num(s.acceptance_rate));
    o.Set("dp_runs", spec_num(s.dp_runs));
    o.Set("dp_ms", spec_num(s.dp_ms));
    o.Set("calibration_ms", spec_num(s.calibration_ms));
    o.Set("plain_tokens_per_s", spec_num(s.plain_tokens_per_s));
    o.Set("speedup", spec_num(s.speedup));
    o.Set("predicted_speedup", spec_num(s.predicted_speedup));
    o.Set("costed_speedup", spec_num(s.costed_speedup));
    o.Set("reason", spec ? Napi::String::New(env, s.reason) : env.Null());
    o.Set("backend_reason", s.backend_reason.empty() ? env.Null() : Napi::String::New(env, s.backend_reason));
    o.Set("policy", spec ? Napi::String::New(env, s.policy) : env.Null());
    o.Set("fallback", s.fallback);
    o.Set("final_M", spec_num(s.final_M));
    o.Set("det", spec_num(s.det));
    o.Set("loi", spec_num(s.loi));
    o.Set("costs", spec && s.costs.measured ? (Napi::Value)costs_to_js(env, s.costs) : env.Null());
    o.Set("draft_ms", spec_num(s.draft_ms));
    o.Set("verify_ms", spec_num(s.verify_ms));
    o.Set("plain_ms", spec_num(s.plain_ms));
    if (spec) {
        auto a = Napi::Array::New(env, s.stretches.size());
        for (size_t i = 0; i < s.stretches.size(); i++) {
            auto e = Napi::Object::New(env);
            e.Set("from", s.stretches[i].from);
            e.Set("n", s.stretches[i].n);
            set_decision(env, e, s.stretches[i].d);
            a.Set((uint32_t)i, e);
        }
        o.Set("stretches", a);
        auto h = Napi::Object::New(env);
        h.Set("tokens", s.earlier.tokens);
        h.Set("ms", s.earlier.ms);
        h.Set("speedup", num_or_null(env, s.earlier.ms > 0 ? s.earlier.plain_ms / s.earlier.ms : NAN));
        o.Set("earlier", h);
    } else {
        o.Set("stretches", env.Null());
        o.Set("earlier", env.Null());
    }
    return o;
}

}  // namespace clasp::js
