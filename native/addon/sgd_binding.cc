// sgdStats(grads, out) and sgdUpdate(w, g, buf, wOut, bufOut, lr, momentum, weightDecay, scale): the
// optimizer's fused kernels (src/tf/kernels/sgd.ts), over arrays of Float32Arrays, one per tensor.
// Synchronous only, like every tfjs kernel: the arrays may be views of a tfjs backend's memory.
#include <cmath>
#include <string>
#include <vector>

#include "args.h"
#include "bindings.h"
#include "sacl/common.h"
#include "sacl/sgd.h"

namespace sacl {
namespace addon {

namespace {

struct F32 {
  float* data;
  int64_t length;
};

// info[i] as an array of Float32Arrays (with `nullable`, an element may be null: data = nullptr, length −1).
std::vector<F32> requireFloat32List(const Napi::CallbackInfo& info, size_t i, const char* name, bool nullable = false) {
  const Napi::Value v = info[i];
  const char* what = nullable ? "an array of Float32Array or null" : "an array of Float32Array";
  if (!v.IsArray()) throwType(info.Env(), name, what, describe(v));
  const auto arr = v.As<Napi::Array>();
  std::vector<F32> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    const Napi::Value e = arr.Get(k);
    const std::string at = std::string(name) + "[" + std::to_string(k) + "]";
    if (nullable && e.IsNull()) {
      out[k] = {nullptr, -1};
      continue;
    }
    if (!e.IsTypedArray() || e.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throwType(info.Env(), at, nullable ? "a Float32Array or null" : "a Float32Array", describe(e));
    }
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_value buffer;
    size_t offset = 0;
    if (napi_get_typedarray_info(info.Env(), e, &type, &length, &data, &buffer, &offset) != napi_ok) {
      throwType(info.Env(), at, "a Float32Array", describe(e));
    }
    // a detached buffer reports no data: length 0, which the length checks then refuse
    out[k] = {static_cast<float*>(data), data ? static_cast<int64_t>(length) : 0};
  }
  return out;
}

void requireSameCount(Napi::Env env, const char* name, const std::vector<F32>& list, size_t count) {
  if (list.size() != count) throwRange(env, std::string(name) + ".length", std::to_string(count) + " (w.length)", std::to_string(list.size()));
}

void requireLength(Napi::Env env, const char* name, size_t k, const F32& a, int64_t expected) {
  if (a.length != expected) {
    throwRange(env, std::string(name) + "[" + std::to_string(k) + "].length", std::to_string(expected) + " (w[" + std::to_string(k) + "].length)",
               std::to_string(a.length));
  }
}

float requireFinite(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) throwType(info.Env(), name, "a finite number", describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throwRange(info.Env(), name, "a finite number", describe(v));
  return static_cast<float>(d);
}

}  // namespace

Napi::Value sgdStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 2);
  const std::vector<F32> grads = requireFloat32List(info, 0, "grads");
  const auto out = requireFloat32(info, 1, "out");
  const int64_t count = static_cast<int64_t>(grads.size());
  if (out.length != count + 1) throwRange(env, "out.length", std::to_string(count + 1) + " (1 + grads.length)", std::to_string(out.length));
  std::vector<const float*> data(count);
  std::vector<int64_t> lengths(count);
  for (int64_t k = 0; k < count; ++k) {
    data[k] = grads[k].data;
    lengths[k] = grads[k].length;
  }
  cpu::sgdStats(data.data(), lengths.data(), count, out.data);
  return env.Undefined();
}

Napi::Value sgdUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 9);
  const std::vector<F32> w = requireFloat32List(info, 0, "w");
  const std::vector<F32> g = requireFloat32List(info, 1, "g");
  const std::vector<F32> buf = requireFloat32List(info, 2, "buf", true);
  const std::vector<F32> wOut = requireFloat32List(info, 3, "wOut");
  const std::vector<F32> bufOut = requireFloat32List(info, 4, "bufOut");
  SgdHyper h{};
  h.lr = requireFinite(info, 5, "lr");
  h.momentum = requireFinite(info, 6, "momentum");
  h.weightDecay = requireFinite(info, 7, "weightDecay");
  h.scale = requireFinite(info, 8, "scale");
  const size_t count = w.size();
  requireSameCount(env, "g", g, count);
  requireSameCount(env, "buf", buf, count);
  requireSameCount(env, "wOut", wOut, count);
  requireSameCount(env, "bufOut", bufOut, count);
  std::vector<SgdParam> params(count);
  for (size_t k = 0; k < count; ++k) {
    const int64_t n = w[k].length;
    requireLength(env, "g", k, g[k], n);
    if (buf[k].data || buf[k].length != -1) requireLength(env, "buf", k, buf[k], n);
    requireLength(env, "wOut", k, wOut[k], n);
    requireLength(env, "bufOut", k, bufOut[k], n);
    params[k] = {w[k].data, g[k].data, buf[k].data, wOut[k].data, bufOut[k].data, n};
  }
  cpu::sgdUpdate(params.data(), static_cast<int64_t>(count), h);
  return env.Undefined();
}

}  // namespace addon
}  // namespace sacl
