#include "async.h"

#include <exception>
#include <string>
#include <vector>

namespace sacl {
namespace addon {
namespace {

class KernelWorker : public Napi::AsyncWorker {
 public:
  KernelWorker(Napi::Env env, std::function<void()> work, std::initializer_list<Napi::Value> keep)
      : Napi::AsyncWorker(env, "sacl-au:kernel"), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)) {
    for (const Napi::Value& v : keep) {
      if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    }
  }

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("unknown error in a sacl-au kernel");
    }
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::vector<Napi::ObjectReference> refs_;
};

}  // namespace

Napi::Value run(Napi::Env env, bool async, std::function<void()> work, std::initializer_list<Napi::Value> keep) {
  if (!async) {
    try {
      work();
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
    return env.Undefined();
  }
  auto* worker = new KernelWorker(env, std::move(work), keep);  // deletes itself when done
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace addon
}  // namespace sacl
