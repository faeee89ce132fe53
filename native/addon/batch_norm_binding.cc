// batchNorm(x, rows, C, gamma, beta, eps, relu, y, mean, var) and batchNormGrad(dy, x, y, rows, C, gamma,
// mean, var, dMean, dVar, eps, relu, dx, dGamma, dBeta): the kernels behind src/tf/kernels/batch-norm.ts.
// Synchronous only, like every tfjs kernel: the arrays may be views of a tfjs backend's memory.
#include <string>

#include "args.h"
#include "bindings.h"
#include "sacl/batch_norm.h"
#include "sacl/common.h"

namespace sacl {
namespace addon {

namespace {

template <class T>
void requireLength(Napi::Env env, const ArrayArg<T>& a, const char* name, int64_t n, const char* what) {
  if (a.length != n) throwRange(env, std::string(name) + ".length", std::to_string(n) + " (" + what + ")", std::to_string(a.length));
}

}  // namespace

Napi::Value batchNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 10);
  const auto x = requireFloat32(info, 0, "x");
  const int64_t rows = requireInteger(info, 1, "rows", 1, kMaxElements);
  const int64_t C = requireInteger(info, 2, "C", 1, kMaxElements);
  const auto gamma = requireFloat32(info, 3, "gamma");
  const auto beta = requireFloat32(info, 4, "beta");
  const double eps = requirePositive(info, 5, "eps");
  const bool relu = requireBool(info, 6, "relu");
  const auto y = requireFloat32(info, 7, "y");
  const auto mean = requireFloat32(info, 8, "mean");
  const auto var = requireFloat32(info, 9, "var");
  if (rows * C > kMaxElements) throwRange(env, "rows·C", "at most " + std::to_string(kMaxElements), std::to_string(rows * C));
  requireLength(env, x, "x", rows * C, "rows·C");
  requireLength(env, y, "y", rows * C, "rows·C");
  requireLength(env, gamma, "gamma", C, "C");
  requireLength(env, beta, "beta", C, "C");
  requireLength(env, mean, "mean", C, "C");
  requireLength(env, var, "var", C, "C");
  cpu::batchNormTrain(x.data, rows, C, gamma.data, beta.data, static_cast<float>(eps), relu, y.data, mean.data, var.data);
  return env.Undefined();
}

Napi::Value batchNormGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 15);
  const auto dy = requireFloat32(info, 0, "dy");
  const auto x = requireFloat32(info, 1, "x");
  const auto y = requireFloat32(info, 2, "y", true);
  const int64_t rows = requireInteger(info, 3, "rows", 1, kMaxElements);
  const int64_t C = requireInteger(info, 4, "C", 1, kMaxElements);
  const auto gamma = requireFloat32(info, 5, "gamma");
  const auto mean = requireFloat32(info, 6, "mean");
  const auto var = requireFloat32(info, 7, "var");
  const auto dMean = requireFloat32(info, 8, "dMean", true);
  const auto dVar = requireFloat32(info, 9, "dVar", true);
  const double eps = requirePositive(info, 10, "eps");
  const bool relu = requireBool(info, 11, "relu");
  const auto dx = requireFloat32(info, 12, "dx");
  const auto dGamma = requireFloat32(info, 13, "dGamma");
  const auto dBeta = requireFloat32(info, 14, "dBeta");
  if (rows * C > kMaxElements) throwRange(env, "rows·C", "at most " + std::to_string(kMaxElements), std::to_string(rows * C));
  requireLength(env, dy, "dy", rows * C, "rows·C");
  requireLength(env, x, "x", rows * C, "rows·C");
  requireLength(env, dx, "dx", rows * C, "rows·C");
  if (relu && y.value.IsEmpty()) throwType(env, "y", "a Float32Array (the forward output) with relu", "null");
  if (!y.value.IsEmpty()) requireLength(env, y, "y", rows * C, "rows·C");
  requireLength(env, gamma, "gamma", C, "C");
  requireLength(env, mean, "mean", C, "C");
  requireLength(env, var, "var", C, "C");
  if (!dMean.value.IsEmpty()) requireLength(env, dMean, "dMean", C, "C");
  if (!dVar.value.IsEmpty()) requireLength(env, dVar, "dVar", C, "C");
  requireLength(env, dGamma, "dGamma", C, "C");
  requireLength(env, dBeta, "dBeta", C, "C");
  const float* noneIfNull[] = {y.value.IsEmpty() ? nullptr : y.data, dMean.value.IsEmpty() ? nullptr : dMean.data,
                               dVar.value.IsEmpty() ? nullptr : dVar.data};
  cpu::batchNormTrainGrad(dy.data, x.data, noneIfNull[0], rows, C, gamma.data, mean.data, var.data, noneIfNull[1], noneIfNull[2],
                          static_cast<float>(eps), relu, dx.data, dGamma.data, dBeta.data);
  return env.Undefined();
}

}  // namespace addon
}  // namespace sacl
