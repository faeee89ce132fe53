// knnGraph(x, y|null, B, N, M, D, k, dilation, metric, normalize, out, device, async)
// Argument names follow the public API (x, options.candidates, k, …) so the TypeScript layer can leave
// the finite-value scan to this layer and users see one message either way.
#include "bindings.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "args.h"
#include "async.h"
#include "dispatch.h"
#include "sacl/ops.h"
#if defined(SACL_WITH_CUDA)
#include "sacl/cuda_ops.h"
#endif

namespace sacl {
namespace addon {

namespace {

// Values whose magnitudes stay in [2^-30, 2^30] keep every square, dot product and norm of a row well
// inside float32's normal range; the kernels assume that.
constexpr float kUnitLow = 0x1p-30f, kUnitHigh = 0x1p30f;

float maxAbs(const float* p, int64_t n) {
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(p[i]));
  return m;
}

// The power of two that brings a largest magnitude m into [1/2, 1) when m lies outside [2^-30, 2^30];
// 1 otherwise (and for m = 0).
float unitScale(float m) {
  if (m == 0.0f || (m >= kUnitLow && m <= kUnitHigh)) return 1.0f;
  int e = 0;
  std::frexp(m, &e);
  return std::ldexp(1.0f, -e);
}

// Neighbour orders do not change when distances are scaled by one factor, so data far from unit scale is
// multiplied by powers of two (exactly) before the kernels see it: per row for cosine and for normalized
// rows (both invariant to each row's scale), else per batch item (one factor for x[b] and its candidates).
// Returns null when no scaling is needed, else the scaled copies {x, y} (y empty when the candidates are x).
std::unique_ptr<std::vector<float>[]> scaleToUnit(const KnnGraphArgs& a) {
  const bool self = a.y == a.x;
  const int64_t rowsX = a.B * a.N, rowsY = a.B * a.M;
  std::vector<float> sx, sy;  // per row of x and of y
  bool any = false;
  if (a.metric == Metric::Cosine || a.normalize) {
    sx.resize(rowsX);
    for (int64_t r = 0; r < rowsX; ++r) any |= (sx[r] = unitScale(maxAbs(a.x + r * a.D, a.D))) != 1.0f;
    if (!self) {
      sy.resize(rowsY);
      for (int64_t r = 0; r < rowsY; ++r) any |= (sy[r] = unitScale(maxAbs(a.y + r * a.D, a.D))) != 1.0f;
    }
  } else {
    sx.resize(rowsX);
    sy.resize(self ? 0 : rowsY);
    for (int64_t b = 0; b < a.B; ++b) {
      float m = maxAbs(a.x + b * a.N * a.D, a.N * a.D);
      if (!self) m = std::max(m, maxAbs(a.y + b * a.M * a.D, a.M * a.D));
      const float f = unitScale(m);
      any |= f != 1.0f;
      std::fill(sx.begin() + b * a.N, sx.begin() + (b + 1) * a.N, f);
      if (!self) std::fill(sy.begin() + b * a.M, sy.begin() + (b + 1) * a.M, f);
    }
  }
  if (!any) return nullptr;
  auto scaled = std::make_unique<std::vector<float>[]>(2);
  const auto copy = [&](const float* src, const std::vector<float>& factor, std::vector<float>& dst) {
    dst.resize(factor.size() * a.D);
    for (size_t r = 0; r < factor.size(); ++r) {
      for (int64_t d = 0; d < a.D; ++d) dst[r * a.D + d] = src[r * a.D + d] * factor[r];
    }
  };
  copy(a.x, sx, scaled[0]);
  if (!self) copy(a.y, sy, scaled[1]);
  return scaled;
}

}  // namespace

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

  KnnGraphArgs a{x.data, y.value.IsEmpty() ? x.data : y.data, B, N, M, D, k, dilation, metric, normalize};
  std::shared_ptr<std::vector<float>[]> scaled = scaleToUnit(a);
  if (scaled) {
    a.y = a.y == a.x ? scaled[0].data() : scaled[1].data();
    a.x = scaled[0].data();
  }
  int32_t* o = out.data;
  return call.run([a, o, device, scaled] {
#if defined(SACL_WITH_CUDA)
    if (device == Device::Cuda) return cuda::knnGraph(a, o);
#endif
    (void)device;
    cpu::knnGraph(a, o);
  });
}

}  // namespace addon
}  // namespace sacl
