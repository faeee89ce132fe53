// Max-Relative aggregation (Vision GNN's MRConv core, docs/ops.md, maxRelative) and its gradient on the CPU.
//
// Forward runs over rows (b, i), vectorized over channels. Backward scatters into neighbour rows, so it is
// split by (batch, channel block) instead: one task owns every output element of its block and walks the
// rows i in ascending order, accumulating in double. No two tasks touch the same element and the order of
// additions is fixed, so gradients are bit-identical from run to run (and equal to the float64 reference).
#include <algorithm>
#include <cstring>
#include <vector>

#include "channel_blocks.h"
#include "sacl/ops.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {

namespace {

// f16/i16 are GCC vectors used only inside inlined helpers, so the ABI note for wide vectors is moot.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float f16 __attribute__((vector_size(64)));
typedef int32_t i16 __attribute__((vector_size(64)));

template <class V>
__attribute__((always_inline)) inline V load(const void* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Channels [c, c + U·W) of one row, U vectors of W floats (W = 16, or 1 for the tail): the winner starts
// at slot 0 and only a strictly larger value replaces it, so ties go to the lowest slot. The U running
// maxima are independent chains, so several of them hide the latency of each compare-and-select.
template <int U, class F, class I>
__attribute__((always_inline)) inline void maxRelativeChannels(const float* const* ys, int64_t K, const float* x, int64_t c, float* o, int32_t* am) {
  constexpr int64_t W = sizeof(F) / sizeof(float);
  F best[U];
  I win[U], slot{};
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u) {
    best[u] = load<F>(ys[0] + c + u * W);
    win[u] = I{};
  }
  for (int64_t s = 1; s < K; ++s) {
    slot += 1;
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) {
      const F v = load<F>(ys[s] + c + u * W);
      const auto more = v > best[u];
      best[u] = more ? v : best[u];
      win[u] = more ? slot : win[u];
    }
  }
#pragma GCC unroll 8
  for (int u = 0; u < U; ++u) {
    const F r = best[u] - load<F>(x + c + u * W);
    std::memcpy(o + c + u * W, &r, sizeof r);
    std::memcpy(am + c + u * W, &win[u], sizeof win[u]);
  }
}

// One row: o[c] = max_s y_s[c] − x[c] with the winning slot in am[c]. ys[s] points at neighbour s's
// row. 64 channels at a time (4 vectors) stay in registers while the K neighbours stream past.
SACL_WIDE_CHANNEL_LOOP void maxRelativeRow(const float* const* ys, int64_t K, const float* __restrict x, int64_t C,
                                           float* __restrict o, int32_t* __restrict am) {
  int64_t c = 0;
  for (; c + 64 <= C; c += 64) maxRelativeChannels<4, f16, i16>(ys, K, x, c, o, am);
  for (; c + 16 <= C; c += 16) maxRelativeChannels<1, f16, i16>(ys, K, x, c, o, am);
  for (; c < C; ++c) maxRelativeChannels<1, float, int32_t>(ys, K, x, c, o, am);
}

SACL_CHANNEL_LOOP void subtract(double* __restrict t, const float* __restrict g, int64_t w) {
  for (int64_t c = 0; c < w; ++c) t[c] -= g[c];
}

}  // namespace

void maxRelative(const MaxRelativeArgs& a, float* out, int32_t* argmax) {
  const int64_t C = a.C, K = a.K;
  // chunks of about 16 k neighbour reads (32 rows at the paper's K 9, C 64): a few microseconds each, so
  // that handing them out costs little beside the work
  const int64_t grain = std::max<int64_t>(1, 16384 / (K * C));
  parallelFor(a.B * a.N, grain, [&](int64_t begin, int64_t end) {
    constexpr int64_t kStackSlots = 64;  // the paper's K is 9; larger graphs take the heap
    const float* stackYs[kStackSlots];
    std::vector<const float*> heapYs(K > kStackSlots ? K : 0);
    const float** ys = K > kStackSlots ? heapYs.data() : stackYs;
    int64_t b = begin / a.N, i = begin % a.N;
    for (int64_t row = begin; row < end; ++row) {
      const float* yb = a.y + b * a.M * C;
      const int32_t* nb = a.idx + row * K;
      for (int64_t s = 0; s < K; ++s) ys[s] = yb + nb[s] * C;
      maxRelativeRow(ys, K, a.x + row * C, C, out + row * C, argmax + row * C);
      if (++i == a.N) i = 0, ++b;
    }
  });
}

void maxRelativeGrad(const MaxRelativeGradArgs& a, float* dx, float* dy) {
  const int64_t N = a.N, M = a.M, C = a.C, K = a.K;
  const ChannelBlocks blocks = channelBlocks(a.B, C);
  const int64_t cb = blocks.width;
  parallelFor(a.B * blocks.count, 1, [&](int64_t begin, int64_t end) {
    thread_local std::vector<double> gx, gy;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / blocks.count;
      const int64_t c0 = (task % blocks.count) * cb;
      const int64_t w = std::min(cb, C - c0);
      // when the neighbours are x itself, their gradient and −dOut land in the same buffer, in the
      // reference's order: for each row i, first −dOut[i], then the scatter into its winning neighbour
      gx.assign(N * w, 0.0);
      double* ty = gx.data();
      if (dy) {
        gy.assign(M * w, 0.0);
        ty = gy.data();
      }
      for (int64_t i = 0; i < N; ++i) {
        const int64_t row = b * N + i;
        const float* g = a.dOut + row * C + c0;
        const int32_t* am = a.argmax + row * C + c0;
        const int32_t* nb = a.idx + row * K;
        double* tx = gx.data() + i * w;
        // −dOut first, then the scatter: each element still sees row i's two terms in that order
        subtract(tx, g, w);
        for (int64_t c = 0; c < w; ++c) ty[nb[am[c]] * w + c] += g[c];
      }
      for (int64_t i = 0; i < N; ++i) narrow(gx.data() + i * w, w, dx + (b * N + i) * C + c0);
      if (dy) {
        for (int64_t j = 0; j < M; ++j) narrow(gy.data() + j * w, w, dy + (b * M + j) * C + c0);
      }
    }
  });
}

}  // namespace cpu
}  // namespace sacl
