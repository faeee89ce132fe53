// Element-wise unary and broadcasting binary kernels (see sacl/elementwise.h). Loops are plain so the
// compiler vectorizes them, cloned for AVX2 (SACL_CHANNEL_LOOP); work is split over the pool in chunks
// of the flat output, each element written by exactly one thread.
#include "sacl/elementwise.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "sacl/common.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {
namespace {

// Elements per parallel chunk: below this, threads cost more than they save.
constexpr int64_t kGrain = 1 << 15;
// An innermost run shorter than this is widened where the broadcast allows (binary).
constexpr int64_t kShortRun = 64;

template <class F>
SACL_CHANNEL_LOOP void mapUnary(const float* __restrict x, float* __restrict y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// tfjs semantics per op (tfjs-backend-cpu's kernels), in float32 where tfjs computes in float32.
void unaryRange(UnaryOp op, const float* x, float* y, int64_t n) {
  switch (op) {
    case UnaryOp::Neg: return mapUnary(x, y, n, [](float v) { return -v; });
    case UnaryOp::Abs: return mapUnary(x, y, n, [](float v) { return std::fabs(v); });
    case UnaryOp::Square: return mapUnary(x, y, n, [](float v) { return v * v; });
    case UnaryOp::Sqrt: return mapUnary(x, y, n, [](float v) { return std::sqrt(v); });
    case UnaryOp::Rsqrt: return mapUnary(x, y, n, [](float v) { return 1.0f / std::sqrt(v); });
    case UnaryOp::Exp: return mapUnary(x, y, n, [](float v) { return std::exp(v); });
    case UnaryOp::Log: return mapUnary(x, y, n, [](float v) { return std::log(v); });
    case UnaryOp::Log1p: return mapUnary(x, y, n, [](float v) { return std::log1p(v); });
    case UnaryOp::Sigmoid: return mapUnary(x, y, n, [](float v) {
      // e^−|v| never overflows, so very negative v still gives e^v / (1 + e^v), not 0
      const float e = std::exp(-std::fabs(v));
      const float s = 1.0f / (1.0f + e);
      return v >= 0.0f ? s : e * s;
    });
    // NaN stays NaN, as tfjs's (x < 0 ? 0 : x) does
    case UnaryOp::Relu: return mapUnary(x, y, n, [](float v) { return v < 0.0f ? 0.0f : v; });
    case UnaryOp::Erf: return mapUnary(x, y, n, [](float v) { return std::erf(v); });
    case UnaryOp::Tanh: return mapUnary(x, y, n, [](float v) { return std::tanh(v); });
    case UnaryOp::Reciprocal: return mapUnary(x, y, n, [](float v) { return 1.0f / v; });
    case UnaryOp::Count: break;
  }
}

template <class F>
SACL_CHANNEL_LOOP void mapBinary(const float* __restrict a, int64_t sa, const float* __restrict b, int64_t sb,
                                 float* __restrict out, int64_t n, F f) {
  // the three cases the collapsed innermost axis can take, so each loop vectorizes
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (sa == 1) {
    const float bv = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
  } else if (sb == 1) {
    const float av = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
  } else {
    const float v = f(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) out[i] = v;
  }
}

void binaryRow(BinaryOp op, const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n) {
  switch (op) {
    case BinaryOp::Add: return mapBinary(a, sa, b, sb, out, n, [](float x, float y) { return x + y; });
    case BinaryOp::Sub: return mapBinary(a, sa, b, sb, out, n, [](float x, float y) { return x - y; });
    case BinaryOp::Mul: return mapBinary(a, sa, b, sb, out, n, [](float x, float y) { return x * y; });
    case BinaryOp::Div: return mapBinary(a, sa, b, sb, out, n, [](float x, float y) { return x / y; });
    // NaN in either operand gives NaN, as tfjs's Math.max / Math.min
    case BinaryOp::Maximum:
      return mapBinary(a, sa, b, sb, out, n, [](float x, float y) { return (x != x || y != y) ? x + y : (x > y ? x : y); });
    case BinaryOp::Minimum:
      return mapBinary(a, sa, b, sb, out, n, [](float x, float y) { return (x != x || y != y) ? x + y : (x < y ? x : y); });
    case BinaryOp::SquaredDifference:
      return mapBinary(a, sa, b, sb, out, n, [](float x, float y) { return (x - y) * (x - y); });
    case BinaryOp::Count: break;
  }
}

}  // namespace

void unary(UnaryOp op, const float* x, float* y, int64_t n) {
  parallelFor(n, kGrain, [&](int64_t begin, int64_t end) { unaryRange(op, x + begin, y + begin, end - begin); });
}

void binary(BinaryOp op, const float* a, const int64_t* aShape, const float* b, const int64_t* bShape, float* out,
            const int64_t* outShape, int rank) {
  // Collapse the axes into runs where each input is either read along or broadcast (stride 0) throughout;
  // axes of output size 1 drop out. dims[0] is the innermost run.
  int64_t dims[kMaxBroadcastRank], strideA[kMaxBroadcastRank], strideB[kMaxBroadcastRank];
  int k = 0;
  int64_t elemA = 1, elemB = 1;  // element strides of the current axis in a and b
  for (int axis = rank - 1; axis >= 0; --axis) {
    const int64_t n = outShape[axis];
    if (n == 1) continue;
    const bool readA = aShape[axis] != 1, readB = bShape[axis] != 1;
    const int64_t sa = readA ? elemA : 0, sb = readB ? elemB : 0;
    if (k > 0 && (strideA[k - 1] != 0) == readA && (strideB[k - 1] != 0) == readB &&
        (!readA || strideA[k - 1] * dims[k - 1] == sa) && (!readB || strideB[k - 1] * dims[k - 1] == sb)) {
      dims[k - 1] *= n;
    } else {
      dims[k] = n;
      strideA[k] = sa;
      strideB[k] = sb;
      ++k;
    }
    if (readA) elemA *= n;
    if (readB) elemB *= n;
  }
  if (k == 0) {  // a single element
    binaryRow(op, a, 1, b, 1, out, 1);
    return;
  }
  // A short innermost run that one side reads along and the other repeats over every outer axis ([16, 784,
  // 49, 2] + [2]: runs of 2) costs a call per run: widen the run over R repeats of the next axis, the
  // repeating side's pattern copied R times into a small buffer (the same operation on the same values).
  std::vector<float> tiled;
  if (k >= 2 && dims[0] < kShortRun) {
    for (int side = 0; side < 2; ++side) {
      int64_t* along = side == 0 ? strideA : strideB;  // read along both axes, contiguously
      int64_t* repeats = side == 0 ? strideB : strideA;  // read along the run, broadcast over the next axis
      const float*& pattern = side == 0 ? b : a;
      bool repeatsOuter = true;  // the pattern is the same in every outer row too (only it is copied)
      for (int i = 2; i < k; ++i) repeatsOuter = repeatsOuter && repeats[i] == 0;
      if (along[0] != 1 || along[1] != dims[0] || repeats[0] != 1 || repeats[1] != 0 || !repeatsOuter) continue;
      int64_t r = std::min(dims[1], kShortRun * 16 / dims[0]);
      while (dims[1] % r != 0) --r;
      if (r == 1) break;
      tiled.resize(r * dims[0]);
      for (int64_t i = 0; i < r; ++i) std::copy(pattern, pattern + dims[0], tiled.begin() + i * dims[0]);
      pattern = tiled.data();
      dims[0] *= r;
      dims[1] /= r;
      along[1] = dims[0];
      break;
    }
  }
  const int64_t inner = dims[0];
  int64_t rows = 1;
  for (int i = 1; i < k; ++i) rows *= dims[i];
  // the innermost run's unit strides select the loop (1: read along, 0: broadcast)
  const int64_t sa = strideA[0] != 0 ? 1 : 0, sb = strideB[0] != 0 ? 1 : 0;
  // chunks may end inside a row: a same-shape or row-broadcast operation collapses to one or a few long rows
  parallelForRowPieces(rows, inner, kGrain, [&](int64_t r, int64_t col, int64_t len, int64_t flat) {
    // offsets of row r in a and b from its multi-index over dims[1..k)
    int64_t offA = 0, offB = 0, rest = r;
    for (int i = 1; i < k; ++i) {
      const int64_t at = rest % dims[i];
      rest /= dims[i];
      offA += at * strideA[i];
      offB += at * strideB[i];
    }
    binaryRow(op, a + offA + col * sa, sa, b + offB + col * sb, sb, out + flat, len);
  });
}

}  // namespace cpu
}  // namespace sacl
