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

// f8/i8 are GCC vectors used only inside inlined helpers, so the ABI note for 32-byte vectors is moot.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));

inline f8 load8(const float* p) {
  f8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// One row: o[c] = max_s y_s[c] − x[c] with the winning slot in am[c] (only a strictly larger value
// replaces the winner, so ties go to the lowest slot). ys[s] points at neighbour s's row. Eight channels
// at a time stay in registers while the K neighbours stream past.
SACL_CHANNEL_LOOP void maxRelativeRow(const float* const* ys, int64_t K, const float* __restrict x, int64_t C,
                                      float* __restrict o, int32_t* __restrict am) {
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    f8 best = load8(ys[0] + c);
    i8 win = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t s = 1; s < K; ++s) {
      const f8 v = load8(ys[s] + c);
      const i8 more = v > best;
      best = more ? v : best;
      win = more ? (i8{} + static_cast<int32_t>(s)) : win;
    }
    const f8 r = best - load8(x + c);
    std::memcpy(o + c, &r, sizeof r);
    std::memcpy(am + c, &win, sizeof win);
  }
  for (; c < C; ++c) {
    float best = ys[0][c];
    int32_t win = 0;
    for (int64_t s = 1; s < K; ++s) {
      if (ys[s][c] > best) {
        best = ys[s][c];
        win = static_cast<int32_t>(s);
      }
    }
    o[c] = best - x[c];
    am[c] = win;
  }
}

SACL_CHANNEL_LOOP void subtract(double* __restrict t, const float* __restrict g, int64_t w) {
  for (int64_t c = 0; c < w; ++c) t[c] -= g[c];
}

}  // namespace

void maxRelative(const MaxRelativeArgs& a, float* out, int32_t* argmax) {
  const int64_t C = a.C, K = a.K;
  parallelFor(a.B * a.N, 8, [&](int64_t begin, int64_t end) {
    std::vector<const float*> ys(K);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / a.N;
      const int32_t* nb = a.idx + row * K;
      for (int64_t s = 0; s < K; ++s) ys[s] = a.y + (b * a.M + nb[s]) * C;
      maxRelativeRow(ys.data(), K, a.x + row * C, C, out + row * C, argmax + row * C);
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
