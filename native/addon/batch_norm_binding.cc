// batchNorm({ x, rows, C, gamma, beta, eps, relu, y, mean, variance }) and batchNormGrad({ dy, x, y, rows, C,
// gamma, mean, variance, dMean, dVariance, eps, relu, dx, dGamma, dBeta }): the kernels behind
// src/tf/kernels/batch-norm.ts, x viewed as [rows, C]. Synchronous only, like every tfjs kernel: the arrays
// may be views of a tfjs backend's memory.
#include "args.h"
#include "bindings.h"
#include "sacl/batch_norm.h"

namespace sacl {
namespace addon {

Napi::Value batchNorm(const Napi::CallbackInfo& info) {
  const Fields a(info);
  const Matrix s = a.matrix("rows", 1, "C", "x");
  const auto [x, y] = a.sized<float>({"x", "y"}, s.size(), "rows·C");
  const auto [gamma, beta, mean, variance] = a.sized<float>({"gamma", "beta", "mean", "variance"}, s.cols, "C");
  const auto eps = static_cast<float>(a.positive("eps"));
  cpu::batchNormTrain(x.data, s.rows, s.cols, gamma.data, beta.data, eps, a.boolean("relu"), y.data, mean.data, variance.data);
  return a.env().Undefined();
}

Napi::Value batchNormGrad(const Napi::CallbackInfo& info) {
  const Fields a(info);
  const Matrix s = a.matrix("rows", 1, "C", "x");
  const auto [dy, x, dx] = a.sized<float>({"dy", "x", "dx"}, s.size(), "rows·C");
  const auto [gamma, mean, variance, dGamma, dBeta] = a.sized<float>({"gamma", "mean", "variance", "dGamma", "dBeta"}, s.cols, "C");
  // null: zero gradients of the statistics; y is read with relu only
  const auto [dMean, dVariance] = a.sized<float>({"dMean", "dVariance"}, s.cols, "C", true);
  const auto y = a.sized<float>("y", s.size(), "rows·C", true);
  const bool relu = a.boolean("relu");
  if (relu && !given(y)) throwType(a.env(), "y", "a Float32Array (the forward output) with relu", "null");
  const auto eps = static_cast<float>(a.positive("eps"));
  cpu::batchNormTrainGrad(dy.data, x.data, y.data, s.rows, s.cols, gamma.data, mean.data, variance.data, dMean.data, dVariance.data,
                          eps, relu, dx.data, dGamma.data, dBeta.data);
  return a.env().Undefined();
}

}  // namespace addon
}  // namespace sacl
