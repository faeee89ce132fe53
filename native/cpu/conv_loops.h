// Loops the direct convolution kernels share (conv.cc, depthwise.cc).
#pragma once
#include <algorithm>
#include <cstdint>

#include "sacl/conv.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {

// The input row that tap kh of output row oh reads, and the input column of tap kw of output column ow;
// outside [0, H) or [0, W) the tap reads padding.
inline int64_t tapRow(const ConvGeometry& g, int64_t oh, int64_t kh) { return oh * g.strideH - g.padTop + kh; }
inline int64_t tapCol(const ConvGeometry& g, int64_t ow, int64_t kw) { return ow * g.strideW - g.padLeft + kw; }

// The input pixel x[b, ih, iw, :] (Ci floats) that tap (kh, kw) of output cell (b, oh, ow) reads, or null
// where it reads padding.
inline const float* tapPixel(const ConvGeometry& g, const float* x, int64_t b, int64_t oh, int64_t ow, int64_t kh,
                             int64_t kw) {
  const int64_t ih = tapRow(g, oh, kh);
  const int64_t iw = tapCol(g, ow, kw);
  if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return nullptr;
  return x + ((b * g.H + ih) * g.W + iw) * g.Ci;
}

// Runs row(b, oh, yRow) for every output row y[b, oh, :, :] (zeroed first), in parallel; each row has one
// owner.
template <class Row>
void forEachOutputRow(const ConvGeometry& g, float* y, Row&& row) {
  parallelFor(g.B * g.OH, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      float* yRow = y + t * g.OW * g.Co;
      std::fill(yRow, yRow + g.OW * g.Co, 0.f);
      row(t / g.OH, t % g.OH, yRow);
    }
  });
}

}  // namespace cpu
}  // namespace sacl
