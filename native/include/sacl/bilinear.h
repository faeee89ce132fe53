// Bilinear sampling with torchvision RoIAlign's border rule, shared by the CPU and CUDA kernels so both
// sides compute the same taps and weights (in double, which makes the CPU path bit-identical to the
// float64 reference).
#pragma once
#include <cstdint>

#include "sacl/common.h"

namespace sacl {

struct BilinearTaps {
  int32_t y0, y1, x0, x1;
  double w00, w01, w10, w11;  // weights of (y0,x0), (y0,x1), (y1,x0), (y1,x1)
};

// The taps of a sample at (y, x) on an H×W map. Returns false when the sample lies outside
// [−1, H] × [−1, W] (it is then 0); NaN is outside too, so no bad coordinate can index memory.
SACL_HD bool bilinearTaps(double y, double x, int64_t H, int64_t W, BilinearTaps* t) {
  if (!(y >= -1.0 && y <= static_cast<double>(H) && x >= -1.0 && x <= static_cast<double>(W))) return false;
  y = y < 0 ? 0 : (y > H - 1 ? static_cast<double>(H - 1) : y);
  x = x < 0 ? 0 : (x > W - 1 ? static_cast<double>(W - 1) : x);
  const int32_t y0 = static_cast<int32_t>(y);  // y ≥ 0, so truncation is floor
  const int32_t x0 = static_cast<int32_t>(x);
  t->y0 = y0;
  t->x0 = x0;
  t->y1 = y0 + 1 < H ? y0 + 1 : static_cast<int32_t>(H - 1);
  t->x1 = x0 + 1 < W ? x0 + 1 : static_cast<int32_t>(W - 1);
  const double ly = y - y0, lx = x - x0;
  const double hy = 1.0 - ly, hx = 1.0 - lx;
  t->w00 = hy * hx;
  t->w01 = hy * lx;
  t->w10 = ly * hx;
  t->w11 = ly * lx;
  return true;
}

// The sampling point (y, x) of output cell (v, u) of an S×S crop centred at (cy, cx) (docs/ops.md, roiAlign).
SACL_HD double samplePosition(double centre, int64_t index, int64_t S, double step) {
  return centre + (static_cast<double>(index) - static_cast<double>(S - 1) / 2.0) * step;
}

}  // namespace sacl
