// LayerNorm forward and backward over the last axis (see sacl/layer_norm.h). Short rows (n ≤ kColumnBlock)
// are handled whole, one thread per row, in chunks of rows; a longer row is cut into fixed column blocks
// and each pass runs over (row, block) tasks whose partial sums are added in block order afterwards. Sums
// are kept in kLanes interleaved double accumulators so the loops vectorize without reassociation.
#include "sacl/layer_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "partials.h"
#include "sacl/common.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {
namespace {

// A row longer than this is split into blocks of exactly this many columns (the last one shorter).
constexpr int64_t kColumnBlock = 1 << 14;
// Elements per parallel chunk of short rows.
constexpr int64_t kGrain = 1 << 15;
// Up to this many columns, the backward pass adds dγ and dβ into per-chunk partials while it computes dx;
// wider rows get a pass of their own over column chunks (partials would cost too much memory).
constexpr int64_t kFusedColumns = 1024;
// The most row chunks that keep dγ/dβ partials (each 2·n doubles), whatever the row count.
constexpr int64_t kMaxPartials = 64;
// Columns per chunk of that pass.
constexpr int64_t kColumnChunk = 256;
constexpr int kLanes = 8;

inline double combine(const double* l) { return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])); }

// Σ x[i] in double.
SACL_CHANNEL_LOOP double sum(const float* __restrict x, int64_t n) {
  double lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) lane[j] += static_cast<double>(x[i + j]);
  }
  for (int j = 0; i < n; ++i, ++j) lane[j] += static_cast<double>(x[i]);
  return combine(lane);
}

// Σ (x[i] − m)² in double.
SACL_CHANNEL_LOOP double centeredSquares(const float* __restrict x, int64_t n, double m) {
  double lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const double d = static_cast<double>(x[i + j]) - m;
      lane[j] += d * d;
    }
  }
  for (int j = 0; i < n; ++i, ++j) {
    const double d = static_cast<double>(x[i]) - m;
    lane[j] += d * d;
  }
  return combine(lane);
}

// y = (x − m)·r·γ + β (γ, β: null without affine).
SACL_CHANNEL_LOOP void normalize(const float* __restrict x, const float* __restrict gamma, const float* __restrict beta,
                                 float m, float r, int64_t n, float* __restrict y) {
  if (gamma) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * r * gamma[i] + beta[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * r;
  }
}

// Σ g and Σ g·x̂ (g = dy·γ, or dy without γ; x̂ = (x − m)·r; both float32, so the products are exact in
// double). γ is a template switch: a test inside the loop keeps it from vectorizing.
template <bool kAffine>
SACL_CHANNEL_LOOP void gradSumsOf(const float* __restrict dy, const float* __restrict x, const float* __restrict gamma,
                                  float m, float r, int64_t n, double* sg, double* sgx) {
  double lg[kLanes] = {}, lgx[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    float g[kLanes], xh[kLanes];
    for (int j = 0; j < kLanes; ++j) {
      g[j] = kAffine ? dy[i + j] * gamma[i + j] : dy[i + j];
      xh[j] = (x[i + j] - m) * r;
    }
    for (int j = 0; j < kLanes; ++j) {
      lg[j] += static_cast<double>(g[j]);
      lgx[j] += static_cast<double>(g[j]) * static_cast<double>(xh[j]);
    }
  }
  for (int j = 0; i < n; ++i, ++j) {
    const float g = kAffine ? dy[i] * gamma[i] : dy[i];
    const double xh = static_cast<double>((x[i] - m) * r);
    lg[j] += static_cast<double>(g);
    lgx[j] += static_cast<double>(g) * xh;
  }
  *sg = combine(lg);
  *sgx = combine(lgx);
}

void gradSums(const float* dy, const float* x, const float* gamma, float m, float r, int64_t n, double* sg, double* sgx) {
  if (gamma) {
    gradSumsOf<true>(dy, x, gamma, m, r, n, sg, sgx);
  } else {
    gradSumsOf<false>(dy, x, nullptr, m, r, n, sg, sgx);
  }
}

// dx = r·(g − mg − x̂·mgx).
SACL_CHANNEL_LOOP void gradInput(const float* __restrict dy, const float* __restrict x, const float* __restrict gamma,
                                 float m, float r, float mg, float mgx, int64_t n, float* __restrict dx) {
  if (gamma) {
    for (int64_t i = 0; i < n; ++i) dx[i] = r * ((dy[i] * gamma[i] - mg) - (x[i] - m) * r * mgx);
  } else {
    for (int64_t i = 0; i < n; ++i) dx[i] = r * ((dy[i] - mg) - (x[i] - m) * r * mgx);
  }
}

// gradInput with γ, and pg += dy·x̂, pb += dy per column, in one pass.
SACL_CHANNEL_LOOP void gradInputAccumulate(const float* __restrict dy, const float* __restrict x, const float* __restrict gamma,
                                           float m, float r, float mg, float mgx, int64_t n, float* __restrict dx,
                                           double* __restrict pg, double* __restrict pb) {
  for (int64_t i = 0; i < n; ++i) {
    const float xh = (x[i] - m) * r;
    dx[i] = r * ((dy[i] * gamma[i] - mg) - xh * mgx);
    pg[i] += static_cast<double>(dy[i]) * static_cast<double>(xh);
    pb[i] += static_cast<double>(dy[i]);
  }
}

// pg += dy·x̂, pb += dy, per column.
SACL_CHANNEL_LOOP void accumulateAffine(const float* __restrict dy, const float* __restrict x, float m, float r, int64_t n,
                                        double* __restrict pg, double* __restrict pb) {
  for (int64_t i = 0; i < n; ++i) {
    const float xh = (x[i] - m) * r;
    pg[i] += static_cast<double>(dy[i]) * static_cast<double>(xh);
    pb[i] += static_cast<double>(dy[i]);
  }
}

float toRstd(double var, float eps) { return static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps))); }

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// dγ and dβ over column chunks, each column summed over the rows in order by one thread.
void affineByColumns(const float* dy, const float* x, const float* mean, const float* rstd, int64_t rows, int64_t n,
                     float* dgamma, float* dbeta) {
  parallelFor(n, kColumnChunk, [&](int64_t c0, int64_t c1) {
    const int64_t w = c1 - c0;
    std::vector<double> pg(w, 0.0), pb(w, 0.0);
    for (int64_t r = 0; r < rows; ++r) accumulateAffine(dy + r * n + c0, x + r * n + c0, mean[r], rstd[r], w, pg.data(), pb.data());
    for (int64_t c = 0; c < w; ++c) {
      dgamma[c0 + c] = static_cast<float>(pg[c]);
      dbeta[c0 + c] = static_cast<float>(pb[c]);
    }
  });
}

}  // namespace

void layerNorm(const float* x, const float* gamma, const float* beta, float eps, int64_t rows, int64_t n, float* y,
               float* mean, float* rstd) {
  if (n <= kColumnBlock) {
    parallelFor(rows, std::max<int64_t>(1, kGrain / n), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const float* xr = x + r * n;
        const double m = sum(xr, n) / static_cast<double>(n);
        const double var = centeredSquares(xr, n, m) / static_cast<double>(n);
        mean[r] = static_cast<float>(m);
        rstd[r] = toRstd(var, eps);
        normalize(xr, gamma, beta, mean[r], rstd[r], n, y + r * n);
      }
    });
    return;
  }
  // long rows: (row, block) tasks; the mean, then the centred squares, then y
  const int64_t blocks = ceilDiv(n, kColumnBlock);
  const int64_t tasks = rows * blocks;
  std::vector<double> part(tasks), meanD(rows);
  auto span = [&](int64_t t, int64_t* offset, int64_t* width) {
    const int64_t b = t % blocks;
    *offset = (t / blocks) * n + b * kColumnBlock;
    *width = std::min(kColumnBlock, n - b * kColumnBlock);
  };
  parallelFor(tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t off, w;
      span(t, &off, &w);
      part[t] = sum(x + off, w);
    }
  });
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0.0;
    for (int64_t b = 0; b < blocks; ++b) s += part[r * blocks + b];
    meanD[r] = s / static_cast<double>(n);
  }
  parallelFor(tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t off, w;
      span(t, &off, &w);
      part[t] = centeredSquares(x + off, w, meanD[t / blocks]);
    }
  });
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0.0;
    for (int64_t b = 0; b < blocks; ++b) s += part[r * blocks + b];
    mean[r] = static_cast<float>(meanD[r]);
    rstd[r] = toRstd(s / static_cast<double>(n), eps);
  }
  parallelFor(tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t off, w;
      span(t, &off, &w);
      const int64_t r = t / blocks, c = (t % blocks) * kColumnBlock;
      normalize(x + off, gamma ? gamma + c : nullptr, beta ? beta + c : nullptr, mean[r], rstd[r], w, y + off);
    }
  });
}

void layerNormGrad(const float* dy, const float* x, const float* mean, const float* rstd, const float* gamma,
                   int64_t rows, int64_t n, float* dx, float* dgamma, float* dbeta) {
  const double inv = 1.0 / static_cast<double>(n);
  if (n <= kColumnBlock) {
    const bool fused = gamma && n <= kFusedColumns;
    // with dγ/dβ partials, at most kMaxPartials chunks: their memory stays under 1 MB
    const int64_t rowsPer = std::max<int64_t>({1, kGrain / n, fused ? ceilDiv(rows, kMaxPartials) : 1});
    const int64_t chunks = ceilDiv(rows, rowsPer);
    // per chunk of rows: Σ dy·x̂ then Σ dy over its rows, in row order
    Partials partial(fused ? chunks * 2 : 0, n);  // per chunk: its Σ dy·x̂ row, then its Σ dy row
    parallelFor(chunks, 1, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) {
        for (int64_t r = k * rowsPer; r < std::min(rows, (k + 1) * rowsPer); ++r) {
          const float *dyr = dy + r * n, *xr = x + r * n;
          double sg, sgx;
          gradSums(dyr, xr, gamma, mean[r], rstd[r], n, &sg, &sgx);
          const float mg = static_cast<float>(sg * inv), mgx = static_cast<float>(sgx * inv);
          if (fused) {
            gradInputAccumulate(dyr, xr, gamma, mean[r], rstd[r], mg, mgx, n, dx + r * n, partial[2 * k], partial[2 * k + 1]);
          } else {
            gradInput(dyr, xr, gamma, mean[r], rstd[r], mg, mgx, n, dx + r * n);
          }
        }
      }
    });
    if (fused) {
      for (int64_t c = 0; c < n; ++c) {
        double g = 0.0, b = 0.0;
        for (int64_t k = 0; k < chunks; ++k) {
          g += partial[2 * k][c];
          b += partial[2 * k + 1][c];
        }
        dgamma[c] = static_cast<float>(g);
        dbeta[c] = static_cast<float>(b);
      }
    } else if (gamma) {
      affineByColumns(dy, x, mean, rstd, rows, n, dgamma, dbeta);
    }
    return;
  }
  const int64_t blocks = ceilDiv(n, kColumnBlock);
  const int64_t tasks = rows * blocks;
  std::vector<double> part(2 * tasks);
  std::vector<float> mg(rows), mgx(rows);
  parallelFor(tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t r = t / blocks, c = (t % blocks) * kColumnBlock, w = std::min(kColumnBlock, n - c);
      gradSums(dy + r * n + c, x + r * n + c, gamma ? gamma + c : nullptr, mean[r], rstd[r], w, &part[2 * t], &part[2 * t + 1]);
    }
  });
  for (int64_t r = 0; r < rows; ++r) {
    double sg = 0.0, sgx = 0.0;
    for (int64_t b = 0; b < blocks; ++b) {
      sg += part[2 * (r * blocks + b)];
      sgx += part[2 * (r * blocks + b) + 1];
    }
    mg[r] = static_cast<float>(sg * inv);
    mgx[r] = static_cast<float>(sgx * inv);
  }
  parallelFor(tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t r = t / blocks, c = (t % blocks) * kColumnBlock, w = std::min(kColumnBlock, n - c);
      gradInput(dy + r * n + c, x + r * n + c, gamma ? gamma + c : nullptr, mean[r], rstd[r], mg[r], mgx[r], w, dx + r * n + c);
    }
  });
  if (gamma) affineByColumns(dy, x, mean, rstd, rows, n, dgamma, dbeta);
}

}  // namespace cpu
}  // namespace sacl
