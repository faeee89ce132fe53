// ResizeBilinear, MaxPool, AvgPool and their gradients on NHWC float32 (see sacl/movement.h), each reproducing
// tfjs-backend-cpu's arithmetic exactly. The channel loops are plain so the compiler vectorizes them
// (cloned for AVX2); work is split over the pool by output rows, each output element written by one thread.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "sacl/common.h"
#include "sacl/movement.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {
namespace {

// Elements per parallel chunk: below this, threads cost more than they save.
constexpr int64_t kGrain = 1 << 14;

// tfjs' two-step interpolation in float64: along the row first, then between the two rows.
SACL_CHANNEL_LOOP void lerpPixel(const float* __restrict tl, const float* __restrict tr, const float* __restrict bl,
                                 const float* __restrict br, double colFrac, double rowFrac, float* __restrict out,
                                 int64_t channels) {
  for (int64_t d = 0; d < channels; ++d) {
    const double top = static_cast<double>(tl[d]) + (static_cast<double>(tr[d]) - static_cast<double>(tl[d])) * colFrac;
    const double bottom =
        static_cast<double>(bl[d]) + (static_cast<double>(br[d]) - static_cast<double>(bl[d])) * colFrac;
    out[d] = static_cast<float>(top + (bottom - top) * rowFrac);
  }
}

// One source coordinate as tfjs computes it: the floor clamped at 0 (the fraction may then be negative),
// the ceiling clamped at size − 1.
struct Sample {
  int64_t lo, hi;
  double frac;
};

Sample sample(double ratio, int64_t i, bool halfPixelCenters, int64_t size) {
  const double at = halfPixelCenters ? ratio * (static_cast<double>(i) + 0.5) - 0.5 : ratio * static_cast<double>(i);
  const double lo = std::max(0.0, std::floor(at));
  const double hi = std::min(static_cast<double>(size - 1), std::ceil(at));
  return {static_cast<int64_t>(lo), static_cast<int64_t>(hi), at - lo};
}

// o[d] = max(o[d], v[d]) where v[d] is strictly greater: a NaN never replaces, and the first of equal
// values (−0 before 0) stays.
SACL_CHANNEL_LOOP void maxInto(float* __restrict o, const float* __restrict v, int64_t channels) {
  for (int64_t d = 0; d < channels; ++d) o[d] = v[d] > o[d] ? v[d] : o[d];
}

// As maxInto, also recording position `at` where v wins.
SACL_CHANNEL_LOOP void argmaxInto(float* __restrict o, int32_t* __restrict pos, const float* __restrict v, int32_t at,
                                  int64_t channels) {
  for (int64_t d = 0; d < channels; ++d) {
    const bool wins = v[d] > o[d];
    o[d] = wins ? v[d] : o[d];
    pos[d] = wins ? at : pos[d];
  }
}

// acc[d] += dy[d] where the window's maximum sits at `at`. Adding +0 elsewhere changes nothing: the sum
// starts at +0 and so is never −0. The term is selected with a bit mask, not a branch, so the loop
// vectorizes (GCC will not if-convert floating-point code under -ftrapping-math).
SACL_CHANNEL_LOOP void addWhere(double* __restrict acc, const int32_t* __restrict pos, const float* __restrict dy,
                                int32_t at, int64_t channels) {
  for (int64_t d = 0; d < channels; ++d) {
    const double v = dy[d];
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    bits &= -static_cast<uint64_t>(pos[d] == at);
    double term;
    std::memcpy(&term, &bits, sizeof term);
    acc[d] += term;
  }
}

// acc[d] += v[d] in float64.
SACL_CHANNEL_LOOP void addInto(double* __restrict acc, const float* __restrict v, int64_t channels) {
  for (int64_t d = 0; d < channels; ++d) acc[d] += static_cast<double>(v[d]);
}

// The in-image range [lo, hi) of the window at output index o along one axis.
inline void window(int64_t o, int64_t stride, int64_t pad, int64_t filter, int64_t size, int64_t* lo, int64_t* hi) {
  const int64_t corner = o * stride - pad;
  *lo = std::max<int64_t>(0, corner);
  *hi = std::min(size, corner + filter);
}

// floor(a / b) for b > 0.
inline int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Adds v's share 1 − f into lo and f into hi: the two taps of one bilinear sample along one axis (at the
// border both are the same pixel, so lo and hi may alias).
template <typename T>
void splitInto(double* lo, double* hi, const T* v, double f, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const double x = v[i];
    lo[i] += x - x * f;
    hi[i] += x * f;
  }
}

}  // namespace

void resizeBilinear(const float* x, int64_t batch, int64_t inHeight, int64_t inWidth, int64_t channels,
                    int64_t outHeight, int64_t outWidth, bool alignCorners, bool halfPixelCenters, float* out) {
  const bool alignRows = alignCorners && outHeight > 1, alignCols = alignCorners && outWidth > 1;
  const double rowRatio = static_cast<double>(alignRows ? inHeight - 1 : inHeight) /
                          static_cast<double>(alignRows ? outHeight - 1 : outHeight);
  const double colRatio = static_cast<double>(alignCols ? inWidth - 1 : inWidth) /
                          static_cast<double>(alignCols ? outWidth - 1 : outWidth);
  std::vector<Sample> cols(static_cast<size_t>(outWidth));
  for (int64_t c = 0; c < outWidth; ++c) cols[c] = sample(colRatio, c, halfPixelCenters, inWidth);
  const int64_t rowWords = outWidth * channels;
  parallelFor(batch * outHeight, std::max<int64_t>(1, kGrain / rowWords), [&](int64_t begin, int64_t end) {
    for (int64_t br = begin; br < end; ++br) {
      const int64_t b = br / outHeight, r = br % outHeight;
      const Sample row = sample(rowRatio, r, halfPixelCenters, inHeight);
      const float* top = x + (b * inHeight + row.lo) * inWidth * channels;
      const float* bottom = x + (b * inHeight + row.hi) * inWidth * channels;
      float* o = out + br * rowWords;
      for (int64_t c = 0; c < outWidth; ++c) {
        const Sample& col = cols[c];
        lerpPixel(top + col.lo * channels, top + col.hi * channels, bottom + col.lo * channels,
                  bottom + col.hi * channels, col.frac, row.frac, o + c * channels, channels);
      }
    }
  });
}

void resizeBilinearGrad(const float* dy, int64_t batch, int64_t inHeight, int64_t inWidth, int64_t channels,
                        int64_t outHeight, int64_t outWidth, bool alignCorners, bool halfPixelCenters, float* dx) {
  const auto taps = [&](int64_t inSize, int64_t outSize) {
    const bool corners = alignCorners && outSize > 1;
    const double ratio = static_cast<double>(corners ? inSize - 1 : inSize) / static_cast<double>(corners ? outSize - 1 : outSize);
    std::vector<Sample> t(static_cast<size_t>(outSize));
    for (int64_t o = 0; o < outSize; ++o) {
      Sample s = sample(ratio, o, halfPixelCenters, inSize);
      // alignCorners with halfPixelCenters can sample past the last pixel: clamp to it
      if (s.lo > inSize - 1) {
        s.frac += static_cast<double>(s.lo - (inSize - 1));
        s.lo = inSize - 1;
      }
      t[o] = s;
    }
    return t;
  };
  const std::vector<Sample> rows = taps(inHeight, outHeight), cols = taps(inWidth, outWidth);
  const int64_t rowWords = inWidth * channels;
  parallelFor(batch, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(inHeight * rowWords)), row(static_cast<size_t>(rowWords));
    for (int64_t b = begin; b < end; ++b) {
      std::fill(acc.begin(), acc.end(), 0.0);
      const float* g = dy + b * outHeight * outWidth * channels;
      for (int64_t r = 0; r < outHeight; ++r) {
        std::fill(row.begin(), row.end(), 0.0);
        for (int64_t c = 0; c < outWidth; ++c, g += channels) {
          splitInto(row.data() + cols[c].lo * channels, row.data() + cols[c].hi * channels, g, cols[c].frac, channels);
        }
        splitInto(acc.data() + rows[r].lo * rowWords, acc.data() + rows[r].hi * rowWords, row.data(), rows[r].frac, rowWords);
      }
      float* o = dx + b * inHeight * rowWords;
      for (int64_t i = 0; i < inHeight * rowWords; ++i) o[i] = static_cast<float>(acc[i]);
    }
  });
}

namespace {

// Runs visit(br, yc, r0, r1, c0, c1) for every output window: br = b·outHeight + yr, and the input rows
// [r0, r1) and columns [c0, c1) it covers. Parallel over output rows; each window has one owner.
template <class Visit>
void forEachWindow(const Pool2D& p, Visit&& visit) {
  parallelFor(p.batch * p.outHeight, std::max<int64_t>(1, kGrain / (p.outWidth * p.channels)), [&](int64_t begin, int64_t end) {
    for (int64_t br = begin; br < end; ++br) {
      int64_t r0, r1;
      window(br % p.outHeight, p.strideHeight, p.padTop, p.filterHeight, p.inHeight, &r0, &r1);
      for (int64_t yc = 0; yc < p.outWidth; ++yc) {
        int64_t c0, c1;
        window(yc, p.strideWidth, p.padLeft, p.filterWidth, p.inWidth, &c0, &c1);
        visit(br, yc, r0, r1, c0, c1);
      }
    }
  });
}

// dx[b, xr, xc, :] = scale · Σ gather over the output windows (yr, yc) that cover input pixel (xr, xc), in
// row-major window order, accumulated in double: gather(acc, o, at) with o the window's offset in the
// output ([B, outH, outW, C]) and at = xr·W + xc. Parallel over input rows; each pixel has one owner.
template <class Gather>
void gatherWindows(const Pool2D& p, double scale, float* dx, Gather&& gather) {
  const int64_t C = p.channels, H = p.inHeight, W = p.inWidth, inRow = W * C;
  parallelFor(p.batch * H, std::max<int64_t>(1, kGrain / inRow), [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(C));
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / H, xr = bh % H;
      // windows yr with yr·stride − pad ≤ xr < yr·stride − pad + filter
      const int64_t yr0 = std::max<int64_t>(0, floorDiv(xr + p.padTop - p.filterHeight, p.strideHeight) + 1);
      const int64_t yr1 = std::min(p.outHeight - 1, floorDiv(xr + p.padTop, p.strideHeight));
      for (int64_t xc = 0; xc < W; ++xc) {
        const int64_t yc0 = std::max<int64_t>(0, floorDiv(xc + p.padLeft - p.filterWidth, p.strideWidth) + 1);
        const int64_t yc1 = std::min(p.outWidth - 1, floorDiv(xc + p.padLeft, p.strideWidth));
        std::fill(acc.begin(), acc.end(), 0.0);
        const int32_t at = static_cast<int32_t>(xr * W + xc);
        for (int64_t yr = yr0; yr <= yr1; ++yr) {
          for (int64_t yc = yc0; yc <= yc1; ++yc) gather(acc.data(), ((b * p.outHeight + yr) * p.outWidth + yc) * C, at);
        }
        float* g = dx + bh * inRow + xc * C;
        for (int64_t d = 0; d < C; ++d) g[d] = static_cast<float>(acc[d] * scale);
      }
    }
  });
}

}  // namespace

void maxPool(const float* x, const Pool2D& p, float* out) {
  const int64_t C = p.channels, rowWords = p.outWidth * C;
  forEachWindow(p, [&](int64_t br, int64_t yc, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    const int64_t b = br / p.outHeight;
    float* o = out + br * rowWords + yc * C;
    std::fill(o, o + C, -std::numeric_limits<float>::infinity());
    for (int64_t xr = r0; xr < r1; ++xr) {
      for (int64_t xc = c0; xc < c1; ++xc) maxInto(o, x + ((b * p.inHeight + xr) * p.inWidth + xc) * C, C);
    }
  });
}

void maxPoolGrad(const float* dy, const float* x, const Pool2D& p, float* dx) {
  const int64_t C = p.channels, H = p.inHeight, W = p.inWidth, outRow = p.outWidth * C;
  // each window's first maximum as a position y·W + x in its image, −1 when there is none
  std::vector<int32_t> argmax(static_cast<size_t>(p.batch * p.outHeight * p.outWidth * C));
  forEachWindow(p, [&](int64_t br, int64_t yc, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    thread_local std::vector<float> best;
    best.assign(static_cast<size_t>(C), -std::numeric_limits<float>::infinity());
    const int64_t b = br / p.outHeight;
    int32_t* pos = argmax.data() + br * outRow + yc * C;
    std::fill(pos, pos + C, -1);
    for (int64_t xr = r0; xr < r1; ++xr) {
      for (int64_t xc = c0; xc < c1; ++xc) {
        argmaxInto(best.data(), pos, x + ((b * H + xr) * W + xc) * C, static_cast<int32_t>(xr * W + xc), C);
      }
    }
  });
  // each input pixel gathers dy of the windows whose maximum it holds
  gatherWindows(p, 1.0, dx, [&](double* acc, int64_t o, int32_t at) { addWhere(acc, argmax.data() + o, dy + o, at, C); });
}

void avgPool(const float* x, const Pool2D& p, float* out) {
  const int64_t C = p.channels, rowWords = p.outWidth * C;
  forEachWindow(p, [&](int64_t br, int64_t yc, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    thread_local std::vector<double> acc;
    acc.assign(static_cast<size_t>(C), 0.0);
    const int64_t b = br / p.outHeight;
    for (int64_t xr = r0; xr < r1; ++xr) {
      for (int64_t xc = c0; xc < c1; ++xc) addInto(acc.data(), x + ((b * p.inHeight + xr) * p.inWidth + xc) * C, C);
    }
    const double count = static_cast<double>(std::max<int64_t>(0, r1 - r0) * std::max<int64_t>(0, c1 - c0));
    float* o = out + br * rowWords + yc * C;
    for (int64_t d = 0; d < C; ++d) o[d] = static_cast<float>(acc[d] / count);
  });
}

void avgPoolGrad(const float* dy, const Pool2D& p, float* dx) {
  const double scale = 1.0 / static_cast<double>(p.filterHeight * p.filterWidth);
  gatherWindows(p, scale, dx, [&](double* acc, int64_t o, int32_t) { addInto(acc, dy + o, p.channels); });
}

}  // namespace cpu
}  // namespace sacl
