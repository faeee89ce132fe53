// layerNorm(x, gamma, beta, eps, rows, n, y, mean, rstd) and layerNormGrad(dy, x, mean, rstd, gamma, rows, n, dx,
// dgamma, dbeta): the kernels behind the tfjs kernels of src/tf/kernels/layer-norm.ts. Synchronous only, like
// every tfjs kernel: the arrays may be views of a tfjs backend's memory.
#include "args.h"
#include "bindings.h"
#include "sacl/common.h"
#include "sacl/layer_norm.h"

namespace sacl {
namespace addon {

namespace {

// rows · n within kMaxElements, and every array of `rows · n` elements that length.
int64_t checkRowsN(Napi::Env env, int64_t rows, int64_t n) {
  if (rows * n > kMaxElements) throwRange(env, "rows · n", "at most " + std::to_string(kMaxElements), std::to_string(rows * n));
  return rows * n;
}

// A nullable argument was given (a zero-length array has no data pointer but is not null).
bool given(const ArrayArg<float>& a) { return !a.value.IsEmpty(); }

void checkLen(Napi::Env env, const char* name, const ArrayArg<float>& a, int64_t want, const char* what) {
  if (a.length != want) throwRange(env, std::string(name) + ".length", std::to_string(want) + " (" + what + ")", std::to_string(a.length));
}

}  // namespace

Napi::Value layerNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 9);
  const auto x = requireFloat32(info, 0, "x");
  const auto gamma = requireFloat32(info, 1, "gamma", true);
  const auto beta = requireFloat32(info, 2, "beta", true);
  const double eps = requirePositive(info, 3, "eps");
  const int64_t rows = requireInteger(info, 4, "rows", 0, kMaxElements);
  const int64_t n = requireInteger(info, 5, "n", 1, kMaxElements);
  const auto y = requireFloat32(info, 6, "y");
  const auto mean = requireFloat32(info, 7, "mean");
  const auto rstd = requireFloat32(info, 8, "rstd");
  const int64_t total = checkRowsN(env, rows, n);
  if (given(gamma) != given(beta)) {
    throwType(env, "beta", given(gamma) ? "a Float32Array (gamma is given)" : "null (gamma is null)", describe(info[2]));
  }
  checkLen(env, "x", x, total, "rows · n");
  if (given(gamma)) {
    checkLen(env, "gamma", gamma, n, "n");
    checkLen(env, "beta", beta, n, "n");
  }
  checkLen(env, "y", y, total, "rows · n");
  checkLen(env, "mean", mean, rows, "rows");
  checkLen(env, "rstd", rstd, rows, "rows");
  cpu::layerNorm(x.data, gamma.data, beta.data, static_cast<float>(eps), rows, n, y.data, mean.data, rstd.data);
  return env.Undefined();
}

Napi::Value layerNormGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 10);
  const auto dy = requireFloat32(info, 0, "dy");
  const auto x = requireFloat32(info, 1, "x");
  const auto mean = requireFloat32(info, 2, "mean");
  const auto rstd = requireFloat32(info, 3, "rstd");
  const auto gamma = requireFloat32(info, 4, "gamma", true);
  const int64_t rows = requireInteger(info, 5, "rows", 0, kMaxElements);
  const int64_t n = requireInteger(info, 6, "n", 1, kMaxElements);
  const auto dx = requireFloat32(info, 7, "dx");
  const auto dgamma = requireFloat32(info, 8, "dgamma", true);
  const auto dbeta = requireFloat32(info, 9, "dbeta", true);
  const int64_t total = checkRowsN(env, rows, n);
  const bool affine = given(gamma);
  const char* want = affine ? "a Float32Array (gamma is given)" : "null (gamma is null)";
  if (given(dgamma) != affine) throwType(env, "dgamma", want, describe(info[8]));
  if (given(dbeta) != affine) throwType(env, "dbeta", want, describe(info[9]));
  checkLen(env, "dy", dy, total, "rows · n");
  checkLen(env, "x", x, total, "rows · n");
  checkLen(env, "mean", mean, rows, "rows");
  checkLen(env, "rstd", rstd, rows, "rows");
  checkLen(env, "dx", dx, total, "rows · n");
  if (affine) {
    checkLen(env, "gamma", gamma, n, "n");
    checkLen(env, "dgamma", dgamma, n, "n");
    checkLen(env, "dbeta", dbeta, n, "n");
  }
  cpu::layerNormGrad(dy.data, x.data, mean.data, rstd.data, gamma.data, rows, n, dx.data, dgamma.data, dbeta.data);
  return env.Undefined();
}

}  // namespace addon
}  // namespace sacl
