// Conv2D, Conv2DBackpropFilter and Conv2DBackpropInput on the GEMM (see sacl/conv.h). The im2col / col
// matrices are built in blocks of at most kPatchBudget floats (or of the smallest unit when that is larger:
// one output cell; for the input gradient, one row of them), so the 56×56 layers of a batch of 16 never
// need hundreds of MB.
//
// Determinism: a forward output element is one GEMM dot product (fixed order, on one thread). The filter
// gradient sums over row blocks whose size depends on the shapes only; each block's GEMM goes to its own
// buffer, and the buffers are added to dw in block order. An input-gradient element gathers its taps block
// by block in order, within a block in (kh, kw) order, on one thread.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "conv_loops.h"
#include "sacl/conv.h"
#include "sacl/ops.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {
namespace {

// Floats in one im2col block (16 MB).
constexpr int64_t kPatchBudget = int64_t{1} << 22;
// Filter-gradient blocks in flight at once (bounds their buffers at kMaxSlots · 16 MB).
constexpr int64_t kMaxSlots = 8;
// im2col rows per parallel chunk.
constexpr int64_t kRowGrain = 64;
// Floats per parallel chunk of a plain pass over a tensor (a finiteness check, zeroing dx).
constexpr int64_t kFloatGrain = int64_t{1} << 16;

// Rows of the im2col matrix in one block: a function of the shapes only (determinism).
int64_t blockRows(const ConvGeometry& g) {
  const int64_t k = g.KH * g.KW * g.Ci;
  return std::max<int64_t>(1, std::min(g.B * g.OH * g.OW, kPatchBudget / k));
}

// Whether some tap of some output cell falls outside the input (reads padding).
bool readsPadding(const ConvGeometry& g) {
  return g.padTop > 0 || g.padLeft > 0 || (g.OH - 1) * g.strideH - g.padTop + g.KH > g.H ||
         (g.OW - 1) * g.strideW - g.padLeft + g.KW > g.W;
}

// A 1×1, stride-1 filter over the whole unpadded input: x itself is the im2col matrix.
bool isPointwise(const ConvGeometry& g) {
  return g.KH == 1 && g.KW == 1 && g.strideH == 1 && g.strideW == 1 && g.padTop == 0 && g.padLeft == 0 &&
         g.OH == g.H && g.OW == g.W;
}

SACL_CHANNEL_LOOP bool rangeFinite(const float* p, int64_t n) {
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, p + i, sizeof bits);
    bad |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

bool allFinite(const float* p, int64_t n) {
  std::atomic<bool> finite{true};
  parallelFor(n, kFloatGrain, [&](int64_t begin, int64_t end) {
    if (!rangeFinite(p + begin, end - begin)) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load();
}

// Row r of the im2col matrix (output cell r = (b, oh, ow)): [(kh·KW + kw)·Ci + ci] = x[b, ih, iw, ci], 0 outside.
void im2colRow(const ConvGeometry& g, const float* x, int64_t r, float* dst) {
  const int64_t ow = r % g.OW;
  const int64_t oh = (r / g.OW) % g.OH;
  const int64_t b = r / (g.OW * g.OH);
  const int64_t rowLen = g.KW * g.Ci;
  for (int64_t kh = 0; kh < g.KH; ++kh, dst += rowLen) {
    const int64_t ih = tapRow(g, oh, kh);
    if (ih < 0 || ih >= g.H) {
      std::memset(dst, 0, rowLen * sizeof(float));
      continue;
    }
    const float* src = x + (b * g.H + ih) * g.W * g.Ci;
    const int64_t iw0 = tapCol(g, ow, 0);
    // the taps inside the input are contiguous in x: one copy, zeros either side
    const int64_t lo = std::max<int64_t>(0, -iw0);
    const int64_t hi = std::min(g.KW, g.W - iw0);
    if (hi <= lo) {
      std::memset(dst, 0, rowLen * sizeof(float));
      continue;
    }
    std::memset(dst, 0, lo * g.Ci * sizeof(float));
    std::memcpy(dst + lo * g.Ci, src + (iw0 + lo) * g.Ci, (hi - lo) * g.Ci * sizeof(float));
    std::memset(dst + hi * g.Ci, 0, (g.KW - hi) * g.Ci * sizeof(float));
  }
}

// The im2col matrix of x gathered as the GEMM packs it (conv2d): nothing of KH·KW times x's size is written.
struct Im2colSource {
  const ConvGeometry* g;
  const float* x;
  const float* zeros;  // Ci zeros: what a tap outside x reads
};

// dst[k · stride + i] = im2col(x)[m0 + i, k0 + k] for i < rows, k < kc (GemmGather::fill). Column k is
// channel k % Ci of tap k / Ci; each tap's run of channels is interleaved from the rows' pixels at once, so
// dst is written in order.
SACL_CHANNEL_LOOP void gatherIm2col(const void* ctx, int64_t m0, int64_t rows, int64_t k0, int64_t kc, float* dst,
                                    int64_t stride) {
  const Im2colSource& s = *static_cast<const Im2colSource*>(ctx);
  const ConvGeometry& g = *s.g;
  int64_t b[kGemmGatherMaxRows], oh[kGemmGatherMaxRows], ow[kGemmGatherMaxRows];
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t r = m0 + i;
    ow[i] = r % g.OW;
    oh[i] = (r / g.OW) % g.OH;
    b[i] = r / (g.OW * g.OH);
  }
  const float* src[kGemmGatherMaxRows];
  for (int64_t k = k0; k < k0 + kc;) {
    const int64_t tap = k / g.Ci;
    const int64_t ci = k - tap * g.Ci;
    const int64_t len = std::min(g.Ci - ci, k0 + kc - k);
    for (int64_t i = 0; i < rows; ++i) {
      const float* xp = tapPixel(g, s.x, b[i], oh[i], ow[i], tap / g.KW, tap % g.KW);
      src[i] = (xp ? xp : s.zeros) + ci;
    }
    float* d = dst + (k - k0) * stride;
    if (rows == 6 && stride == 6) {  // the micro-tile's height: a fixed-width interleave the compiler unrolls
      for (int64_t j = 0; j < len; ++j) {
        for (int64_t i = 0; i < 6; ++i) d[j * 6 + i] = src[i][j];
      }
    } else {
      for (int64_t j = 0; j < len; ++j) {
        for (int64_t i = 0; i < rows; ++i) d[j * stride + i] = src[i][j];
      }
    }
    k += len;
  }
}

// Rows [r0, r1) of the im2col matrix into patch, over the pool.
void im2col(const ConvGeometry& g, const float* x, int64_t r0, int64_t r1, float* patch) {
  const int64_t k = g.KH * g.KW * g.Ci;
  parallelFor(r1 - r0, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) im2colRow(g, x, r0 + i, patch + i * k);
  });
}

SACL_CHANNEL_LOOP void addInto(float* __restrict dst, const float* __restrict src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

SACL_CHANNEL_LOOP void addScaled(float* __restrict dst, float a, const float* __restrict src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += a * src[i];
}

// Conv2D as direct loops over the taps inside the input (for non-finite filters; several times slower).
void conv2dDirect(const ConvGeometry& g, const float* x, const float* w, float* y) {
  forEachOutputRow(g, y, [&](int64_t b, int64_t oh, float* yRow) {
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      for (int64_t kh = 0; kh < g.KH; ++kh) {
        for (int64_t kw = 0; kw < g.KW; ++kw) {
          const float* xp = tapPixel(g, x, b, oh, ow, kh, kw);
          if (!xp) continue;
          const float* wt = w + (kh * g.KW + kw) * g.Ci * g.Co;
          for (int64_t ci = 0; ci < g.Ci; ++ci) addScaled(yRow + ow * g.Co, xp[ci], wt + ci * g.Co, g.Co);
        }
      }
    }
  });
}

// Conv2DBackpropFilter as direct loops over the taps inside the input (for non-finite dy): each
// dw[kh, kw, ci, :] row on one thread, summed over (b, oh, ow) in order.
void conv2dBackpropFilterDirect(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  parallelFor(g.KH * g.KW * g.Ci, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t kh = t / (g.KW * g.Ci);
      const int64_t kw = (t / g.Ci) % g.KW;
      const int64_t ci = t % g.Ci;
      float* out = dw + t * g.Co;
      std::fill(out, out + g.Co, 0.f);
      for (int64_t b = 0; b < g.B; ++b) {
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const float* xp = tapPixel(g, x, b, oh, ow, kh, kw);
            if (xp) addScaled(out, xp[ci], dy + ((b * g.OH + oh) * g.OW + ow) * g.Co, g.Co);
          }
        }
      }
    }
  });
}

}  // namespace

void conv2d(const ConvGeometry& g, const float* x, const float* w, float* y) {
  const int64_t k = g.KH * g.KW * g.Ci;
  const int64_t rows = g.B * g.OH * g.OW;
  if (readsPadding(g) && !allFinite(w, k * g.Co)) return conv2dDirect(g, x, w, y);
  GemmArgs a{};
  a.b = w;
  a.batchA = a.batchB = 1;
  a.M = rows;
  a.N = g.Co;
  a.K = k;
  if (isPointwise(g)) {
    a.a = x;
    gemm(a, y);
    return;
  }
  if (gemmCanGather(a)) {
    // the GEMM gathers the im2col matrix as it packs it: the matrix itself (231 MB for ResT's 112×112×32
    // stem layer, in 16 MB blocks written and read back) never exists
    const std::vector<float> zeros(g.Ci, 0.f);
    const Im2colSource source{&g, x, zeros.data()};
    const GemmGather gather{gatherIm2col, &source};
    a.gatherA = &gather;
    gemm(a, y);
    return;
  }
  const int64_t block = blockRows(g);
  std::unique_ptr<float[]> patch(new float[block * k]);
  for (int64_t r0 = 0; r0 < rows; r0 += block) {
    const int64_t r1 = std::min(rows, r0 + block);
    im2col(g, x, r0, r1, patch.get());
    a.a = patch.get();
    a.M = r1 - r0;
    gemm(a, y + r0 * g.Co);
  }
}

void conv2dBackpropFilter(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  const int64_t k = g.KH * g.KW * g.Ci;
  const int64_t rows = g.B * g.OH * g.OW;
  const int64_t outSize = k * g.Co;
  if (readsPadding(g) && !allFinite(dy, rows * g.Co)) return conv2dBackpropFilterDirect(g, x, dy, dw);
  const bool pointwise = isPointwise(g);
  const int64_t block = blockRows(g);
  const int64_t blocks = (rows + block - 1) / block;
  // blocks run `slots` at a time, each into its own buffers; the slot count changes only the schedule
  const int64_t slots = std::min<int64_t>({blocks, std::max(1, numThreads()), kMaxSlots});
  std::unique_ptr<float[]> patches(pointwise ? nullptr : new float[slots * block * k]);
  std::unique_ptr<float[]> partials(new float[slots * outSize]);
  for (int64_t first = 0; first < blocks; first += slots) {
    const int64_t count = std::min(slots, blocks - first);
    parallelFor(count, 1, [&](int64_t begin, int64_t end) {
      for (int64_t s = begin; s < end; ++s) {
        const int64_t r0 = (first + s) * block;
        const int64_t r1 = std::min(rows, r0 + block);
        const float* a = x + r0 * g.Ci;
        if (!pointwise) {
          float* p = patches.get() + s * block * k;
          im2col(g, x, r0, r1, p);
          a = p;
        }
        // partial[k, co] = Σ_r patch[r, k] · dy[r, co]: the patch block read transposed (gathering it as the
        // GEMM packs it was slower: each of its 6-column strips would decode every output cell again)
        GemmArgs ga{};
        ga.a = a;
        ga.b = dy + r0 * g.Co;
        ga.batchA = ga.batchB = 1;
        ga.M = k;
        ga.N = g.Co;
        ga.K = r1 - r0;
        ga.transA = true;
        gemm(ga, partials.get() + s * outSize);
      }
    });
    for (int64_t s = 0; s < count; ++s) {
      const float* part = partials.get() + s * outSize;
      if (first + s == 0) {
        std::memcpy(dw, part, outSize * sizeof(float));
      } else {
        addInto(dw, part, outSize);
      }
    }
  }
}

void conv2dBackpropInput(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  if (g.strideH == 1 && g.strideW == 1 && g.padTop < g.KH && g.padLeft < g.KW && !isPointwise(g)) {
    // stride 1: dx is dy convolved with w turned 180° and its channel axes swapped, padded so that tap
    // KH−1−kh of dx row ih reads dy row ih + padTop − kh (that of tap kh in the forward pass); one gathered
    // GEMM, no col buffer to scatter. Taps off dy read zeros, so a filter with NaN or ±∞ takes conv2d's
    // direct loops, which skip them as tfjs does.
    const ConvGeometry flipped{g.B, g.OH, g.OW, g.Co, g.KH, g.KW, g.Ci, g.H, g.W, 1, 1, g.KH - 1 - g.padTop, g.KW - 1 - g.padLeft};
    std::unique_ptr<float[]> wf(new float[g.KH * g.KW * g.Ci * g.Co]);
    parallelFor(g.KH * g.KW * g.Co, 16, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {  // wf[kh', kw', co, :] = w[KH−1−kh', KW−1−kw', :, co]
        const int64_t tap = t / g.Co;
        const int64_t co = t % g.Co;
        const float* src = w + (g.KH * g.KW - 1 - tap) * g.Ci * g.Co + co;
        float* dst = wf.get() + t * g.Ci;
        for (int64_t ci = 0; ci < g.Ci; ++ci) dst[ci] = src[ci * g.Co];
      }
    });
    conv2d(flipped, dy, wf.get(), dx);
    return;
  }
  const int64_t taps = g.KH * g.KW;
  const int64_t k = taps * g.Ci;
  const int64_t cells = g.OH * g.OW;
  GemmArgs a{};
  a.b = w;  // [taps · Ci, Co], read as its transpose
  a.batchA = a.batchB = 1;
  a.K = g.Co;
  a.transB = true;
  if (isPointwise(g)) {
    a.a = dy;
    a.M = g.B * cells;
    a.N = g.Ci;
    gemm(a, dx);
    return;
  }
  // Blocks of whole output rows (b, oh), at most kPatchBudget floats of col (one row at least): each block
  // adds its taps to the dx rows they read, one thread per dx row; blocks run in order.
  const int64_t rowLen = g.OW * k;
  const int64_t outRows = g.B * g.OH;
  const int64_t perBlock = std::max<int64_t>(1, std::min(outRows, kPatchBudget / rowLen));
  std::unique_ptr<float[]> col(new float[perBlock * rowLen]);
  parallelFor(g.B * g.H * g.W * g.Ci, kFloatGrain, [&](int64_t begin, int64_t end) { std::fill(dx + begin, dx + end, 0.f); });
  std::vector<int64_t> dxRows;  // b · H + ih for the dx rows one block reaches
  for (int64_t t0 = 0; t0 < outRows; t0 += perBlock) {
    const int64_t t1 = std::min(outRows, t0 + perBlock);
    a.a = dy + t0 * g.OW * g.Co;
    a.M = (t1 - t0) * g.OW;
    a.N = k;
    gemm(a, col.get());
    dxRows.clear();
    for (int64_t b = t0 / g.OH; b <= (t1 - 1) / g.OH; ++b) {
      const int64_t oh0 = std::max(t0, b * g.OH) - b * g.OH;
      const int64_t oh1 = std::min(t1, (b + 1) * g.OH) - b * g.OH;
      const int64_t ih0 = std::max<int64_t>(0, oh0 * g.strideH - g.padTop);
      const int64_t ih1 = std::min(g.H, (oh1 - 1) * g.strideH - g.padTop + g.KH);
      for (int64_t ih = ih0; ih < ih1; ++ih) dxRows.push_back(b * g.H + ih);
    }
    parallelFor(static_cast<int64_t>(dxRows.size()), 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const int64_t b = dxRows[i] / g.H;
        const int64_t ih = dxRows[i] % g.H;
        float* dxRow = dx + dxRows[i] * g.W * g.Ci;
        for (int64_t iw = 0; iw < g.W; ++iw) {
          float* out = dxRow + iw * g.Ci;
          for (int64_t kh = 0; kh < g.KH; ++kh) {
            const int64_t sh = ih + g.padTop - kh;  // oh · strideH
            if (sh < 0 || sh % g.strideH != 0 || sh / g.strideH >= g.OH) continue;
            const int64_t t = b * g.OH + sh / g.strideH;
            if (t < t0 || t >= t1) continue;
            const float* colRow = col.get() + (t - t0) * rowLen;
            for (int64_t kw = 0; kw < g.KW; ++kw) {
              const int64_t sw = iw + g.padLeft - kw;
              if (sw < 0 || sw % g.strideW != 0 || sw / g.strideW >= g.OW) continue;
              addInto(out, colRow + ((sw / g.strideW) * taps + kh * g.KW + kw) * g.Ci, g.Ci);
            }
          }
        }
      }
    });
  }
}

}  // namespace cpu
}  // namespace sacl
