// gelu(x, y) and geluGrad(dy, x, dx): the kernels behind src/tf/kernels/gelu.ts. Synchronous only, like
// every tfjs kernel: the arrays may be views of a tfjs backend's memory.
#include "args.h"
#include "bindings.h"
#include "sacl/gelu.h"

namespace sacl {
namespace addon {

Napi::Value gelu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 2);
  const auto x = requireFloat32(info, 0, "x");
  const auto y = requireFloat32(info, 1, "y");
  if (y.length != x.length) throwRange(env, "y.length", std::to_string(x.length) + " (x.length)", std::to_string(y.length));
  cpu::gelu(x.data, y.data, x.length);
  return env.Undefined();
}

Napi::Value geluGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 3);
  const auto dy = requireFloat32(info, 0, "dy");
  const auto x = requireFloat32(info, 1, "x");
  const auto dx = requireFloat32(info, 2, "dx");
  if (x.length != dy.length) throwRange(env, "x.length", std::to_string(dy.length) + " (dy.length)", std::to_string(x.length));
  if (dx.length != dy.length) throwRange(env, "dx.length", std::to_string(dy.length) + " (dy.length)", std::to_string(dx.length));
  cpu::geluGrad(dy.data, x.data, dx.data, dy.length);
  return env.Undefined();
}

}  // namespace addon
}  // namespace sacl
