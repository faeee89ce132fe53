// Element-wise kernels behind the tfjs Unary and Binary kernels (src/tf/kernels/elementwise.ts): float32,
// row-major, outputs fully overwritten. No reduction is involved, so results never depend on the thread
// count.
#pragma once
#include <cstdint>

namespace sacl {

// The codes are shared with src/tf/kernels/elementwise.ts (UNARY_OPS, BINARY_OPS): append, never reorder.
enum class UnaryOp : int {
  Neg = 0, Abs, Square, Sqrt, Rsqrt, Exp, Log, Log1p, Sigmoid, Relu, Erf, Tanh, Reciprocal, Count
};
enum class BinaryOp : int { Add = 0, Sub, Mul, Div, Maximum, Minimum, SquaredDifference, Count };

// The largest rank a broadcast may have (tfjs allows up to 6 in most kernels).
constexpr int kMaxBroadcastRank = 8;

namespace cpu {

// y[i] = op(x[i]) for i < n.
void unary(UnaryOp op, const float* x, float* y, int64_t n);

// out = op(a, b) with numpy broadcasting. Shapes are right-aligned to `rank` (leading 1s for the
// shorter one); for every axis aShape[i] and bShape[i] equal outShape[i] or 1, as the caller checked.
void binary(BinaryOp op, const float* a, const int64_t* aShape, const float* b, const int64_t* bShape, float* out,
            const int64_t* outShape, int rank);

}  // namespace cpu
}  // namespace sacl
