// BatchNorm (training mode) forward and backward, see sacl/batch_norm.h. Statistics: each block of rows
// gets its own mean and sum of squared deviations (two passes over the block while it is in cache), and the
// blocks are merged in order with Chan et al.'s pairwise update, so a large mean costs no precision (no
// E[x²] − E[x]²) and x is read from memory once for them.

#include "no_trapping_math.h"  // first: it applies to all that follows
#include "sacl/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "partials.h"
#include "sacl/common.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {
namespace {

// Elements per row block (the block's rows = this / C, at least kBlockMinRows, so that the per-block
// partials stay ≤ 1/8 of x's bytes for wide C) and per parallel chunk of the element-wise passes. The
// block size fixes the summation order: never derive it from the thread count.
constexpr int64_t kBlockElements = 1 << 13;
constexpr int64_t kBlockMinRows = 32;
constexpr int64_t kGrain = 1 << 15;

int64_t blockRows(int64_t C) { return std::max<int64_t>(kBlockMinRows, kBlockElements / C); }

// Per-channel sum of x over `rows` rows, into sum (zeroed here).
SACL_CHANNEL_LOOP void channelSums(const float* __restrict x, int64_t rows, int64_t C, double* __restrict sum) {
  for (int64_t c = 0; c < C; ++c) sum[c] = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * C;
    for (int64_t c = 0; c < C; ++c) sum[c] += xr[c];
  }
}

// Per-channel Σ (x − mu)² into m2 (zeroed here).
SACL_CHANNEL_LOOP void channelSquares(const float* __restrict x, int64_t rows, int64_t C, const double* __restrict mu,
                                      double* __restrict m2) {
  for (int64_t c = 0; c < C; ++c) m2[c] = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const double d = xr[c] - mu[c];
      m2[c] += d * d;
    }
  }
}

// Per-channel Σ g and Σ g·(x − mean), g = dy masked by y > 0 with relu.
SACL_CHANNEL_LOOP void gradSums(const float* __restrict dy, const float* __restrict x, const float* __restrict y,
                                int64_t rows, int64_t C, const float* __restrict mean, bool relu, double* __restrict s1,
                                double* __restrict s2) {
  for (int64_t c = 0; c < C; ++c) s1[c] = s2[c] = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* dr = dy + r * C;
    const float* xr = x + r * C;
    const float* yr = relu ? y + r * C : dr;
    for (int64_t c = 0; c < C; ++c) {
      const double g = (!relu || yr[c] > 0.0f) ? dr[c] : 0.0f;
      s1[c] += g;
      s2[c] += g * (static_cast<double>(xr[c]) - mean[c]);
    }
  }
}

// y = (x − mean)·scale + beta: x − mean first, so a large mean costs no precision (x·scale + shift would).
SACL_CHANNEL_LOOP void affineRows(const float* __restrict x, int64_t rows, int64_t C, const float* __restrict mean,
                                  const float* __restrict scale, const float* __restrict beta, bool relu, float* __restrict y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    if (relu) {
      for (int64_t c = 0; c < C; ++c) {
        const float v = (xr[c] - mean[c]) * scale[c] + beta[c];
        yr[c] = v < 0.0f ? 0.0f : v;  // NaN stays NaN, as tfjs' Relu
      }
    } else {
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - mean[c]) * scale[c] + beta[c];
    }
  }
}

SACL_CHANNEL_LOOP void gradRows(const float* __restrict dy, const float* __restrict x, const float* __restrict y,
                                int64_t rows, int64_t C, const float* __restrict mean, const float* __restrict a,
                                const float* __restrict k0, const float* __restrict k1, bool relu, float* __restrict dx) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* dr = dy + r * C;
    const float* xr = x + r * C;
    const float* yr = relu ? y + r * C : dr;
    float* out = dx + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const float g = (!relu || yr[c] > 0.0f) ? dr[c] : 0.0f;
      out[c] = a[c] * g + (k0[c] + k1[c] * (xr[c] - mean[c]));
    }
  }
}

// Runs body(row0, rows, block) for every row block, spread over the pool.
template <class F>
void forBlocks(int64_t rows, int64_t C, F body) {
  const int64_t per = blockRows(C);
  const int64_t blocks = (rows + per - 1) / per;
  const int64_t grain = std::max<int64_t>(1, kGrain / (per * C));
  parallelFor(blocks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t r0 = b * per;
      body(r0, std::min(per, rows - r0), b);
    }
  });
}

// The element-wise passes: row ranges of about kGrain elements.
template <class F>
void forRows(int64_t rows, int64_t C, F body) {
  parallelFor(rows, std::max<int64_t>(1, kGrain / C), [&](int64_t begin, int64_t end) { body(begin, end - begin); });
}

}  // namespace

float batchNormRstd(float var, float eps) {
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(var) + static_cast<double>(eps)));
}

void batchNormTrain(const float* x, int64_t rows, int64_t C, const float* gamma, const float* beta, float eps, bool relu,
                    float* y, float* mean, float* var) {
  const int64_t per = blockRows(C);
  const int64_t blocks = (rows + per - 1) / per;
  // per block: its mean, then its sum of squared deviations from that mean
  Partials bMean(blocks, C), bM2(blocks, C);
  forBlocks(rows, C, [&](int64_t r0, int64_t n, int64_t b) {
    double* mu = bMean[b];
    channelSums(x + r0 * C, n, C, mu);
    for (int64_t c = 0; c < C; ++c) mu[c] /= static_cast<double>(n);
    channelSquares(x + r0 * C, n, C, mu, bM2[b]);
  });
  // merge the blocks in order: (n_a, μ_a, M2_a) + (n_b, μ_b, M2_b)
  std::vector<double> mu(bMean[0], bMean[0] + C), m2(bM2[0], bM2[0] + C);
  double na = static_cast<double>(std::min(per, rows));
  for (int64_t b = 1; b < blocks; ++b) {
    const double nb = static_cast<double>(std::min(per, rows - b * per));
    const double n = na + nb;
    for (int64_t c = 0; c < C; ++c) {
      const double d = bMean[b][c] - mu[c];
      mu[c] += d * (nb / n);
      m2[c] += bM2[b][c] + d * d * (na * nb / n);
    }
    na = n;
  }
  std::vector<float> scale(C);
  for (int64_t c = 0; c < C; ++c) {
    mean[c] = static_cast<float>(mu[c]);
    var[c] = static_cast<float>(m2[c] / static_cast<double>(rows));
    scale[c] = gamma[c] * batchNormRstd(var[c], eps);
  }
  forRows(rows, C, [&](int64_t r0, int64_t n) { affineRows(x + r0 * C, n, C, mean, scale.data(), beta, relu, y + r0 * C); });
}

void batchNormTrainGrad(const float* dy, const float* x, const float* y, int64_t rows, int64_t C, const float* gamma,
                        const float* mean, const float* var, const float* dMean, const float* dVar, float eps, bool relu,
                        float* dx, float* dGamma, float* dBeta) {
  const int64_t per = blockRows(C);
  const int64_t blocks = (rows + per - 1) / per;
  Partials b1(blocks, C), b2(blocks, C);
  forBlocks(rows, C, [&](int64_t r0, int64_t n, int64_t b) {
    gradSums(dy + r0 * C, x + r0 * C, relu ? y + r0 * C : nullptr, n, C, mean, relu, b1[b], b2[b]);
  });
  // dx = r·γ·g + (−r·γ·S1 + dMean)/N + (x − μ)·(−γ·r³·S2 + 2·dVar)/N, S1 = Σg, S2 = Σg·(x − μ)
  std::vector<float> a(C), k0(C), k1(C);
  const double N = static_cast<double>(rows);
  for (int64_t c = 0; c < C; ++c) {
    double s1 = 0.0, s2 = 0.0;
    for (int64_t b = 0; b < blocks; ++b) {
      s1 += b1[b][c];
      s2 += b2[b][c];
    }
    const double r = batchNormRstd(var[c], eps), gm = gamma[c];
    dBeta[c] = static_cast<float>(s1);
    dGamma[c] = static_cast<float>(s2 * r);
    a[c] = static_cast<float>(r * gm);
    k0[c] = static_cast<float>((-r * gm * s1 + (dMean ? dMean[c] : 0.0)) / N);
    k1[c] = static_cast<float>((-gm * r * r * r * s2 + 2.0 * (dVar ? dVar[c] : 0.0)) / N);
  }
  forRows(rows, C, [&](int64_t r0, int64_t n) {
    gradRows(dy + r0 * C, x + r0 * C, relu ? y + r0 * C : nullptr, n, C, mean, a.data(), k0.data(), k1.data(), relu, dx + r0 * C);
  });
}

}  // namespace cpu
}  // namespace sacl
