// gelu({ x, bias, y }) and geluGrad({ dy, x, bias, dx }): the kernels behind src/tf/kernels/gelu.ts; bias is
// null or a Float32Array [C] added along x's rows of C first. Synchronous only, like every tfjs kernel: the
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
  if (!given(bias)) return 1;
  if (bias.length < 1 || n % bias.length != 0) {
    throwRange(env, "bias.length", "a length ≥ 1 that divides " + std::to_string(n) + " (x.length)", std::to_string(bias.length));
  }
  return bias.length;
}

}  // namespace

Napi::Value gelu(const Napi::CallbackInfo& info) {
  const Fields a(info);
  const auto x = a.array<float>("x");
  const auto bias = a.array<float>("bias", nullptr, true);
  const auto y = a.sized<float>("y", x.length, "x.length");
  const int64_t C = biasChannels(a.env(), bias, x.length);
  cpu::gelu(x.data, bias.data, C, y.data, x.length);
  return a.env().Undefined();
}

Napi::Value geluGrad(const Napi::CallbackInfo& info) {
  const Fields a(info);
  const auto dy = a.array<float>("dy");
  const auto x = a.sized<float>("x", dy.length, "dy.length");
  const auto bias = a.array<float>("bias", nullptr, true);
  const auto dx = a.sized<float>("dx", dy.length, "dy.length");
  const int64_t C = biasChannels(a.env(), bias, x.length);
  cpu::geluGrad(dy.data, x.data, bias.data, C, dx.data, dy.length);
  return a.env().Undefined();
}

}  // namespace addon
}  // namespace sacl
