#include "async.h"

#include <cstdlib>
#include <cstring>
#include <exception>

namespace sacl {
namespace addon {

void AlignedFree::operator()(void* p) const { std::free(p); }

namespace {

constexpr size_t kAlign = 64;

OwnedBytes allocate(size_t bytes) {
  const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, rounded == 0 ? kAlign : rounded);
  if (!p) throw std::bad_alloc();
  return OwnedBytes(static_cast<unsigned char*>(p));
}

bool overlap(const KernelCall::Staged& s, const unsigned char* begin, size_t bytes) {
  return bytes > 0 && s.bytes() > 0 && begin < s.begin + s.bytes() && s.begin < begin + bytes;
}

class KernelWorker : public Napi::AsyncWorker {
 public:
  KernelWorker(Napi::Env env, std::function<void()> work, std::vector<KernelCall::Staged> staged)
      : Napi::AsyncWorker(env, "sacl-au:kernel"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        staged_(std::move(staged)) {}

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

  // On the main thread: each output array must still be attached and as long as when the call began.
  void OnOK() override {
    Napi::Env env = Env();
    for (const auto& s : staged_) {
      if (!s.output) continue;
      napi_typedarray_type type;
      size_t length = 0;
      void* data = nullptr;
      napi_value buffer;
      size_t offset = 0;
      const bool attached =
          napi_get_typedarray_info(env, s.array.Value(), &type, &length, &data, &buffer, &offset) == napi_ok && data;
      if (!attached || length != s.length) {
        deferred_.Reject(Napi::RangeError::New(env, message(s.name,
            "an array of " + std::to_string(s.length) + " elements until the async call settles",
            attached ? "one resized to " + std::to_string(length) + " elements while it ran" : "one detached while it ran"))
                             .Value());
        return;
      }
    }
    for (const auto& s : staged_) {
      if (!s.output) continue;
      void* data = nullptr;
      size_t length = 0;
      napi_get_typedarray_info(env, s.array.Value(), nullptr, &length, &data, nullptr, nullptr);
      std::memcpy(data, s.owned.get(), s.bytes());
    }
    deferred_.Resolve(env.Undefined());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::vector<KernelCall::Staged> staged_;
};

}  // namespace

void KernelCall::stage(const char* name, void** data, const Napi::Value& value, size_t length, size_t elementSize,
                       bool output) {
  const auto* begin = static_cast<const unsigned char*>(*data);
  const size_t bytes = length * elementSize;
  if (output) {
    for (const auto& s : staged_) {
      if (!overlap(s, begin, bytes)) continue;
      throw Napi::RangeError::New(env_, message(name, s.output ? "an array that shares no memory with the other outputs"
                                                               : "an array that shares no memory with the inputs",
                                                "one that overlaps " + s.name));
    }
  }
  Staged s{name, begin, length, elementSize, output, Napi::ObjectReference(), nullptr};
  if (async_) {
    s.owned = allocate(bytes);
    if (output) {
      s.array = Napi::Persistent(value.As<Napi::Object>());
    } else if (bytes > 0) {
      std::memcpy(s.owned.get(), begin, bytes);
    }
    *data = s.owned.get();
  }
  staged_.push_back(std::move(s));
}

Napi::Value KernelCall::run(std::function<void()> work) {
  if (!async_) {
    try {
      work();
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env_, e.what());
    }
    return env_.Undefined();
  }
  auto* worker = new KernelWorker(env_, std::move(work), std::move(staged_));  // deletes itself when done
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace addon
}  // namespace sacl
