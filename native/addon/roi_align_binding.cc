// roiAlign(features, B, H, W, C, centers, R, S, step, out, device, async)
// roiAlignGrad(dOut, B, H, W, C, centers, R, S, step, dFeatures, device, async)
#include "args.h"
#include "async.h"
#include "bindings.h"
#include "dispatch.h"
#include "sacl/ops.h"
#if defined(SACL_WITH_CUDA)
#include "sacl/cuda_ops.h"
#endif

namespace sacl {
namespace addon {

namespace {

struct RoiCall {
  RoiAlignArgs a;
  ArrayArg<float> centers;
  Dims featureDims, cropDims;
};

// The geometry arguments info[1…8] (B, H, W, C, centers, R, S, step), checked but for the centres'
// values, which checkCenters reads once the call has staged them.
RoiCall requireGeometry(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RoiCall call{};
  RoiAlignArgs& a = call.a;
  a.B = requireInteger(info, 1, "B", 1, kMaxElements);
  a.H = requireInteger(info, 2, "H", 1, kMaxElements);
  a.W = requireInteger(info, 3, "W", 1, kMaxElements);
  a.C = requireInteger(info, 4, "C", 1, kMaxElements);
  call.centers = requireFloat32(info, 5, "centers");
  a.R = requireInteger(info, 6, "R", 1, kMaxElements);
  a.S = requireInteger(info, 7, "size", 1, 4096);
  a.step = requirePositive(info, 8, "step");
  call.featureDims = Dims{{{"B", a.B}, {"H", a.H}, {"W", a.W}, {"C", a.C}}};
  call.cropDims = Dims{{{"B", a.B}, {"R", a.R}, {"S", a.S}, {"S", a.S}, {"C", a.C}}};
  const Dims cd{{{"B", a.B}, {"R", a.R}, {"2", 2}}};
  checkElements(env, "features", call.featureDims);
  checkElements(env, "size", call.cropDims);
  checkElements(env, "centers", cd);
  checkLength(env, "centers", call.centers, cd);
  return call;
}

void checkCenters(Napi::Env env, RoiCall& call) {
  checkFinite(env, "centers", call.centers, Dims{{{"B", call.a.B}, {"R", call.a.R}, {"2", 2}}});
  call.a.centers = call.centers.data;
}

}  // namespace

Napi::Value roiAlign(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 12);
  auto features = requireFloat32(info, 0, "features");
  RoiCall geometry = requireGeometry(info);
  auto out = requireFloat32(info, 9, "out");
  const Device device = requireDevice(info, 10);
  const bool async = requireBool(info, 11, "async");
  checkLength(env, "features", features, geometry.featureDims);
  checkLength(env, "out", out, geometry.cropDims);

  KernelCall call(env, async);
  call.input("features", features);
  call.input("centers", geometry.centers);
  call.output("out", out);
  checkCenters(env, geometry);

  const RoiAlignArgs a = geometry.a;
  const float* f = features.data;
  float* o = out.data;
  return call.run([a, f, o, device] {
#if defined(SACL_WITH_CUDA)
    if (device == Device::Cuda) return cuda::roiAlign(a, f, o);
#endif
    (void)device;
    cpu::roiAlign(a, f, o);
  });
}

Napi::Value roiAlignGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 12);
  auto dOut = requireFloat32(info, 0, "dOut");
  RoiCall geometry = requireGeometry(info);
  auto dFeatures = requireFloat32(info, 9, "dFeatures");
  const Device device = requireDevice(info, 10);
  const bool async = requireBool(info, 11, "async");
  checkLength(env, "dOut", dOut, geometry.cropDims);
  checkLength(env, "dFeatures", dFeatures, geometry.featureDims);

  KernelCall call(env, async);
  call.input("dOut", dOut);
  call.input("centers", geometry.centers);
  call.output("dFeatures", dFeatures);
  checkCenters(env, geometry);

  const RoiAlignArgs a = geometry.a;
  const float* g = dOut.data;
  float* df = dFeatures.data;
  return call.run([a, g, df, device] {
#if defined(SACL_WITH_CUDA)
    if (device == Device::Cuda) return cuda::roiAlignGrad(a, g, df);
#endif
    (void)device;
    cpu::roiAlignGrad(a, g, df);
  });
}

}  // namespace addon
}  // namespace sacl
