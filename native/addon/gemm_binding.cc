// matMul(a, b, batchA, batchB, M, N, K, transA, transB, out): the batched matrix product behind the tfjs
// BatchMatMul kernel. Synchronous only: tfjs kernels are synchronous, and the arrays may be views of the
// wasm backend's heap, valid only until JavaScript runs again.
#include "args.h"
#include "bindings.h"
#include "sacl/ops.h"

namespace sacl {
namespace addon {

Napi::Value matMul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 10);
  const auto a = requireFloat32(info, 0, "a");
  const auto b = requireFloat32(info, 1, "b");
  GemmArgs g{};
  g.batchA = requireInteger(info, 2, "batchA", 1, kMaxElements);
  g.batchB = requireInteger(info, 3, "batchB", 1, kMaxElements);
  g.M = requireInteger(info, 4, "M", 1, kMaxElements);
  g.N = requireInteger(info, 5, "N", 1, kMaxElements);
  g.K = requireInteger(info, 6, "K", 0, kMaxElements);
  g.transA = requireBool(info, 7, "transA");
  g.transB = requireBool(info, 8, "transB");
  const auto out = requireFloat32(info, 9, "out");
  if (g.batchA != g.batchB && g.batchA != 1 && g.batchB != 1) {
    throwRange(env, "batchB", "a batch equal to batchA or 1 (broadcast)", std::to_string(g.batchB));
  }
  const int64_t batch = std::max(g.batchA, g.batchB);
  const Dims da{{{"batchA", g.batchA}, {"M", g.M}, {"K", g.K}}};
  const Dims db{{{"batchB", g.batchB}, {"K", g.K}, {"N", g.N}}};
  const Dims dc{{{"batch", batch}, {"M", g.M}, {"N", g.N}}};
  checkElements(env, "a", da);
  checkElements(env, "b", db);
  checkElements(env, "out", dc);
  checkLength(env, "a", a, da);
  checkLength(env, "b", b, db);
  checkLength(env, "out", out, dc);
  g.a = a.data;
  g.b = b.data;
  cpu::gemm(g, out.data);
  return env.Undefined();
}

}  // namespace addon
}  // namespace sacl
