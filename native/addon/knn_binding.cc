// knnGraph(x, y|null, B, N, M, D, k, dilation, metric, normalize, out, device, async)
// Argument names follow the public API (x, options.candidates, k, …) so the TypeScript layer can leave
// the finite-value scan to this layer and users see one message either way.
#include "bindings.h"

#include "args.h"
#include "async.h"
#include "dispatch.h"
#include "sacl/ops.h"
#if defined(SACL_WITH_CUDA)
#include "sacl/cuda_ops.h"
#endif

namespace sacl {
namespace addon {

Napi::Value knnGraph(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 13);
  auto x = requireFloat32(info, 0, "x");
  auto y = requireFloat32(info, 1, "options.candidates", true);
  const int64_t B = requireInteger(info, 2, "B", 1, kMaxElements);
  const int64_t N = requireInteger(info, 3, "N", 1, kMaxElements);
  const int64_t M = requireInteger(info, 4, "M", 1, kMaxElements);
  const int64_t D = requireInteger(info, 5, "D", 1, kMaxElements);
  const int64_t k = requireInteger(info, 6, "k", 1, kMaxElements);
  const int64_t dilation = requireInteger(info, 7, "dilation", 1, kMaxElements);
  const auto metric = static_cast<Metric>(requireInteger(info, 8, "metric", 0, 2));
  const bool normalize = requireBool(info, 9, "normalize");
  auto out = requireInt32(info, 10, "out");
  const Device device = requireDevice(info, 11);
  const bool async = requireBool(info, 12, "async");

  if (y.value.IsEmpty() && M != N) throwRange(env, "M", std::to_string(N) + " (N: the candidates are x)", std::to_string(M));
  if (k * dilation > M) {
    throwRange(env, "k", "k·dilation ≤ M = " + std::to_string(M),
               "k = " + std::to_string(k) + " with dilation " + std::to_string(dilation));
  }
  const Dims xd{{{"B", B}, {"N", N}, {"D", D}}};
  const Dims yd{{{"B", B}, {"M", M}, {"D", D}}};
  const Dims od{{{"B", B}, {"N", N}, {"k", k}}};
  checkElements(env, "x", xd);
  checkElements(env, "options.candidates", yd);
  checkElements(env, "out", od);
  checkLength(env, "x", x, xd);
  if (!y.value.IsEmpty()) checkLength(env, "options.candidates", y, yd);
  checkLength(env, "out", out, od);

  KernelCall call(env, async);
  call.input("x", x);
  call.input("options.candidates", y);
  call.output("out", out);
  checkFinite(env, "x", x, xd);
  if (!y.value.IsEmpty()) checkFinite(env, "options.candidates", y, yd);

  const KnnGraphArgs a{x.data, y.value.IsEmpty() ? x.data : y.data, B, N, M, D, k, dilation, metric, normalize};
  int32_t* o = out.data;
  return call.run([a, o, device] {
#if defined(SACL_WITH_CUDA)
    if (device == Device::Cuda) return cuda::knnGraph(a, o);
#endif
    (void)device;
    cpu::knnGraph(a, o);
  });
}

}  // namespace addon
}  // namespace sacl
