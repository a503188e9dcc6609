// The Node addon's entry: the Engine class (engine_wrap.h) and load(options), which resolves to an
// Engine once the model is read on a worker thread (workers.h). Only the napi/ files include napi.h.
#include <napi.h>
#include "convert.h"
#include "core/error.h"
#include "engine_wrap.h"
#include "workers.h"

namespace {

using namespace clasp;
using namespace clasp::js;

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
        eo.policy_dir = get_str(o, "policyDir", "");
        eo.kv = kv_type_parse(get_str(o, "kvType", "f32"), "kvType");
        return queue_load(env, eo);
    } catch (const std::exception& e) {
        return rejected(env, e);
    }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
    EngineWrap::Init(env, exports);
    exports.Set("load", Napi::Function::New(env, Load));
    return exports;
}

}  // namespace

NODE_API_MODULE(clasp_engine, Init)
