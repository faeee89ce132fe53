// ROI align (bilinear S×S crops around centres, docs/ops.md, roiAlign) and its gradient on the CPU.
//
// Taps and weights come from sacl/bilinear.h, in double, and every sum is formed in the reference's order,
// so forward and backward are bit-identical to the float64 reference. Backward is split by (batch, channel
// block); a task accumulates only the cells its crops touch (a compact slot table), walks the samples in
// output order, then writes its whole slice of dFeatures (untouched cells get 0). Deterministic.
#include <algorithm>
#include <vector>

#include "channel_blocks.h"
#include "sacl/bilinear.h"
#include "sacl/ops.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {

namespace {

// Calls visit(sampleIndex, taps) (taps null outside the border) for every sample of ROI (b, r).
template <class Visit>
void forEachSample(const RoiAlignArgs& a, int64_t b, int64_t r, Visit&& visit) {
  const double cx = a.centers[(b * a.R + r) * 2];
  const double cy = a.centers[(b * a.R + r) * 2 + 1];
  BilinearTaps t;
  for (int64_t v = 0; v < a.S; ++v) {
    const double y = samplePosition(cy, v, a.S, a.step);
    for (int64_t u = 0; u < a.S; ++u) {
      const double x = samplePosition(cx, u, a.S, a.step);
      visit(v * a.S + u, bilinearTaps(y, x, a.H, a.W, &t) ? &t : nullptr);
    }
  }
}

// One sample: o[c] = w00·f00[c] + w01·f01[c] + w10·f10[c] + w11·f11[c], in double, in this order.
SACL_CHANNEL_LOOP void blend(const BilinearTaps& t, const float* __restrict f00, const float* __restrict f01,
                             const float* __restrict f10, const float* __restrict f11, int64_t C,
                             float* __restrict o) {
  const double w00 = t.w00, w01 = t.w01, w10 = t.w10, w11 = t.w11;
  for (int64_t c = 0; c < C; ++c) o[c] = static_cast<float>(w00 * f00[c] + w01 * f01[c] + w10 * f10[c] + w11 * f11[c]);
}

// One sample's gradient into four distinct cells.
SACL_CHANNEL_LOOP void scatter(const BilinearTaps& t, const float* __restrict g, int64_t w, double* __restrict p00,
                               double* __restrict p01, double* __restrict p10, double* __restrict p11) {
  const double w00 = t.w00, w01 = t.w01, w10 = t.w10, w11 = t.w11;
  for (int64_t c = 0; c < w; ++c) {
    const double gc = g[c];
    p00[c] += w00 * gc;
    p01[c] += w01 * gc;
    p10[c] += w10 * gc;
    p11[c] += w11 * gc;
  }
}

}  // namespace

void roiAlign(const RoiAlignArgs& a, const float* features, float* out) {
  const int64_t C = a.C, S2 = a.S * a.S;
  parallelFor(a.B * a.R, 1, [&](int64_t begin, int64_t end) {
    for (int64_t roi = begin; roi < end; ++roi) {
      const int64_t b = roi / a.R, r = roi % a.R;
      const float* f = features + b * a.H * a.W * C;
      forEachSample(a, b, r, [&](int64_t sample, const BilinearTaps* t) {
        float* o = out + (roi * S2 + sample) * C;
        if (!t) {
          std::fill(o, o + C, 0.0f);
          return;
        }
        blend(*t, f + (t->y0 * a.W + t->x0) * C, f + (t->y0 * a.W + t->x1) * C, f + (t->y1 * a.W + t->x0) * C,
              f + (t->y1 * a.W + t->x1) * C, C, o);
      });
    }
  });
}

void roiAlignGrad(const RoiAlignArgs& a, const float* dOut, float* dFeatures) {
  const int64_t C = a.C, HW = a.H * a.W, S2 = a.S * a.S;
  const ChannelBlocks blocks = channelBlocks(a.B, C);
  const int64_t cb = blocks.width, nblocks = blocks.count;
  parallelFor(a.B * nblocks, 1, [&](int64_t begin, int64_t end) {
    thread_local std::vector<int32_t> slotOf;  // cell → slot in acc, −1 when untouched
    thread_local std::vector<double> acc;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / nblocks;
      const int64_t c0 = (task % nblocks) * cb;
      const int64_t w = std::min(cb, C - c0);
      slotOf.assign(HW, -1);
      acc.clear();
      auto slot = [&](int32_t yy, int32_t xx) {
        int32_t& s = slotOf[yy * a.W + xx];
        if (s < 0) {
          s = static_cast<int32_t>(acc.size() / w);
          acc.resize(acc.size() + w, 0.0);
        }
        return static_cast<int64_t>(s) * w;
      };
      for (int64_t r = 0; r < a.R; ++r) {
        forEachSample(a, b, r, [&](int64_t sample, const BilinearTaps* t) {
          if (!t) return;
          const float* g = dOut + ((b * a.R + r) * S2 + sample) * C + c0;
          // claim all four slots before taking pointers: a claim may grow (move) acc
          const int64_t s00 = slot(t->y0, t->x0), s01 = slot(t->y0, t->x1);
          const int64_t s10 = slot(t->y1, t->x0), s11 = slot(t->y1, t->x1);
          double* p00 = acc.data() + s00;
          double* p01 = acc.data() + s01;
          double* p10 = acc.data() + s10;
          double* p11 = acc.data() + s11;
          if (t->x0 != t->x1 && t->y0 != t->y1) {
            scatter(*t, g, w, p00, p01, p10, p11);
          } else {
            // taps share a cell at the border: add one at a time, in the reference's order
            for (int64_t c = 0; c < w; ++c) {
              const double gc = g[c];
              p00[c] += t->w00 * gc;
              p01[c] += t->w01 * gc;
              p10[c] += t->w10 * gc;
              p11[c] += t->w11 * gc;
            }
          }
        });
      }
      float* f = dFeatures + b * HW * C + c0;
      for (int64_t q = 0; q < HW; ++q) {
        float* o = f + q * C;
        const int32_t s = slotOf[q];
        if (s < 0) std::fill(o, o + w, 0.0f);
        else narrow(acc.data() + static_cast<int64_t>(s) * w, w, o);
      }
    }
  });
}

}  // namespace cpu
}  // namespace sacl
