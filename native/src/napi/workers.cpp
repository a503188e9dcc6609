#include "workers.h"
#include "convert.h"
#include <optional>
#include <variant>

namespace clasp::js {
namespace {

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
    void OnOK() override { deferred.Resolve(EngineWrap::New(result)); }
    void OnError(const Napi::Error& err) override { deferred.Reject(err.Value()); }
    engine_options opts;
    std::shared_ptr<engine> result;
    Napi::Promise::Deferred deferred;
};

struct token_ev {
    int id;
    token_fate fate;
    std::optional<token_logprobs> lp;
};
using event = std::variant<token_ev, round_event, plain_event, policy_event>;

Napi::Object event_to_js(Napi::Env env, const event& ev) {
    auto o = Napi::Object::New(env);
    if (auto* t = std::get_if<token_ev>(&ev)) {
        o.Set("type", "token");
        o.Set("id", t->id);
        o.Set("fate", fate_name(t->fate));
        if (t->lp) o.Set("logprobs", logprobs_to_js(env, *t->lp));
    } else if (auto* r = std::get_if<round_event>(&ev)) {
        o.Set("type", "round");
        o.Set("round", round_to_js(env, *r));
    } else if (auto* pl = std::get_if<plain_event>(&ev)) {
        o.Set("type", "plain");
        o.Set("plain", plain_to_js(env, *pl));
    } else {
        o.Set("type", "policy");
        o.Set("policy", decision_to_js(env, std::get<policy_event>(ev)));
    }
    return o;
}

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
                    auto o = event_to_js(env, *ev);
                    delete ev;
                    try {
                        fn.Call({o});
                    } catch (...) {
                    }
                });
            };
            cb.on_token = [send](int id, token_fate f, const token_logprobs* lp) {
                send(new event(token_ev{id, f, lp ? std::optional<token_logprobs>(*lp) : std::nullopt}));
            };
            cb.on_round = [send](const round_event& r) { send(new event(r)); };
            cb.on_plain = [send](const plain_event& p) { send(new event(p)); };
            cb.on_policy = [send](const policy_event& p) { send(new event(p)); };
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
        settle(o, true);
    }
    void OnError(const Napi::Error& err) override { settle(err.Value(), false); }

    // Settles after the queued events have been delivered: the TSFN is FIFO, so queue the settling.
    void settle(Napi::Value v, bool ok) {
        if (!has_tsfn) {
            if (ok) deferred.Resolve(v);
            else deferred.Reject(v);
            return;
        }
        auto* ref = new Napi::Reference<Napi::Value>(Napi::Persistent(v));
        auto* d = new Napi::Promise::Deferred(deferred);
        tsfn.NonBlockingCall([ref, d, ok](Napi::Env, Napi::Function) {
            if (ok) d->Resolve(ref->Value());
            else d->Reject(ref->Value());
            delete ref;
            delete d;
        });
    }
    std::shared_ptr<shared_engine> s;
    std::vector<int> prompt;
    gen_params params;
    gen_result result;
    Napi::Promise::Deferred deferred;
    Napi::ThreadSafeFunction tsfn;
    bool has_tsfn = false;
};

}  // namespace

Napi::Promise queue_load(Napi::Env env, engine_options o) {
    auto* w = new LoadWorker(env, std::move(o));
    auto p = w->deferred.Promise();
    w->Queue();
    return p;
}

Napi::Promise queue_generate(Napi::Env env, std::shared_ptr<shared_engine> s, std::vector<int> prompt, gen_params p,
                             Napi::Function onEvent) {
    auto* w = new GenerateWorker(env, std::move(s), std::move(prompt), std::move(p), onEvent);
    auto pr = w->deferred.Promise();
    w->Queue();
    return pr;
}

}  // namespace clasp::js
