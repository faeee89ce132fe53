// Depthwise convolution and its two gradients (see sacl/conv.h): direct loops with the channels innermost
// (contiguous in NHWC, so the loops vectorize), parallel over output rows or over (tap, channel block).
// The arithmetic is tfjs-backend-cpu's: products and sums in float64, in its order, so that the results
// match its kernels bit for bit; each output element is computed by one thread.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "conv_loops.h"
#include "sacl/common.h"
#include "sacl/conv.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {
namespace {

// Output channels per filter-gradient task.
constexpr int64_t kChannelBlock = 64;

// The range [lo, hi) of output positions o whose tap k reads an input position i = o·stride − pad + k
// inside [0, size).
void validOutputs(int64_t k, int64_t stride, int64_t pad, int64_t size, int64_t outSize, int64_t* lo, int64_t* hi) {
  const int64_t first = pad - k;  // o·stride ≥ first
  *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  const int64_t last = size - 1 + pad - k;  // o·stride ≤ last
  *hi = last < 0 ? 0 : std::min(outSize, last / stride + 1);
  if (*hi < *lo) *hi = *lo;
}

// One filter tap over a run of n output cells (multiplier 1): y[o][c] = f32(y[o][c] + x[o·step][c]·w[c]).
SACL_CHANNEL_LOOP void tapRun(float* __restrict y, const float* __restrict x, const float* __restrict w, int64_t n,
                              int64_t xStep, int64_t C) {
  for (int64_t o = 0; o < n; ++o) {
    float* yo = y + o * C;
    const float* xo = x + o * xStep;
    for (int64_t c = 0; c < C; ++c) {
      yo[c] = static_cast<float>(static_cast<double>(yo[c]) + static_cast<double>(xo[c]) * static_cast<double>(w[c]));
    }
  }
}

// The same for a multiplier M > 1: y[o][c·M + m] += x[o·step][c] · w[c·M + m].
void tapRunMultiplier(float* y, const float* x, const float* w, int64_t n, int64_t xStep, int64_t C, int64_t M) {
  for (int64_t o = 0; o < n; ++o) {
    float* yo = y + o * C * M;
    const float* xo = x + o * xStep;
    for (int64_t c = 0; c < C; ++c) {
      const double xv = xo[c];
      for (int64_t m = 0; m < M; ++m) {
        yo[c * M + m] = static_cast<float>(static_cast<double>(yo[c * M + m]) + xv * static_cast<double>(w[c * M + m]));
      }
    }
  }
}

// acc[j] += x[j / M] · dy[j] for the output channels j in [j0, j0 + n) (acc and dy offset to j0).
SACL_CHANNEL_LOOP void accumulate(double* __restrict acc, const float* __restrict x, const float* __restrict dy, int64_t j0,
                                  int64_t n, int64_t M) {
  if (M == 1) {
    for (int64_t j = 0; j < n; ++j) acc[j] += static_cast<double>(x[j0 + j]) * static_cast<double>(dy[j]);
  } else {
    for (int64_t j = 0; j < n; ++j) acc[j] += static_cast<double>(x[(j0 + j) / M]) * static_cast<double>(dy[j]);
  }
}

// acc[c] += Σ_m w[c·M + m] · dy[c·M + m] for c < C, m in increasing order.
SACL_CHANNEL_LOOP void accumulateInput(double* __restrict acc, const float* __restrict w, const float* __restrict dy,
                                       int64_t C, int64_t M) {
  if (M == 1) {
    for (int64_t c = 0; c < C; ++c) acc[c] += static_cast<double>(dy[c]) * static_cast<double>(w[c]);
  } else {
    for (int64_t c = 0; c < C; ++c) {
      double s = acc[c];
      for (int64_t m = 0; m < M; ++m) s += static_cast<double>(dy[c * M + m]) * static_cast<double>(w[c * M + m]);
      acc[c] = s;
    }
  }
}

SACL_CHANNEL_LOOP void roundInto(float* __restrict dst, const double* __restrict src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]);
}

}  // namespace

void depthwiseConv2d(const ConvGeometry& g, const float* x, const float* w, float* y) {
  const int64_t M = g.Co / g.Ci;
  // tfjs' order per output element: taps in (kh, kw) order, the in-range ones only
  forEachOutputRow(g, y, [&](int64_t b, int64_t oh, float* yRow) {
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t ih = tapRow(g, oh, kh);
      if (ih < 0 || ih >= g.H) continue;
      const float* xRow = x + (b * g.H + ih) * g.W * g.Ci;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        int64_t lo, hi;
        validOutputs(kw, g.strideW, g.padLeft, g.W, g.OW, &lo, &hi);
        if (hi <= lo) continue;
        const float* xs = xRow + (lo * g.strideW - g.padLeft + kw) * g.Ci;
        const float* wt = w + (kh * g.KW + kw) * g.Co;
        if (M == 1) {
          tapRun(yRow + lo * g.Co, xs, wt, hi - lo, g.strideW * g.Ci, g.Ci);
        } else {
          tapRunMultiplier(yRow + lo * g.Co, xs, wt, hi - lo, g.strideW * g.Ci, g.Ci, M);
        }
      }
    }
  });
}

namespace {

// The taps k of one axis that read input position i, in decreasing k, with the output position o each
// belongs to (i = o·stride − pad + k): k ≡ i + pad (mod stride), so they are stride apart. A strided
// layer (ResT's reduction, 9×9 at stride 8) then visits its one or two taps, not all nine with a
// division each.
int64_t tapsReading(int64_t i, int64_t K, int64_t stride, int64_t pad, int64_t outSize, int64_t* k, int64_t* o) {
  const int64_t base = i + pad;  // o·stride + k
  const int64_t first = base % stride;
  int64_t count = 0;
  for (int64_t kk = first + (K - 1 - first) / stride * stride; first < K && kk >= 0; kk -= stride) {
    const int64_t oo = (base - kk) / stride;
    if (base - kk < 0 || oo >= outSize) continue;
    k[count] = kk;
    o[count] = oo;
    count++;
  }
  return count;
}

}  // namespace

void depthwiseBackpropInput(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  const int64_t M = g.Co / g.Ci;
  // tfjs' order per input element: the output cells that read it in increasing (oh, ow), then m; that is
  // taps in decreasing (kh, kw)
  parallelFor(g.B * g.H, 1, [&](int64_t begin, int64_t end) {
    std::unique_ptr<double[]> acc(new double[g.Ci]);
    std::unique_ptr<int64_t[]> taps(new int64_t[2 * (g.KH + g.KW)]);
    int64_t* khs = taps.get();
    int64_t* ohs = khs + g.KH;
    int64_t* kws = ohs + g.KH;
    int64_t* ows = kws + g.KW;
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / g.H;
      const int64_t ih = t % g.H;
      float* dxRow = dx + t * g.W * g.Ci;
      const int64_t rows = tapsReading(ih, g.KH, g.strideH, g.padTop, g.OH, khs, ohs);
      for (int64_t iw = 0; iw < g.W; ++iw) {
        std::fill(acc.get(), acc.get() + g.Ci, 0.0);
        const int64_t cols = rows == 0 ? 0 : tapsReading(iw, g.KW, g.strideW, g.padLeft, g.OW, kws, ows);
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t c = 0; c < cols; ++c) {
            accumulateInput(acc.get(), w + (khs[r] * g.KW + kws[c]) * g.Co, dy + ((b * g.OH + ohs[r]) * g.OW + ows[c]) * g.Co, g.Ci, M);
          }
        }
        roundInto(dxRow + iw * g.Ci, acc.get(), g.Ci);
      }
    }
  });
}

void depthwiseBackpropFilter(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  const int64_t M = g.Co / g.Ci;
  const int64_t blocks = (g.Co + kChannelBlock - 1) / kChannelBlock;
  // tfjs' order per filter element: b, then oh, then ow, increasing
  parallelFor(g.KH * g.KW * blocks, 1, [&](int64_t begin, int64_t end) {
    double acc[kChannelBlock];
    for (int64_t t = begin; t < end; ++t) {
      const int64_t tap = t / blocks;
      const int64_t kh = tap / g.KW;
      const int64_t kw = tap % g.KW;
      const int64_t j0 = (t % blocks) * kChannelBlock;
      const int64_t n = std::min(kChannelBlock, g.Co - j0);
      std::fill(acc, acc + n, 0.0);
      int64_t ohLo, ohHi, owLo, owHi;
      validOutputs(kh, g.strideH, g.padTop, g.H, g.OH, &ohLo, &ohHi);
      validOutputs(kw, g.strideW, g.padLeft, g.W, g.OW, &owLo, &owHi);
      for (int64_t b = 0; b < g.B; ++b) {
        for (int64_t oh = ohLo; oh < ohHi; ++oh) {
          const int64_t ih = oh * g.strideH - g.padTop + kh;
          const float* xRow = x + (b * g.H + ih) * g.W * g.Ci;
          const float* dyRow = dy + (b * g.OH + oh) * g.OW * g.Co;
          for (int64_t ow = owLo; ow < owHi; ++ow) {
            const int64_t iw = ow * g.strideW - g.padLeft + kw;
            accumulate(acc, xRow + iw * g.Ci, dyRow + ow * g.Co + j0, j0, n, M);
          }
        }
      }
      roundInto(dw + tap * g.Co + j0, acc, n);
    }
  });
}

}  // namespace cpu
}  // namespace sacl
