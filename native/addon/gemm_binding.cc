// matMul({ a, b, batchA, batchB, M, N, K, transA, transB, out }): the batched matrix product behind the tfjs
// BatchMatMul kernel. Synchronous only: tfjs kernels are synchronous, and the arrays may be views of the
// wasm backend's heap, valid only until JavaScript runs again.
#include <algorithm>

#include "args.h"
#include "bindings.h"
#include "sacl/ops.h"

namespace sacl {
namespace addon {

Napi::Value matMul(const Napi::CallbackInfo& info) {
  const Fields f(info);
  GemmArgs g{};
  f.sizes({{"batchA", &g.batchA}, {"batchB", &g.batchB}, {"M", &g.M}, {"N", &g.N}});
  g.K = f.integer("K", 0, kMaxElements);
  g.transA = f.boolean("transA");
  g.transB = f.boolean("transB");
  if (g.batchA != g.batchB && g.batchA != 1 && g.batchB != 1) {
    throwRange(f.env(), "batchB", "a batch equal to batchA or 1 (broadcast)", std::to_string(g.batchB));
  }
  const auto a = f.shaped<float>("a", Dims{{{"batchA", g.batchA}, {"M", g.M}, {"K", g.K}}});
  const auto b = f.shaped<float>("b", Dims{{{"batchB", g.batchB}, {"K", g.K}, {"N", g.N}}});
  const auto out = f.shaped<float>("out", Dims{{{"batch", std::max(g.batchA, g.batchB)}, {"M", g.M}, {"N", g.N}}});
  g.a = a.data;
  g.b = b.data;
  cpu::gemm(g, out.data);
  return f.env().Undefined();
}

}  // namespace addon
}  // namespace sacl
