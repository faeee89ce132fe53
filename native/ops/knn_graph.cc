// knnGraph's dispatcher (sacl/ops.h): scales data far from unit size, then runs the op on the CPU or CUDA.
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "sacl/cuda_ops.h"
#include "sacl/ops.h"

namespace sacl {

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

void knnGraph(Device device, const KnnGraphArgs& args, int32_t* out) {
  KnnGraphArgs a = args;
  const std::unique_ptr<std::vector<float>[]> scaled = scaleToUnit(a);
  if (scaled) {
    a.y = a.y == a.x ? scaled[0].data() : scaled[1].data();
    a.x = scaled[0].data();
  }
  if (device == Device::Cuda) return cuda::knnGraph(a, out);
  cpu::knnGraph(a, out);
}

}  // namespace sacl
