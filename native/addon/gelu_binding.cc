// gelu(x, bias, y) and geluGrad(dy, x, bias, dx): the kernels behind src/tf/kernels/gelu.ts; bias is null
// or a Float32Array [C] added along x's rows of C first. Synchronous only, like every tfjs kernel: the
// arrays may be views of a tfjs backend's memory.
#include <string>

#include "args.h"
#include "bindings.h"
#include "sacl/gelu.h"

namespace sacl {
namespace addon {

namespace {

// The bias length C (1 without one), checked to divide n ≥ 1 rows of C.
int64_t biasChannels(Napi::Env env, const ArrayArg<float>& bias, int64_t n) {
  if (bias.value.IsEmpty()) return 1;
  if (bias.length < 1 || n % bias.length != 0) {
    throwRange(env, "bias.length", "a length ≥ 1 that divides " + std::to_string(n) + " (x.length)", std::to_string(bias.length));
  }
  return bias.length;
}

}  // namespace

Napi::Value gelu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 3);
  const auto x = requireFloat32(info, 0, "x");
  const auto bias = requireFloat32(info, 1, "bias", true);
  const auto y = requireFloat32(info, 2, "y");
  if (y.length != x.length) throwRange(env, "y.length", std::to_string(x.length) + " (x.length)", std::to_string(y.length));
  const int64_t C = biasChannels(env, bias, x.length);
  cpu::gelu(x.data, bias.value.IsEmpty() ? nullptr : bias.data, C, y.data, x.length);
  return env.Undefined();
}

Napi::Value geluGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 4);
  const auto dy = requireFloat32(info, 0, "dy");
  const auto x = requireFloat32(info, 1, "x");
  const auto bias = requireFloat32(info, 2, "bias", true);
  const auto dx = requireFloat32(info, 3, "dx");
  if (x.length != dy.length) throwRange(env, "x.length", std::to_string(dy.length) + " (dy.length)", std::to_string(x.length));
  if (dx.length != dy.length) throwRange(env, "dx.length", std::to_string(dy.length) + " (dy.length)", std::to_string(dx.length));
  const int64_t C = biasChannels(env, bias, x.length);
  cpu::geluGrad(dy.data, x.data, bias.value.IsEmpty() ? nullptr : bias.data, C, dx.data, dy.length);
  return env.Undefined();
}

}  // namespace addon
}  // namespace sacl
