// roiAlign({ features, B, H, W, C, centers, R, S, step, out, device, async })
// roiAlignGrad({ dOut, B, H, W, C, centers, R, S, step, dFeatures, device, async })
#include "bindings.h"
#include "op_call.h"
#include "sacl/ops.h"

namespace sacl {
namespace addon {

namespace {

// Both directions: the same geometry and centres; forward maps the feature map to the crops, the
// gradient the crops' gradient to the map's.
Napi::Value roiAlignCall(const Napi::CallbackInfo& info, bool grad) {
  OpCall call(info);
  RoiAlignArgs a{};
  call.sizes({{"B", &a.B}, {"H", &a.H}, {"W", &a.W}, {"C", &a.C}, {"R", &a.R}});
  a.S = call.size("S", 4096, "size");
  a.step = call.fields.positive("step");
  const Dims map{{{"B", a.B}, {"H", a.H}, {"W", a.W}, {"C", a.C}}};
  const Dims crops{{{"B", a.B}, {"R", a.R}, {"S", a.S}, {"S", a.S}, {"C", a.C}}};
  checkElements(call.env(), "size", crops);

  const auto centers = call.input<float>("centers", "centers", Dims{{{"B", a.B}, {"R", a.R}, {"2", 2}}});
  const auto src = grad ? call.input<float>("dOut", "dOut", crops) : call.input<float>("features", "features", map);
  const auto dst = grad ? call.output<float>("dFeatures", "dFeatures", map) : call.output<float>("out", "out", crops);
  call.checkFinite(centers);

  a.centers = centers.data();
  const float* s = src.data();
  float* d = dst.data();
  if (grad) return call.run([a, s, d](Device device) { roiAlignGrad(device, a, s, d); });
  return call.run([a, s, d](Device device) { roiAlign(device, a, s, d); });
}

}  // namespace

Napi::Value roiAlign(const Napi::CallbackInfo& info) { return roiAlignCall(info, false); }
Napi::Value roiAlignGrad(const Napi::CallbackInfo& info) { return roiAlignCall(info, true); }

}  // namespace addon
}  // namespace sacl
