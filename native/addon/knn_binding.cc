// knnGraph({ x, y, B, N, M, D, k, dilation, metric, normalize, out, device, async })
// Message names follow the public API (x, options.candidates, k, …) so the TypeScript layer can leave
// the finite-value scan to this layer and users see one message either way.
#include "bindings.h"
#include "op_call.h"
#include "sacl/ops.h"

namespace sacl {
namespace addon {

Napi::Value knnGraph(const Napi::CallbackInfo& info) {
  OpCall call(info);
  KnnGraphArgs a{};
  call.sizes({{"B", &a.B}, {"N", &a.N}, {"M", &a.M}, {"D", &a.D}, {"k", &a.k}, {"dilation", &a.dilation}});
  a.metric = call.fields.metric("metric");
  a.normalize = call.fields.boolean("normalize");

  const auto x = call.input<float>("x", "x", Dims{{{"B", a.B}, {"N", a.N}, {"D", a.D}}});
  const auto y = call.input<float>("y", "options.candidates", Dims{{{"B", a.B}, {"M", a.M}, {"D", a.D}}}, true);
  const bool self = !y.data();
  if (self && a.M != a.N) throwRange(call.env(), "M", std::to_string(a.N) + " (N: the candidates are x)", std::to_string(a.M));
  if (a.k * a.dilation > a.M) {
    throwRange(call.env(), "k", "k·dilation ≤ M = " + std::to_string(a.M),
               "k = " + std::to_string(a.k) + " with dilation " + std::to_string(a.dilation));
  }
  const auto out = call.output<int32_t>("out", "out", Dims{{{"B", a.B}, {"N", a.N}, {"k", a.k}}});
  call.checkFinite(x);
  if (!self) call.checkFinite(y);

  a.x = x.data();
  a.y = self ? a.x : y.data();
  int32_t* o = out.data();
  return call.run([a, o](Device device) { knnGraph(device, a, o); });
}

}  // namespace addon
}  // namespace sacl
