// layerNorm({ x, gamma, beta, eps, rows, n, y, mean, rstd }) and layerNormGrad({ dy, x, mean, rstd, gamma, rows,
// n, dx, dgamma, dbeta }): the kernels behind src/tf/kernels/layer-norm.ts, x viewed as [rows, n] (rows may
// be 0). Synchronous only, like every tfjs kernel: the arrays may be views of a tfjs backend's memory.
#include "args.h"
#include "bindings.h"
#include "sacl/layer_norm.h"

namespace sacl {
namespace addon {

namespace {

// An affine array (beta, dgamma, dbeta): a Float32Array [n] exactly when gamma is given, else null.
ArrayArg<float> likeGamma(const Fields& a, const char* key, bool affine, int64_t n) {
  const auto v = a.array<float>(key, nullptr, true);
  if (given(v) != affine) {
    throwType(a.env(), key, affine ? "a Float32Array (gamma is given)" : "null (gamma is null)", given(v) ? describe(v.value) : "null");
  }
  if (affine) checkLength(a.env(), key, v, n, "n");
  return v;
}

}  // namespace

Napi::Value layerNorm(const Napi::CallbackInfo& info) {
  const Fields a(info);
  const Matrix s = a.matrix("rows", 0, "n", "x");
  const auto [x, y] = a.sized<float>({"x", "y"}, s.size(), "rows·n");
  const auto [mean, rstd] = a.sized<float>({"mean", "rstd"}, s.rows, "rows");
  const auto gamma = a.sized<float>("gamma", s.cols, "n", true);
  const auto beta = likeGamma(a, "beta", given(gamma), s.cols);
  const auto eps = static_cast<float>(a.positive("eps"));
  cpu::layerNorm(x.data, gamma.data, beta.data, eps, s.rows, s.cols, y.data, mean.data, rstd.data);
  return a.env().Undefined();
}

Napi::Value layerNormGrad(const Napi::CallbackInfo& info) {
  const Fields a(info);
  const Matrix s = a.matrix("rows", 0, "n", "x");
  const auto [dy, x, dx] = a.sized<float>({"dy", "x", "dx"}, s.size(), "rows·n");
  const auto [mean, rstd] = a.sized<float>({"mean", "rstd"}, s.rows, "rows");
  const auto gamma = a.sized<float>("gamma", s.cols, "n", true);
  const auto dgamma = likeGamma(a, "dgamma", given(gamma), s.cols);
  const auto dbeta = likeGamma(a, "dbeta", given(gamma), s.cols);
  cpu::layerNormGrad(dy.data, x.data, mean.data, rstd.data, gamma.data, s.rows, s.cols, dx.data, dgamma.data, dbeta.data);
  return a.env().Undefined();
}

}  // namespace addon
}  // namespace sacl
