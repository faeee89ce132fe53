// reduce({ op, x, shape, axes, out }), softmax({ x, y, rows, n }) and argReduce({ isMax, x, outer, n, inner, out }):
// the kernels behind the tfjs kernels of src/tf/kernels/reduce.ts. Synchronous only, like every tfjs
// kernel: the arrays may be views of a tfjs backend's memory.
#include <cmath>

#include "args.h"
#include "bindings.h"
#include "sacl/common.h"
#include "sacl/reduce.h"

namespace sacl {
namespace addon {

Napi::Value reduce(const Napi::CallbackInfo& info) {
  const Fields f(info);
  Napi::Env env = f.env();
  const auto op = static_cast<ReduceOp>(f.integer("op", 0, static_cast<int>(ReduceOp::Count) - 1));
  const auto x = f.array<float>("x");
  int64_t shape[kMaxReduceRank], axes[kMaxReduceRank];
  const int rank = f.intList("shape", "an integer size ≥ 1", "an integer size ≥ 1", 1, kMaxElements, kMaxReduceRank, shape);
  const int nAxes = f.intList("axes", "an axis of shape", "an axis of shape", 0, rank - 1, kMaxReduceRank, axes);
  const auto out = f.array<float>("out");
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
  const Fields f(info);
  const Matrix m = f.matrix("rows", 1, "n", "x");
  const Dims d{{{"rows", m.rows}, {"n", m.cols}}};
  const auto x = f.shaped<float>("x", d);
  const auto y = f.shaped<float>("y", d);
  cpu::softmax(x.data, y.data, m.rows, m.cols);
  return f.env().Undefined();
}

Napi::Value argReduce(const Napi::CallbackInfo& info) {
  const Fields f(info);
  const bool isMax = f.boolean("isMax");
  const int64_t outer = f.size("outer"), n = f.size("n"), inner = f.size("inner");
  const auto x = f.shaped<float>("x", Dims{{{"outer", outer}, {"n", n}, {"inner", inner}}});
  const auto out = f.shaped<int32_t>("out", Dims{{{"outer", outer}, {"inner", inner}}});
  cpu::argReduce(isMax, x.data, outer, n, inner, out.data);
  return f.env().Undefined();
}

}  // namespace addon
}  // namespace sacl
