// The calls that run on libuv worker threads and answer with a Promise: loading a model, and a
// generation whose tokens, rounds, plain stretches and policy decisions stream back through a
// thread-safe function, so the JavaScript thread never blocks.
#pragma once
#include <napi.h>
#include "engine_wrap.h"
#include <memory>
#include <vector>

namespace clasp::js {

Napi::Promise queue_load(Napi::Env env, engine_options o);
// onEvent may be empty (no streaming).
Napi::Promise queue_generate(Napi::Env env, std::shared_ptr<shared_engine> s, std::vector<int> prompt, gen_params p,
                             Napi::Function onEvent);

}  // namespace clasp::js
