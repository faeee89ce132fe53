// The optimizer's fused kernels (see sacl/sgd.h). Both walk the same fixed blocks: kBlock elements of one
// tensor each (the last block of a tensor may be shorter), handed to the pool one block per index.
#include "sacl/sgd.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "sacl/common.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {
namespace {

// Elements per block: the statistics' partial sums are per block, so this fixes their order. Never
// make it depend on the thread count.
constexpr int64_t kBlock = 1 << 14;

struct Block {
  int64_t tensor, begin, end;
};

std::vector<Block> blocks(const int64_t* lengths, int64_t count) {
  std::vector<Block> out;
  for (int64_t t = 0; t < count; ++t) {
    for (int64_t b = 0; b < lengths[t]; b += kBlock) out.push_back({t, b, std::min(lengths[t], b + kBlock)});
  }
  return out;
}

// max that keeps a NaN once seen (a > NaN and NaN > a are both false)
inline float maxNan(float m, float a) { return (a > m || a != a) ? a : m; }

// f8/d4/i8 are GCC vectors used only inside this file's functions, so the ABI note for 32-byte vectors is moot.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float f8 __attribute__((vector_size(32)));
typedef double d4 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));

// Σ g² in double and max |g| of one block. Eight lanes (lane j takes the elements i ≡ j mod 8), each summed
// in index order, then the lanes in lane order, then the tail: a fixed order whatever the instruction set.
// A NaN makes the sum NaN (squares are never negative, so no ∞ − ∞ can) and then the max too.
SACL_CHANNEL_LOOP void blockStats(const float* __restrict g, int64_t n, double* sum, float* max) {
  d4 lo = {0, 0, 0, 0}, hi = {0, 0, 0, 0};
  f8 mx = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    f8 x;
    std::memcpy(&x, g + i, sizeof x);
    const d4 a = __builtin_convertvector(__builtin_shufflevector(x, x, 0, 1, 2, 3), d4);
    const d4 b = __builtin_convertvector(__builtin_shufflevector(x, x, 4, 5, 6, 7), d4);
    lo += a * a;
    hi += b * b;
    i8 bits;
    std::memcpy(&bits, &x, sizeof bits);
    bits &= 0x7fffffff;  // |x|
    f8 ax;
    std::memcpy(&ax, &bits, sizeof ax);
    mx = ax > mx ? ax : mx;
  }
  double s = 0;
  float m = 0;
  for (int j = 0; j < 4; ++j) s += lo[j];
  for (int j = 0; j < 4; ++j) s += hi[j];
  for (int j = 0; j < 8; ++j) m = mx[j] > m ? mx[j] : m;
  for (; i < n; ++i) {
    const double v = g[i];
    s += v * v;
    const float a = std::fabs(g[i]);
    m = a > m ? a : m;
  }
  *sum = s;
  *max = s != s ? std::nanf("") : m;
}

// One block of the update; the template flags keep each loop branch-free so it vectorizes.
template <bool kFirst, bool kDecay>
SACL_CHANNEL_LOOP void updateRange(const float* __restrict w, const float* __restrict g, const float* __restrict buf,
                                   float* __restrict wOut, float* __restrict bufOut, int64_t n, SgdHyper h) {
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i] * h.scale;
    if (kDecay) d = d + w[i] * h.weightDecay;
    const float b = kFirst ? d : buf[i] * h.momentum + d;
    bufOut[i] = b;
    wOut[i] = w[i] - (d + b * h.momentum) * h.lr;
  }
}

}  // namespace

void sgdStats(const float* const* grads, const int64_t* lengths, int64_t count, float* out) {
  const std::vector<Block> bs = blocks(lengths, count);
  std::vector<double> sums(bs.size());
  std::vector<float> maxes(bs.size());
  parallelFor(static_cast<int64_t>(bs.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const Block& b = bs[k];
      blockStats(grads[b.tensor] + b.begin, b.end - b.begin, &sums[k], &maxes[k]);
    }
  });
  double total = 0;
  for (int64_t t = 0; t < count; ++t) out[1 + t] = 0;
  for (size_t k = 0; k < bs.size(); ++k) {
    total += sums[k];
    out[1 + bs[k].tensor] = maxNan(out[1 + bs[k].tensor], maxes[k]);
  }
  out[0] = static_cast<float>(total);
}

void sgdUpdate(const SgdParam* params, int64_t count, const SgdHyper& h) {
  std::vector<int64_t> lengths(count);
  for (int64_t t = 0; t < count; ++t) lengths[t] = params[t].n;
  const std::vector<Block> bs = blocks(lengths.data(), count);
  const bool decay = h.weightDecay != 0.0f;
  parallelFor(static_cast<int64_t>(bs.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const Block& b = bs[k];
      const SgdParam& p = params[b.tensor];
      const int64_t o = b.begin, n = b.end - b.begin;
      const float* buf = p.buf ? p.buf + o : nullptr;
      if (!p.buf && decay) updateRange<true, true>(p.w + o, p.g + o, buf, p.wOut + o, p.bufOut + o, n, h);
      else if (!p.buf) updateRange<true, false>(p.w + o, p.g + o, buf, p.wOut + o, p.bufOut + o, n, h);
      else if (decay) updateRange<false, true>(p.w + o, p.g + o, buf, p.wOut + o, p.bufOut + o, n, h);
      else updateRange<false, false>(p.w + o, p.g + o, buf, p.wOut + o, p.bufOut + o, n, h);
    }
  });
}

}  // namespace cpu
}  // namespace sacl
