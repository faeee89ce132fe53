// One graph-op call in the addon: its argument object (Fields), the arrays it reads and writes, each
// checked against its shape and staged for the kernel (KernelCall), the device and sync or async. A
// binding reads the sizes, declares the arrays, checks their contents and runs the op's dispatcher.
#pragma once
#include <napi.h>

#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>

#include "args.h"
#include "async.h"
#include "sacl/device.h"

namespace sacl {
namespace addon {

// A staged array and what its messages need.
template <class T>
struct OpArray {
  ArrayArg<T> arg;  // arg.data is what the kernel reads or writes (a snapshot in async calls); null for null
  const char* name;
  Dims dims;
  T* data() const { return arg.data; }
};

class OpCall {
 public:
  // Reads `device` (0 = CPU, 1 = CUDA, which must be available) and `async`.
  explicit OpCall(const Napi::CallbackInfo& info) : fields(info), device_(readDevice()), call_(fields.env(), fields.boolean("async")) {}

  Napi::Env env() const { return fields.env(); }

  // A size in [1, max].
  int64_t size(const char* key, int64_t max = kMaxElements, const char* name = nullptr) const {
    return fields.integer(key, 1, max, name);
  }
  // Sizes in [1, kMaxElements], each read into its field, in the order listed.
  void sizes(std::initializer_list<std::pair<const char*, int64_t*>> list) const { fields.sizes(list); }

  // The property `key` as an input / output of shape dims (null too with `nullable`), staged for the
  // kernel; name is the one messages use. Inputs come first: each output is checked for overlap with
  // what was staged before it.
  template <class T>
  OpArray<T> input(const char* key, const char* name, Dims dims, bool nullable = false) {
    return stage<T>(key, name, std::move(dims), nullable, false);
  }
  template <class T>
  OpArray<T> output(const char* key, const char* name, Dims dims, bool nullable = false) {
    return stage<T>(key, name, std::move(dims), nullable, true);
  }

  // Content checks, on the staged inputs (so an async call checks what its kernel will read).
  void checkFinite(const OpArray<float>& a) const { addon::checkFinite(env(), a.name, a.arg, a.dims); }
  void checkIndices(const OpArray<int32_t>& a, int64_t limit, const char* limitName) const {
    checkIndexRange(env(), a.name, a.arg, a.dims, limit, limitName);
  }

  // Runs work(device) now (→ undefined) or on the thread pool (→ Promise).
  Napi::Value run(std::function<void(Device)> work) {
    const Device device = device_;
    return call_.run([work = std::move(work), device] { work(device); });
  }

  const Fields fields;

 private:
  Device readDevice() const {
    const auto d = static_cast<Device>(fields.integer("device", 0, 1));
    if (d == Device::Cuda && !cudaStatus().available) {
      throw Napi::Error::New(env(), "The 'cuda' backend is not available: " + cudaStatus().reason);
    }
    return d;
  }

  template <class T>
  OpArray<T> stage(const char* key, const char* name, Dims dims, bool nullable, bool output) {
    if (!output && outputs_) throw std::logic_error(std::string("sacl-au: input ") + name + " staged after an output");
    outputs_ = outputs_ || output;
    OpArray<T> a{fields.array<T>(key, name, nullable), name, std::move(dims)};
    if (a.arg.value.IsEmpty()) return a;
    checkElements(env(), name, a.dims);
    checkLength(env(), name, a.arg, a.dims);
    if (output) call_.output(name, a.arg);
    else call_.input(name, a.arg);
    return a;
  }

  Device device_;
  KernelCall call_;
  bool outputs_ = false;
};

}  // namespace addon
}  // namespace sacl
