// reduce(op, x, shape, axes, out), softmax(x, y, rows, n) and argReduce(isMax, x, outer, n, inner, out):
// the kernels behind the tfjs kernels of src/tf/kernels/reduce.ts. Synchronous only, like every tfjs
// kernel: the arrays may be views of a tfjs backend's memory.
#include <cmath>

#include "args.h"
#include "bindings.h"
#include "sacl/common.h"
#include "sacl/reduce.h"

namespace sacl {
namespace addon {

namespace {

// x of shape xd (its size in range) and the output of shape od: both lengths exact.
template <class Out>
void checkInOut(Napi::Env env, const ArrayArg<float>& x, const Dims& xd, const char* outName, const ArrayArg<Out>& out,
                const Dims& od) {
  checkElements(env, "x", xd);
  checkLength(env, "x", x, xd);
  checkLength(env, outName, out, od);
}

}  // namespace

Napi::Value reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 5);
  const auto op = static_cast<ReduceOp>(requireInteger(info, 0, "op", 0, static_cast<int>(ReduceOp::Count) - 1));
  const auto x = requireFloat32(info, 1, "x");
  int64_t shape[kMaxReduceRank], axes[kMaxReduceRank];
  const int rank = requireIntList(info, 2, "shape", "an integer size ≥ 1", "an integer size ≥ 1", 1, kMaxElements, kMaxReduceRank, shape);
  const int nAxes = requireIntList(info, 3, "axes", "an axis of shape", "an axis of shape", 0, rank - 1, kMaxReduceRank, axes);
  const auto out = requireFloat32(info, 4, "out");
  bool reduced[kMaxReduceRank] = {};
  for (int a = 0; a < nAxes; ++a) {
    if (reduced[axes[a]]) throwRange(env, "axes[" + std::to_string(a) + "]", "an axis not already listed", std::to_string(axes[a]));
    reduced[axes[a]] = true;
  }
  int64_t total = 1, kept = 1;  // each size is ≤ 2^31, so one step cannot overflow
  for (int a = 0; a < rank; ++a) {
    total *= shape[a];
    if (total > kMaxElements) throwRange(env, "shape", "at most " + std::to_string(kMaxElements) + " elements", "more");
    if (!reduced[a]) kept *= shape[a];
  }
  if (x.length != total) throwRange(env, "x.length", std::to_string(total) + " (the product of shape)", std::to_string(x.length));
  if (out.length != kept) throwRange(env, "out.length", std::to_string(kept) + " (the product of the kept sizes)", std::to_string(out.length));
  cpu::reduce(op, x.data, shape, reduced, rank, out.data);
  return env.Undefined();
}

Napi::Value softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 4);
  const auto x = requireFloat32(info, 0, "x");
  const auto y = requireFloat32(info, 1, "y");
  const int64_t rows = requireInteger(info, 2, "rows", 1, kMaxElements);
  const int64_t n = requireInteger(info, 3, "n", 1, kMaxElements);
  const Dims xd{{{"rows", rows}, {"n", n}}};
  checkInOut(env, x, xd, "y", y, xd);
  cpu::softmax(x.data, y.data, rows, n);
  return env.Undefined();
}

Napi::Value argReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 6);
  const bool isMax = requireBool(info, 0, "isMax");
  const auto x = requireFloat32(info, 1, "x");
  const int64_t outer = requireInteger(info, 2, "outer", 1, kMaxElements);
  const int64_t n = requireInteger(info, 3, "n", 1, kMaxElements);
  const int64_t inner = requireInteger(info, 4, "inner", 1, kMaxElements);
  const auto out = requireInt32(info, 5, "out");
  checkInOut(env, x, Dims{{{"outer", outer}, {"n", n}, {"inner", inner}}}, "out", out, Dims{{{"outer", outer}, {"inner", inner}}});
  cpu::argReduce(isMax, x.data, outer, n, inner, out.data);
  return env.Undefined();
}

}  // namespace addon
}  // namespace sacl
