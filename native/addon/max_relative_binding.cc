// maxRelative(x, y|null, idx, B, N, M, C, K, out, argmax, device, async)
// maxRelativeGrad(dOut, idx, argmax, B, N, M, C, K, dx, dy|null, device, async)
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

struct GraphSizes {
  int64_t B, N, M, C, K;
};

// Sizes at info[first…first+4] (B, N, M, C, K), with every product in range.
GraphSizes requireGraphSizes(const Napi::CallbackInfo& info, size_t first) {
  GraphSizes s{};
  s.B = requireInteger(info, first, "B", 1, kMaxElements);
  s.N = requireInteger(info, first + 1, "N", 1, kMaxElements);
  s.M = requireInteger(info, first + 2, "M", 1, kMaxElements);
  s.C = requireInteger(info, first + 3, "C", 1, kMaxElements);
  s.K = requireInteger(info, first + 4, "K", 1, kMaxElements);
  checkElements(info.Env(), "x", Dims{{{"B", s.B}, {"N", s.N}, {"C", s.C}}});
  checkElements(info.Env(), "candidates", Dims{{{"B", s.B}, {"M", s.M}, {"C", s.C}}});
  checkElements(info.Env(), "idx", Dims{{{"B", s.B}, {"N", s.N}, {"K", s.K}}});
  return s;
}

}  // namespace

Napi::Value maxRelative(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 12);
  auto x = requireFloat32(info, 0, "x");
  auto y = requireFloat32(info, 1, "candidates", true);
  auto idx = requireInt32(info, 2, "idx");
  const GraphSizes s = requireGraphSizes(info, 3);
  auto out = requireFloat32(info, 8, "out");
  auto argmax = requireInt32(info, 9, "argmax");
  const Device device = requireDevice(info, 10);
  const bool async = requireBool(info, 11, "async");

  const bool self = y.value.IsEmpty();
  if (self && s.M != s.N) throwRange(env, "M", std::to_string(s.N) + " (N: the neighbours are x)", std::to_string(s.M));
  const Dims xd{{{"B", s.B}, {"N", s.N}, {"C", s.C}}};
  const Dims gd{{{"B", s.B}, {"N", s.N}, {"K", s.K}}};
  checkLength(env, "x", x, xd);
  if (!self) checkLength(env, "candidates", y, Dims{{{"B", s.B}, {"M", s.M}, {"C", s.C}}});
  checkLength(env, "idx", idx, gd);
  checkLength(env, "out", out, xd);
  checkLength(env, "argmax", argmax, xd);

  KernelCall call(env, async);
  call.input("x", x);
  call.input("candidates", y);
  call.input("idx", idx);
  call.output("out", out);
  call.output("argmax", argmax);
  checkIndexRange(env, "idx", idx, gd, s.M, "M, the number of neighbour rows");

  const MaxRelativeArgs a{x.data, self ? x.data : y.data, idx.data, s.B, s.N, s.M, s.C, s.K};
  float* o = out.data;
  int32_t* am = argmax.data;
  return call.run([a, o, am, device] {
#if defined(SACL_WITH_CUDA)
    if (device == Device::Cuda) return cuda::maxRelative(a, o, am);
#endif
    (void)device;
    cpu::maxRelative(a, o, am);
  });
}

Napi::Value maxRelativeGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 12);
  auto dOut = requireFloat32(info, 0, "dOut");
  auto idx = requireInt32(info, 1, "idx");
  auto argmax = requireInt32(info, 2, "argmax");
  const GraphSizes s = requireGraphSizes(info, 3);
  auto dx = requireFloat32(info, 8, "dx");
  auto dy = requireFloat32(info, 9, "dy", true);
  const Device device = requireDevice(info, 10);
  const bool async = requireBool(info, 11, "async");

  const bool self = dy.value.IsEmpty();
  if (self && s.M != s.N) throwRange(env, "M", std::to_string(s.N) + " (N: the neighbours are x)", std::to_string(s.M));
  const Dims xd{{{"B", s.B}, {"N", s.N}, {"C", s.C}}};
  const Dims gd{{{"B", s.B}, {"N", s.N}, {"K", s.K}}};
  checkLength(env, "dOut", dOut, xd);
  checkLength(env, "idx", idx, gd);
  checkLength(env, "argmax", argmax, xd);
  checkLength(env, "dx", dx, xd);
  if (!self) checkLength(env, "dy", dy, Dims{{{"B", s.B}, {"M", s.M}, {"C", s.C}}});

  KernelCall call(env, async);
  call.input("dOut", dOut);
  call.input("idx", idx);
  call.input("argmax", argmax);
  call.output("dx", dx);
  call.output("dy", dy);
  checkIndexRange(env, "idx", idx, gd, s.M, "M, the number of neighbour rows");
  checkIndexRange(env, "argmax", argmax, xd, s.K, "K, the number of neighbour slots");

  const MaxRelativeGradArgs a{dOut.data, idx.data, argmax.data, s.B, s.N, s.M, s.C, s.K};
  float* gx = dx.data;
  float* gy = self ? nullptr : dy.data;
  return call.run([a, gx, gy, device] {
#if defined(SACL_WITH_CUDA)
    if (device == Device::Cuda) return cuda::maxRelativeGrad(a, gx, gy);
#endif
    (void)device;
    cpu::maxRelativeGrad(a, gx, gy);
  });
}

}  // namespace addon
}  // namespace sacl
