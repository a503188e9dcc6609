// The Node addon: the only file that includes napi.h. Long calls (load, generate, forward) run on
// libuv worker threads as AsyncWorkers returning Promises; tokens and round events stream back
// through a thread-safe function, so the JavaScript thread never blocks.
#include <napi.h>
#include "core/error.h"
#include "runtime/engine.h"
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <variant>

using namespace clasp;

namespace {

// ------------------------------------------------------------------ argument helpers

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

Napi::Float32Array f32(Napi::Env env, const std::vector<float>& v) {
    auto a = Napi::Float32Array::New(env, v.size());
    if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * 4);
    return a;
}

Napi::Value num_or_null(Napi::Env env, double v) {
    return std::isfinite(v) ? Napi::Number::New(env, v) : env.Null();
}

Napi::Array f32_list(Napi::Env env, const std::vector<float>& v) {
    auto a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); i++) a.Set((uint32_t)i, num_or_null(env, v[i]));
    return a;
}

Napi::Array int_list(Napi::Env env, const std::vector<int>& v) {
    auto a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); i++) a.Set((uint32_t)i, Napi::Number::New(env, v[i]));
    return a;
}

Napi::Object round_to_js(Napi::Env env, const round_event& r) {
    auto o = Napi::Object::New(env);
    o.Set("index", r.index);
    o.Set("pos", r.pos);
    o.Set("skip", int_list(env, r.skip));
    if (r.dp) {
        auto d = Napi::Object::New(env);
        d.Set("target_pos", r.dp->target_pos);
        d.Set("ms", r.dp->ms);
        d.Set("M", r.dp->M);
        d.Set("path_cosine", f32_list(env, r.dp->path_cosine));
        d.Set("layer_cosine", f32_list(env, r.dp->layer_cosine));
        if (!r.dp->table.empty()) {
            int M1 = r.dp->M + 1, L1 = (int)r.dp->table.size() / M1;
            auto t = Napi::Array::New(env, L1);
            for (int i = 0; i < L1; i++) {
                auto row = Napi::Array::New(env, M1);
                for (int j = 0; j < M1; j++) row.Set(j, num_or_null(env, r.dp->table[(size_t)i * M1 + j]));
                t.Set(i, row);
            }
            d.Set("table", t);
        }
        o.Set("dp", d);
    } else {
        o.Set("dp", env.Null());
    }
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
    if (r.policy_changed) {
        auto p = Napi::Object::New(env);
        p.Set("M", r.policy_M);
        p.Set("det", r.policy_det);
        p.Set("reason", r.policy_reason);
        o.Set("policy", p);
    } else {
        o.Set("policy", env.Null());
    }
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
    o.Set("mean_accepted_length", spec_num(s.mean_accepted_length));
    o.Set("acceptance_rate", spec_num(s.acceptance_rate));
    o.Set("dp_runs", spec_num(s.dp_runs));
    o.Set("dp_ms", spec_num(s.dp_ms));
    o.Set("cost_model_speedup", spec_num(s.cost_model_speedup));
    o.Set("backend_reason", s.backend_reason.empty() ? env.Null() : Napi::String::New(env, s.backend_reason));
    o.Set("policy", spec ? Napi::String::New(env, s.policy) : env.Null());
    o.Set("fallback", s.fallback);
    o.Set("final_M", spec_num(s.final_M));
    return o;
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
    p.det = (float)get_num(o, "det", 0.7);
    p.max_draft = (int)get_num(o, "maxDraft", 12);
    p.loi = (int)get_num(o, "loi", 4);
    p.dp_table = get_bool(o, "dpTable", false);
    if (p.max_tokens < 0 || p.max_tokens > 1 << 20) throw engine_error("maxTokens is out of range");
    if (p.sampling.temperature < 0 || p.sampling.temperature > 100) throw engine_error("temperature must be in [0, 100]");
    if (p.sampling.top_p <= 0 || p.sampling.top_p > 1) throw engine_error("topP must be in (0, 1]");
    if (p.sampling.top_k < 0) throw engine_error("topK must be >= 0");
    return p;
}

// ------------------------------------------------------------------ the engine object

struct shared_engine {
    std::shared_ptr<engine> e;
    std::atomic<bool> cancel{false};
};

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
public:
    static Napi::FunctionReference ctor;
    static Napi::Object Init(Napi::Env env, Napi::Object exports);
    EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {}
    std::shared_ptr<shared_engine> s;

    std::shared_ptr<shared_engine> get(Napi::Env env) {
        if (!s) throw engine_error("the engine was disposed");
        return s;
    }
    Napi::Value Info(const Napi::CallbackInfo& info);
    Napi::Value Metadata(const Napi::CallbackInfo& info);
    Napi::Value Generate(const Napi::CallbackInfo& info);
    Napi::Value Forward(const Napi::CallbackInfo& info);
    Napi::Value LayerCandidates(const Napi::CallbackInfo& info);
    Napi::Value Cancel(const Napi::CallbackInfo& info);
    Napi::Value Truncate(const Napi::CallbackInfo& info);
    Napi::Value Dispose(const Napi::CallbackInfo& info);
};
Napi::FunctionReference EngineWrap::ctor;

// An async method's argument errors reach JavaScript as a rejected Promise, like its other errors.
Napi::Value rejected(Napi::Env env, const std::exception& e) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(Napi::Error::New(env, e.what()).Value());
    return d.Promise();
}

// Wraps a C++ call so engine errors become JavaScript exceptions with the same message.
template <typename F>
Napi::Value guarded(Napi::Env env, F&& f) {
    try {
        return f();
    } catch (const std::exception& e) {
        Napi::Error::New(env, e.what()).ThrowAsJavaScriptException();
        return env.Undefined();
    }
}

Napi::Value EngineWrap::Info(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
        Napi::Env env = info.Env();
        auto e = get(env)->e;
        const auto& c = e->model->cfg;
        auto o = Napi::Object::New(env);
        o.Set("name", e->model->name);
        o.Set("path", e->model->path);
        o.Set("format", e->model->format);
        o.Set("nLayer", c.n_layer);
        o.Set("nEmbd", c.n_embd);
        o.Set("nHead", c.n_head);
        o.Set("nHeadKv", c.n_head_kv);
        o.Set("headDim", c.head_dim);
        o.Set("nFf", c.n_ff);
        o.Set("nVocab", c.n_vocab);
        o.Set("nCtx", e->n_ctx());
        o.Set("nCtxTrain", c.n_ctx_train);
        o.Set("bosId", c.bos_id);
        o.Set("eosIds", int_list(env, c.eos_ids));
        o.Set("tiedEmbeddings", c.tied_embeddings);
        o.Set("ropeInterleaved", c.rope_interleaved);
        o.Set("weightType", dtype_name(e->model->layers.empty() ? e->model->tok_embd.type : e->model->layers[0].wq.type));
        o.Set("backend", e->be->name());
        o.Set("deviceInfo", e->be->device_info());
        o.Set("backendReason", e->backend_reason.empty() ? env.Null() : Napi::String::New(env, e->backend_reason));
        o.Set("weightBytes", (double)e->model->weight_bytes());
        o.Set("residentBytes", (double)e->model->resident_bytes());
        o.Set("kvCacheBytes", (double)e->tf->cache.bytes());
        o.Set("hfDir", e->model->hf_dir.empty() ? env.Null() : Napi::String::New(env, e->model->hf_dir));
        o.Set("nCached", (double)e->cached.size());
        return o;
    });
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

Napi::Value EngineWrap::Metadata(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
        Napi::Env env = info.Env();
        auto e = get(env)->e;
        if (!e->model->gguf) return env.Null();
        auto o = Napi::Object::New(env);
        for (const auto& [k, v] : e->model->gguf->kv) o.Set(k, gguf_to_js(env, v));
        return o;
    });
}

// ------------------------------------------------------------------ load

class LoadWorker : public Napi::AsyncWorker {
public:
    LoadWorker(Napi::Env env, engine_options o) : Napi::AsyncWorker(env), opts(std::move(o)), deferred(Napi::Promise::Deferred::New(env)) {}
    void Execute() override {
        try {
            result = std::make_shared<engine>(opts);
        } catch (const std::exception& e) {
            SetError(e.what());
        }
    }
    void OnOK() override {
        Napi::Object obj = EngineWrap::ctor.New({});
        auto* w = EngineWrap::Unwrap(obj);
        w->s = std::make_shared<shared_engine>();
        w->s->e = result;
        deferred.Resolve(obj);
    }
    void OnError(const Napi::Error& err) override { deferred.Reject(err.Value()); }
    engine_options opts;
    std::shared_ptr<engine> result;
    Napi::Promise::Deferred deferred;
};

Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    try {
        if (info.Length() < 1 || !info[0].IsObject()) throw engine_error("load(options) needs an options object");
        auto o = info[0].As<Napi::Object>();
        engine_options eo;
        eo.model_path = get_str(o, "path", "");
        if (eo.model_path.empty()) throw engine_error("load: 'path' is required");
        eo.backend = get_str(o, "backend", "auto");
        eo.threads = (int)get_num(o, "threads", 0);
        eo.n_ctx = (int)get_num(o, "nCtx", 0);
        auto* w = new LoadWorker(env, eo);
        auto p = w->deferred.Promise();
        w->Queue();
        return p;
    } catch (const std::exception& e) {
        return rejected(env, e);
    }
}

// ------------------------------------------------------------------ generate

using event = std::variant<int, round_event>;

class GenerateWorker : public Napi::AsyncWorker {
public:
    GenerateWorker(Napi::Env env, std::shared_ptr<shared_engine> s, std::vector<int> prompt, gen_params p, Napi::Function cb)
        : Napi::AsyncWorker(env), s(std::move(s)), prompt(std::move(prompt)), params(std::move(p)),
          deferred(Napi::Promise::Deferred::New(env)) {
        if (!cb.IsEmpty()) {
            tsfn = Napi::ThreadSafeFunction::New(env, cb, "clasp-events", 0, 1);
            has_tsfn = true;
        }
    }
    ~GenerateWorker() override {
        if (has_tsfn) tsfn.Release();
    }
    void Execute() override {
        gen_callbacks cb;
        cb.cancel = &s->cancel;
        if (has_tsfn) {
            auto send = [this](event* ev) {
                tsfn.NonBlockingCall(ev, [](Napi::Env env, Napi::Function fn, event* ev) {
                    auto o = Napi::Object::New(env);
                    if (std::holds_alternative<int>(*ev)) {
                        o.Set("type", "token");
                        o.Set("id", std::get<int>(*ev));
                    } else {
                        o.Set("type", "round");
                        o.Set("round", round_to_js(env, std::get<round_event>(*ev)));
                    }
                    delete ev;
                    try {
                        fn.Call({o});
                    } catch (...) {
                    }
                });
            };
            cb.on_token = [send](int id) { send(new event(id)); };
            cb.on_round = [send](const round_event& r) { send(new event(r)); };
        }
        try {
            result = s->e->generate(prompt, params, cb);
        } catch (const std::exception& e) {
            SetError(e.what());
        }
        s->cancel.store(false);
    }
    void OnOK() override {
        Napi::Env env = Env();
        auto o = Napi::Object::New(env);
        o.Set("ids", int_list(env, result.ids));
        o.Set("finishReason", result.finish_reason);
        o.Set("stats", stats_to_js(env, result.stats));
        // Resolve after the queued events have been delivered: the TSFN is FIFO, so queue the resolve.
        if (has_tsfn) {
            auto* ref = new Napi::ObjectReference(Napi::Persistent(o));
            auto* d = new Napi::Promise::Deferred(deferred);
            tsfn.NonBlockingCall([ref, d](Napi::Env, Napi::Function) {
                d->Resolve(ref->Value());
                delete ref;
                delete d;
            });
        } else {
            deferred.Resolve(o);
        }
    }
    void OnError(const Napi::Error& err) override {
        if (has_tsfn) {
            auto* ref = new Napi::ObjectReference(Napi::Persistent(err.Value()));
            auto* d = new Napi::Promise::Deferred(deferred);
            tsfn.NonBlockingCall([ref, d](Napi::Env, Napi::Function) {
                d->Reject(ref->Value());
                delete ref;
                delete d;
            });
        } else {
            deferred.Reject(err.Value());
        }
    }
    std::shared_ptr<shared_engine> s;
    std::vector<int> prompt;
    gen_params params;
    gen_result result;
    Napi::Promise::Deferred deferred;
    Napi::ThreadSafeFunction tsfn;
    bool has_tsfn = false;
};

Napi::Value EngineWrap::Generate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    try {
        auto s = get(env);
        if (info.Length() < 1) throw engine_error("generate(promptIds, params?, onEvent?)");
        auto prompt = get_ids(info[0], "promptIds");
        gen_params p;
        if (info.Length() > 1 && info[1].IsObject()) p = parse_params(info[1].As<Napi::Object>());
        Napi::Function cb;
        if (info.Length() > 2 && info[2].IsFunction()) cb = info[2].As<Napi::Function>();
        auto* w = new GenerateWorker(env, s, std::move(prompt), p, cb);
        auto pr = w->deferred.Promise();
        w->Queue();
        return pr;
    } catch (const std::exception& e) {
        return rejected(env, e);
    }
}

// ------------------------------------------------------------------ forward (tests, tools)

class ForwardWorker : public Napi::AsyncWorker {
public:
    ForwardWorker(Napi::Env env, std::shared_ptr<shared_engine> s) : Napi::AsyncWorker(env), s(std::move(s)), deferred(Napi::Promise::Deferred::New(env)) {}
    void Execute() override {
        try {
            std::lock_guard<std::mutex> lk(s->e->busy);
            auto& e = *s->e;
            if (n_past < 0 || n_past > (int)e.cached.size()) throw engine_error("forward: nPast is beyond the cached tokens");
            if (!skip.empty() && (int)skip.size() != e.model->cfg.n_layer) throw engine_error("forward: skip must have one flag per layer");
            e.tf->forward(ids.data(), (int)ids.size(), n_past, skip.empty() ? nullptr : skip.data(), write, logit_rows, hidden_rows, out);
            if (write) {
                e.cached.resize(n_past);
                e.cached.insert(e.cached.end(), ids.begin(), ids.end());
                e.tf->cache.n = (int)e.cached.size();
            }
        } catch (const std::exception& ex) {
            SetError(ex.what());
        }
    }
    void OnOK() override {
        Napi::Env env = Env();
        auto o = Napi::Object::New(env);
        o.Set("logits", f32(env, out.logits));
        o.Set("hidden", f32(env, out.hidden));
        deferred.Resolve(o);
    }
    void OnError(const Napi::Error& err) override { deferred.Reject(err.Value()); }
    std::shared_ptr<shared_engine> s;
    std::vector<int32_t> ids;
    int n_past = 0;
    bool write = true;
    std::vector<uint8_t> skip;
    std::vector<int> logit_rows, hidden_rows;
    forward_out out;
    Napi::Promise::Deferred deferred;
};

Napi::Value EngineWrap::Forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    try {
        auto s = get(env);
        if (info.Length() < 2) throw engine_error("forward(ids, nPast, options?)");
        auto* w = new ForwardWorker(env, s);
        auto ids = get_ids(info[0], "ids");
        if (ids.empty()) { delete w; throw engine_error("forward: ids is empty"); }
        w->ids.assign(ids.begin(), ids.end());
        if (!info[1].IsNumber()) { delete w; throw engine_error("forward: nPast must be a number"); }
        w->n_past = info[1].As<Napi::Number>().Int32Value();
        if (info.Length() > 2 && info[2].IsObject()) {
            auto o = info[2].As<Napi::Object>();
            w->write = get_bool(o, "writeCache", true);
            if (o.Has("skip") && !o.Get("skip").IsUndefined()) {
                auto sk = get_ids(o.Get("skip"), "skip");
                for (int v : sk) w->skip.push_back(v ? 1 : 0);
            }
            if (o.Has("logitRows")) w->logit_rows = get_ids(o.Get("logitRows"), "logitRows");
            if (o.Has("hiddenRows")) w->hidden_rows = get_ids(o.Get("hiddenRows"), "hiddenRows");
        } else {
            w->logit_rows = {(int)ids.size() - 1};
        }
        auto pr = w->deferred.Promise();
        w->Queue();
        return pr;
    } catch (const std::exception& e) {
        return rejected(env, e);
    }
}

Napi::Value EngineWrap::LayerCandidates(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
        Napi::Env env = info.Env();
        auto s = get(env);
        if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsNumber())
            throw engine_error("layerCandidates(layer, states: Float32Array, pos)");
        int il = info[0].As<Napi::Number>().Int32Value();
        auto st = info[1].As<Napi::Float32Array>();
        int p = info[2].As<Napi::Number>().Int32Value();
        int d = s->e->model->cfg.n_embd;
        if (st.ElementLength() % d != 0) throw engine_error("layerCandidates: states must be (n, n_embd)");
        int n = (int)(st.ElementLength() / d);
        std::vector<float> out((size_t)n * d);
        std::lock_guard<std::mutex> lk(s->e->busy);
        s->e->tf->layer_candidates(il, st.Data(), n, p, out.data());
        return f32(env, out);
    });
}

Napi::Value EngineWrap::Cancel(const Napi::CallbackInfo& info) {
    if (s) s->cancel.store(true);
    return info.Env().Undefined();
}

Napi::Value EngineWrap::Truncate(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
        auto s = get(info.Env());
        if (info.Length() < 1 || !info[0].IsNumber()) throw engine_error("truncate(n)");
        std::lock_guard<std::mutex> lk(s->e->busy);
        s->e->truncate(info[0].As<Napi::Number>().Int32Value());
        return info.Env().Undefined();
    });
}

Napi::Value EngineWrap::Dispose(const Napi::CallbackInfo& info) {
    // Running workers hold their own reference; the engine is freed when the last one finishes.
    if (s) s->cancel.store(true);
    s.reset();
    return info.Env().Undefined();
}

Napi::Object EngineWrap::Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "Engine",
                                   {InstanceMethod("info", &EngineWrap::Info),
                                    InstanceMethod("metadata", &EngineWrap::Metadata),
                                    InstanceMethod("generate", &EngineWrap::Generate),
                                    InstanceMethod("forward", &EngineWrap::Forward),
                                    InstanceMethod("layerCandidates", &EngineWrap::LayerCandidates),
                                    InstanceMethod("cancel", &EngineWrap::Cancel),
                                    InstanceMethod("truncate", &EngineWrap::Truncate),
                                    InstanceMethod("dispose", &EngineWrap::Dispose)});
    ctor = Napi::Persistent(f);
    ctor.SuppressDestruct();
    exports.Set("Engine", f);
    return exports;
}

Napi::Value CudaStatus(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string reason;
    bool ok = cuda_available(reason);
    auto o = Napi::Object::New(env);
    o.Set("available", ok);
    o.Set("reason", reason.empty() ? env.Null() : Napi::String::New(env, reason));
    return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
    EngineWrap::Init(env, exports);
    exports.Set("load", Napi::Function::New(env, Load));
    exports.Set("cudaStatus", Napi::Function::New(env, CudaStatus));
    return exports;
}

}  // namespace

NODE_API_MODULE(clasp_engine, Init)
