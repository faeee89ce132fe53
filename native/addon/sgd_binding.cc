// sgdStats({ grads, out }) and sgdUpdate({ w, g, buf, wOut, bufOut, lr, momentum, weightDecay, scale }): the
// optimizer's fused kernels (src/tf/kernels/sgd.ts), over arrays of Float32Arrays, one per tensor.
// Synchronous only, like every tfjs kernel: the arrays may be views of a tfjs backend's memory.
#include <string>
#include <vector>

#include "args.h"
#include "bindings.h"
#include "sacl/sgd.h"

namespace sacl {
namespace addon {

namespace {

// The list `key`, as many arrays as w, each as long as w's (a null element, where allowed, is not checked).
std::vector<ArrayArg<float>> likeW(const Fields& a, const char* key, const std::vector<ArrayArg<float>>& w, bool nullable = false) {
  std::vector<ArrayArg<float>> list = a.floatList(key, nullable);
  if (list.size() != w.size()) throwRange(a.env(), std::string(key) + ".length", std::to_string(w.size()) + " (w.length)", std::to_string(list.size()));
  for (size_t k = 0; k < w.size(); ++k) {
    const std::string at = "[" + std::to_string(k) + "]";
    if (given(list[k])) checkLength(a.env(), (key + at).c_str(), list[k], w[k].length, "w" + at + ".length");
  }
  return list;
}

}  // namespace

Napi::Value sgdStats(const Napi::CallbackInfo& info) {
  const Fields a(info);
  const std::vector<ArrayArg<float>> grads = a.floatList("grads");
  const int64_t count = static_cast<int64_t>(grads.size());
  const auto out = a.sized<float>("out", count + 1, "1 + grads.length");
  std::vector<const float*> data(count);
  std::vector<int64_t> lengths(count);
  for (int64_t k = 0; k < count; ++k) {
    data[k] = grads[k].data;
    lengths[k] = grads[k].length;
  }
  cpu::sgdStats(data.data(), lengths.data(), count, out.data);
  return a.env().Undefined();
}

Napi::Value sgdUpdate(const Napi::CallbackInfo& info) {
  const Fields a(info);
  const std::vector<ArrayArg<float>> w = a.floatList("w");
  const auto g = likeW(a, "g", w);
  const auto buf = likeW(a, "buf", w, true);
  const auto wOut = likeW(a, "wOut", w);
  const auto bufOut = likeW(a, "bufOut", w);
  SgdHyper h{};
  h.lr = static_cast<float>(a.finite("lr"));
  h.momentum = static_cast<float>(a.finite("momentum"));
  h.weightDecay = static_cast<float>(a.finite("weightDecay"));
  h.scale = static_cast<float>(a.finite("scale"));
  std::vector<SgdParam> params(w.size());
  for (size_t k = 0; k < w.size(); ++k) params[k] = {w[k].data, g[k].data, buf[k].data, wOut[k].data, bufOut[k].data, w[k].length};
  cpu::sgdUpdate(params.data(), static_cast<int64_t>(w.size()), h);
  return a.env().Undefined();
}

}  // namespace addon
}  // namespace sacl
