#include "engine_wrap.h"
#include "convert.h"
#include "core/error.h"
#include "workers.h"
#include <mutex>

namespace clasp::js {

Napi::FunctionReference EngineWrap::ctor;

Napi::Value rejected(Napi::Env env, const std::exception& e) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(Napi::Error::New(env, e.what()).Value());
    return d.Promise();
}

namespace {
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
}  // namespace

void EngineWrap::Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = DefineClass(env, "Engine",
                                   {InstanceMethod("info", &EngineWrap::Info),
                                    InstanceMethod("metadata", &EngineWrap::Metadata),
                                    InstanceMethod("generate", &EngineWrap::Generate),
                                    InstanceMethod("cancel", &EngineWrap::Cancel),
                                    InstanceMethod("truncate", &EngineWrap::Truncate),
                                    InstanceMethod("forget", &EngineWrap::Forget),
                                    InstanceMethod("dispose", &EngineWrap::Dispose)});
    ctor = Napi::Persistent(f);
    ctor.SuppressDestruct();
    exports.Set("Engine", f);
}

Napi::Object EngineWrap::New(std::shared_ptr<engine> e) {
    Napi::Object obj = ctor.New({});
    auto* w = Unwrap(obj);
    w->s = std::make_shared<shared_engine>();
    w->s->e = std::move(e);
    return obj;
}

std::shared_ptr<shared_engine> EngineWrap::get() {
    if (!s) throw engine_error("the engine was disposed");
    return s;
}

Napi::Value EngineWrap::Info(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
        Napi::Env env = info.Env();
        auto e = get()->e;
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
        o.Set("residentBytes", (double)e->resident_bytes());
        o.Set("kvCacheBytes", (double)e->tf->cache.bytes());
        o.Set("kvType", kv_type_name(e->tf->cache.type));
        o.Set("hfDir", e->model->hf_dir.empty() ? env.Null() : Napi::String::New(env, e->model->hf_dir));
        o.Set("nCached", (double)e->tf->cache.n);
        o.Set("policyFile", e->policy_file.empty() ? env.Null() : Napi::String::New(env, e->policy_file));
        o.Set("policyLoaded", e->policy_loaded);
        o.Set("policyWarning", e->policy_warning.empty() ? env.Null() : Napi::String::New(env, e->policy_warning));
        return o;
    });
}

Napi::Value EngineWrap::Metadata(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
        Napi::Env env = info.Env();
        auto e = get()->e;
        if (!e->model->gguf) return env.Null();
        auto o = Napi::Object::New(env);
        for (const auto& [k, v] : e->model->gguf->kv) o.Set(k, gguf_to_js(env, v));
        return o;
    });
}

Napi::Value EngineWrap::Generate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    try {
        auto sh = get();
        if (info.Length() < 1) throw engine_error("generate(promptIds, params?, onEvent?)");
        auto prompt = get_ids(info[0], "promptIds");
        gen_params p;
        if (info.Length() > 1 && info[1].IsObject()) p = parse_params(info[1].As<Napi::Object>());
        Napi::Function cb;
        if (info.Length() > 2 && info[2].IsFunction()) cb = info[2].As<Napi::Function>();
        return queue_generate(env, sh, std::move(prompt), std::move(p), cb);
    } catch (const std::exception& e) {
        return rejected(env, e);
    }
}

Napi::Value EngineWrap::Cancel(const Napi::CallbackInfo& info) {
    if (s) s->cancel.store(true);
    return info.Env().Undefined();
}

Napi::Value EngineWrap::Truncate(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
        auto sh = get();
        if (info.Length() < 1 || !info[0].IsNumber()) throw engine_error("truncate(n)");
        std::lock_guard<std::mutex> lk(sh->e->busy);
        sh->e->truncate(info[0].As<Napi::Number>().Int32Value());
        return info.Env().Undefined();
    });
}

Napi::Value EngineWrap::Forget(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
        auto sh = get();
        // Waits for a running generation: its end would write the memory back.
        std::lock_guard<std::mutex> lk(sh->e->busy);
        sh->e->forget();
        return info.Env().Undefined();
    });
}

Napi::Value EngineWrap::Dispose(const Napi::CallbackInfo& info) {
    // Running workers hold their own reference; the engine is freed when the last one finishes.
    if (s) s->cancel.store(true);
    s.reset();
    return info.Env().Undefined();
}

}  // namespace clasp::js
