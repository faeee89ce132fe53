// Reductions, softmax and arg-reductions (see sacl/reduce.h). No transpose: after dropping size-1 axes and
// merging neighbouring axes of one kind, the input is a nest of kept and reduced runs. When the innermost
// run is reduced, each output sums contiguous rows in 8 double lanes (outputs that are one row each, as
// channel statistics, run in one loop); when it is kept, a task accumulates a block of up to kInnerBlock
// neighbouring outputs at once, one contiguous vector per reduced position. Outer runs of either kind are
// walked by offset. Tasks are (output, inner block); when there are too few of them to feed the pool, the
// reduced range is cut into chunks fixed by the shape, and the partials are combined in chunk order.
#include "sacl/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "partials.h"
#include "sacl/common.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;     // input elements per parallel task, roughly
constexpr int64_t kInnerBlock = 512;    // neighbouring outputs one task accumulates (4 KB of doubles)
constexpr int64_t kMinTasks = 64;       // fewer (output, block) tasks than this: split the reduced range too
constexpr int64_t kMaxChunks = 64;
constexpr int kLanes = 8;

constexpr double kInf = std::numeric_limits<double>::infinity();

// step(acc, v) folds one value (or one partial) into an accumulator that starts at init.
struct SumOp {
  static constexpr double init = 0.0;
  static constexpr bool extreme = false;
  static double step(double a, double v) { return a + v; }
};
struct ProdOp {
  static constexpr double init = 1.0;
  static constexpr bool extreme = false;
  static double step(double a, double v) { return a * v; }
};
// Starting from −∞ gives the same result as tfjs' start from the first element; a NaN, once taken, stays.
struct MaxOp {
  static constexpr double init = -kInf;
  static constexpr bool extreme = true;
  static double step(double a, double v) { return (v > a || v != v) ? v : a; }
};
struct MinOp {
  static constexpr double init = kInf;
  static constexpr bool extreme = true;
  static double step(double a, double v) { return (v < a || v != v) ? v : a; }
};

// The input as runs: `row` contiguous reduced elements (the innermost run when it is reduced, else 1),
// `inner` contiguous kept elements (the innermost run when it is kept, else 1), and the other kept and
// reduced runs, outermost first, with their strides in x.
struct Plan {
  int64_t row = 1, inner = 1;
  int nk = 0, nr = 0;
  int64_t kDims[kMaxReduceRank], kStrides[kMaxReduceRank];
  int64_t rDims[kMaxReduceRank], rStrides[kMaxReduceRank];
  int64_t outRows = 1, redRows = 1;
};

Plan makePlan(const int64_t* shape, const bool* reduced, int rank) {
  int64_t size[kMaxReduceRank], stride[kMaxReduceRank];
  bool red[kMaxReduceRank];
  int n = 0;
  int64_t elem = 1;
  for (int a = rank - 1; a >= 0; --a) {
    if (shape[a] == 1) continue;
    if (n > 0 && red[n - 1] == reduced[a]) {
      size[n - 1] *= shape[a];  // axes of one kind next to each other are one contiguous run
    } else {
      size[n] = shape[a];
      stride[n] = elem;
      red[n] = reduced[a];
      ++n;
    }
    elem *= shape[a];
  }
  Plan p;
  int first = 0;
  if (n > 0) {
    (red[0] ? p.row : p.inner) = size[0];
    first = 1;
  }
  for (int i = n - 1; i >= first; --i) {
    if (red[i]) {
      p.rDims[p.nr] = size[i];
      p.rStrides[p.nr++] = stride[i];
      p.redRows *= size[i];
    } else {
      p.kDims[p.nk] = size[i];
      p.kStrides[p.nk++] = stride[i];
      p.outRows *= size[i];
    }
  }
  return p;
}

// Offsets of a row-major walk over runs (outermost first), starting at a flat index.
struct Walker {
  int n;
  const int64_t* dims;
  const int64_t* strides;
  int64_t idx[kMaxReduceRank];
  int64_t offset = 0;
  Walker(int n_, const int64_t* dims_, const int64_t* strides_, int64_t flat) : n(n_), dims(dims_), strides(strides_) {
    for (int i = n - 1; i >= 0; --i) {
      idx[i] = flat % dims[i];
      flat /= dims[i];
      offset += idx[i] * strides[i];
    }
  }
  void next() {
    for (int i = n - 1; i >= 0; --i) {
      offset += strides[i];
      if (++idx[i] < dims[i]) return;
      offset -= idx[i] * strides[i];
      idx[i] = 0;
    }
  }
};

// Element j goes to lane j mod 8 (of this segment): the lanes are the compiler's vector registers.
template <class Op>
inline __attribute__((always_inline)) void laneAccumulate(const float* __restrict x, int64_t n, double* __restrict lanes) {
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int k = 0; k < kLanes; ++k) lanes[k] = Op::step(lanes[k], x[j + k]);
  }
  for (int k = 0; j + k < n; ++k) lanes[k] = Op::step(lanes[k], x[j + k]);
}

template <class Op>
SACL_CHANNEL_LOOP void laneRow(const float* __restrict x, int64_t n, double* __restrict lanes) {
  laneAccumulate<Op>(x, n, lanes);
}

template <class Op>
inline __attribute__((always_inline)) double combineLanes(const double* l) {
  return Op::step(Op::step(Op::step(l[0], l[1]), Op::step(l[2], l[3])), Op::step(Op::step(l[4], l[5]), Op::step(l[6], l[7])));
}

// Rows [begin, end) of a [rows, n] matrix reduced each on its own, the same way as rangeLastReduced
// over one whole row (so either path gives the same bits); for the many short rows of channel statistics.
template <class Op>
SACL_CHANNEL_LOOP void reduceRows(const float* __restrict x, int64_t n, int64_t begin, int64_t end, double* __restrict res) {
  for (int64_t r = begin; r < end; ++r) {
    double lanes[kLanes];
    for (int k = 0; k < kLanes; ++k) lanes[k] = Op::init;
    laneAccumulate<Op>(x + r * n, n, lanes);
    res[r - begin] = combineLanes<Op>(lanes);
  }
}

// The innermost run reduced: output at `base`, reduced elements [f0, f1) in memory order.
template <class Op>
double rangeLastReduced(const Plan& p, const float* x, int64_t base, int64_t f0, int64_t f1) {
  double lanes[kLanes];
  std::fill(lanes, lanes + kLanes, Op::init);
  int64_t j = f0 % p.row;
  Walker w(p.nr, p.rDims, p.rStrides, f0 / p.row);
  while (f0 < f1) {
    const int64_t len = std::min(p.row - j, f1 - f0);
    laneRow<Op>(x + base + w.offset + j, len, lanes);
    f0 += len;
    j = 0;
    w.next();
  }
  return combineLanes<Op>(lanes);
}

// Lanes lose the memory order, which only shows for a max or min of ±0: the first zero in memory order.
double firstZero(const Plan& p, const float* x, int64_t base) {
  Walker w(p.nr, p.rDims, p.rStrides, 0);
  for (int64_t r = 0; r < p.redRows; ++r, w.next()) {
    const float* src = x + base + w.offset;
    for (int64_t j = 0; j < p.row; ++j) {
      if (src[j] == 0.0f) return src[j];
    }
  }
  return 0.0;
}

template <class Op>
SACL_CHANNEL_LOOP void stepBlock(const float* __restrict x, double* __restrict acc, int64_t w) {
  for (int64_t i = 0; i < w; ++i) acc[i] = Op::step(acc[i], x[i]);
}

// The innermost run kept: w outputs from `base` on, reduced rows [r0, r1) in memory order.
template <class Op>
void rangeLastKept(const Plan& p, const float* x, int64_t base, int64_t r0, int64_t r1, int64_t w, double* acc) {
  std::fill(acc, acc + w, Op::init);
  Walker wk(p.nr, p.rDims, p.rStrides, r0);
  for (int64_t r = r0; r < r1; ++r, wk.next()) stepBlock<Op>(x + base + wk.offset, acc, w);
}

template <class Op>
void reduceWith(bool mean, const Plan& p, const float* x, float* out) {
  const bool lastReduced = p.inner == 1;
  const int64_t count = p.redRows * p.row;  // reduced elements per output
  const int64_t width = std::min(p.inner, kInnerBlock);
  const int64_t blocks = (p.inner + width - 1) / width;
  const int64_t units = p.outRows * blocks;
  // chunks cut reduced elements (innermost run reduced) or reduced rows (kept); they depend on the shape only
  const int64_t span = lastReduced ? count : p.redRows;
  int64_t chunks = 1;
  if (units < kMinTasks) chunks = std::min({std::max<int64_t>(1, count * width / kGrain), kMaxChunks, span});
  const int64_t chunkLen = (span + chunks - 1) / chunks;
  chunks = (span + chunkLen - 1) / chunkLen;

  const auto finish = [&](double v) { return static_cast<float>(mean ? v / static_cast<double>(count) : v); };
  const auto keptBase = [&](int64_t o) { return Walker(p.nk, p.kDims, p.kStrides, o).offset; };
  const auto fixZero = [&](double v, int64_t base) { return (Op::extreme && v == 0.0) ? firstZero(p, x, base) : v; };

  if (chunks == 1) {
    const int64_t grain = std::max<int64_t>(1, kGrain / (count * width));
    parallelFor(units, grain, [&](int64_t begin, int64_t end) {
      if (lastReduced && p.nr == 0) {  // one contiguous row per output: [outRows, row]
        std::vector<double> res(end - begin);
        reduceRows<Op>(x, p.row, begin, end, res.data());
        for (int64_t o = begin; o < end; ++o) out[o] = finish(fixZero(res[o - begin], o * p.row));
        return;
      }
      std::vector<double> acc(width);
      for (int64_t u = begin; u < end; ++u) {
        const int64_t o = u / blocks, i0 = (u % blocks) * width, w = std::min(width, p.inner - i0);
        const int64_t base = keptBase(o);
        if (lastReduced) {
          out[o] = finish(fixZero(rangeLastReduced<Op>(p, x, base, 0, count), base));
        } else {
          rangeLastKept<Op>(p, x, base + i0, 0, p.redRows, w, acc.data());
          for (int64_t i = 0; i < w; ++i) out[o * p.inner + i0 + i] = finish(acc[i]);
        }
      }
    });
    return;
  }
  // each task's partials on cache lines of their own: tasks of a few outputs each (width 2 for the
  // [.., 2] landmark coordinates) sharing lines made 2 threads slower than 1
  Partials part(units * chunks, width);
  parallelFor(units * chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t u = t / chunks, c = t % chunks;
      const int64_t o = u / blocks, i0 = (u % blocks) * width, w = std::min(width, p.inner - i0);
      const int64_t s0 = c * chunkLen, s1 = std::min(span, s0 + chunkLen);
      double* dst = part[t];
      if (lastReduced) {
        dst[0] = rangeLastReduced<Op>(p, x, keptBase(o), s0, s1);
      } else {
        rangeLastKept<Op>(p, x, keptBase(o) + i0, s0, s1, w, dst);
      }
    }
  });
  for (int64_t u = 0; u < units; ++u) {
    const int64_t o = u / blocks, i0 = (u % blocks) * width, w = std::min(width, p.inner - i0);
    for (int64_t i = 0; i < w; ++i) {
      double v = part[u * chunks][i];
      for (int64_t c = 1; c < chunks; ++c) v = Op::step(v, part[u * chunks + c][i]);
      if (lastReduced) v = fixZero(v, keptBase(o));
      out[o * p.inner + i0 + i] = finish(v);
    }
  }
}

SACL_CHANNEL_LOOP void softmaxRow(const float* __restrict x, float* __restrict y, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < n; ++j) m = (x[j] > m || x[j] != x[j]) ? x[j] : m;
  for (int64_t j = 0; j < n; ++j) y[j] = std::exp(x[j] - m);
  double lanes[kLanes];
  std::fill(lanes, lanes + kLanes, 0.0);
  laneRow<SumOp>(y, n, lanes);
  const float s = static_cast<float>(combineLanes<SumOp>(lanes));
  for (int64_t j = 0; j < n; ++j) y[j] = y[j] / s;
}

template <bool IsMax>
SACL_CHANNEL_LOOP void argStep(const float* __restrict row, float* __restrict best, int32_t* __restrict at, int32_t j,
                               int64_t w) {
  for (int64_t i = 0; i < w; ++i) {
    const bool better = IsMax ? row[i] > best[i] : row[i] < best[i];
    best[i] = better ? row[i] : best[i];
    at[i] = better ? j : at[i];
  }
}

}  // namespace

void reduce(ReduceOp op, const float* x, const int64_t* shape, const bool* reduced, int rank, float* out) {
  const Plan p = makePlan(shape, reduced, rank);
  switch (op) {
    case ReduceOp::Sum: return reduceWith<SumOp>(false, p, x, out);
    case ReduceOp::Mean: return reduceWith<SumOp>(true, p, x, out);
    case ReduceOp::Max: return reduceWith<MaxOp>(false, p, x, out);
    case ReduceOp::Min: return reduceWith<MinOp>(false, p, x, out);
    case ReduceOp::Prod: return reduceWith<ProdOp>(false, p, x, out);
    case ReduceOp::Count: break;
  }
}

void softmax(const float* x, float* y, int64_t rows, int64_t n) {
  parallelFor(rows, std::max<int64_t>(1, kGrain / n), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) softmaxRow(x + r * n, y + r * n, n);
  });
}

void argReduce(bool isMax, const float* x, int64_t outer, int64_t n, int64_t inner, int32_t* out) {
  const int64_t width = std::min(inner, kInnerBlock);
  const int64_t blocks = (inner + width - 1) / width;
  parallelFor(outer * blocks, std::max<int64_t>(1, kGrain / (n * width)), [&](int64_t begin, int64_t end) {
    std::vector<float> best(width);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t o = t / blocks, i0 = (t % blocks) * width, w = std::min(width, inner - i0);
      const float* src = x + o * n * inner + i0;
      int32_t* at = out + o * inner + i0;
      std::copy(src, src + w, best.data());
      std::fill(at, at + w, 0);
      for (int64_t j = 1; j < n; ++j) {
        if (isMax) {
          argStep<true>(src + j * inner, best.data(), at, static_cast<int32_t>(j), w);
        } else {
          argStep<false>(src + j * inner, best.data(), at, static_cast<int32_t>(j), w);
        }
      }
    }
  });
}

}  // namespace cpu
}  // namespace sacl
