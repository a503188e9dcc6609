// The JavaScript Engine object: a handle on one loaded engine. Its long calls (generate) run on
// worker threads (workers.h); the short ones here (info, metadata, cancel, truncate) answer at once.
#pragma once
#include <napi.h>
#include "runtime/engine.h"
#include <atomic>
#include <memory>

namespace clasp::js {

// The engine and its cancel flag, shared by the handle and every worker running on it.
struct shared_engine {
    std::shared_ptr<engine> e;
    std::atomic<bool> cancel{false};
};

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
public:
    static void Init(Napi::Env env, Napi::Object exports);
    // A new JavaScript Engine holding e.
    static Napi::Object New(std::shared_ptr<engine> e);
    explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {}

private:
    static Napi::FunctionReference ctor;
    std::shared_ptr<shared_engine> s;
    std::shared_ptr<shared_engine> get();
    Napi::Value Info(const Napi::CallbackInfo& info);
    Napi::Value Metadata(const Napi::CallbackInfo& info);
    Napi::Value Generate(const Napi::CallbackInfo& info);
    Napi::Value Cancel(const Napi::CallbackInfo& info);
    Napi::Value Truncate(const Napi::CallbackInfo& info);
    Napi::Value Forget(const Napi::CallbackInfo& info);
    Napi::Value Dispose(const Napi::CallbackInfo& info);
};

// An async method's argument errors reach JavaScript as a rejected Promise, like its other errors.
Napi::Value rejected(Napi::Env env, const std::exception& e);

}  // namespace clasp::js
