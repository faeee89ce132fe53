// Max-Relative aggregation (Vision GNN's MRConv core, SPEC §1.2) and its gradient on the CPU.
//
// Forward runs over rows (b, i), vectorized over channels. Backward scatters into neighbour rows, so it is
// split by (batch, channel block) instead: one task owns every output element of its block and walks the
// rows i in ascending order, accumulating in double. No two tasks touch the same element and the order of
// additions is fixed, so gradients are bit-identical from run to run (and equal to the float64 reference).
#include <algorithm>
#include <cstring>
#include <vector>

#include "sacl/ops.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {

void maxRelative(const MaxRelativeArgs& a, float* out, int32_t* argmax) {
  const int64_t C = a.C, K = a.K;
  parallelFor(a.B * a.N, 16, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / a.N;
      const int32_t* nb = a.idx + row * K;
      float* o = out + row * C;
      int32_t* am = argmax + row * C;
      const float* first = a.y + (b * a.M + nb[0]) * C;
      std::memcpy(o, first, C * sizeof(float));
      std::fill(am, am + C, 0);
      // only a strictly larger value replaces the winner: ties go to the lowest slot
      for (int64_t s = 1; s < K; ++s) {
        const float* ys = a.y + (b * a.M + nb[s]) * C;
        const int32_t slot = static_cast<int32_t>(s);
        for (int64_t c = 0; c < C; ++c) {
          const bool win = ys[c] > o[c];
          o[c] = win ? ys[c] : o[c];
          am[c] = win ? slot : am[c];
        }
      }
      const float* x = a.x + row * C;
      for (int64_t c = 0; c < C; ++c) o[c] -= x[c];
    }
  });
}

namespace {

// Channel blocks per batch: enough tasks for every thread, blocks no narrower than 16 channels.
int64_t channelBlock(int64_t B, int64_t C) {
  const int64_t want = 4 * numThreads();
  const int64_t blocks = std::max<int64_t>(1, std::min<int64_t>((want + B - 1) / B, (C + 15) / 16));
  return (C + blocks - 1) / blocks;
}

}  // namespace

void maxRelativeGrad(const MaxRelativeGradArgs& a, float* dx, float* dy) {
  const int64_t N = a.N, M = a.M, C = a.C, K = a.K;
  const int64_t cb = channelBlock(a.B, C);
  const int64_t blocks = (C + cb - 1) / cb;
  parallelFor(a.B * blocks, 1, [&](int64_t begin, int64_t end) {
    thread_local std::vector<double> gx, gy;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t b = task / blocks;
      const int64_t c0 = (task % blocks) * cb;
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
        for (int64_t c = 0; c < w; ++c) {
          tx[c] -= g[c];
          ty[nb[am[c]] * w + c] += g[c];
        }
      }
      for (int64_t i = 0; i < N; ++i) {
        float* o = dx + (b * N + i) * C + c0;
        for (int64_t c = 0; c < w; ++c) o[c] = static_cast<float>(gx[i * w + c]);
      }
      if (dy) {
        for (int64_t j = 0; j < M; ++j) {
          float* o = dy + (b * M + j) * C + c0;
          for (int64_t c = 0; c < w; ++c) o[c] = static_cast<float>(gy[j * w + c]);
        }
      }
    }
  });
}

}  // namespace cpu
}  // namespace sacl
