// Reductions, softmax and arg-reductions behind the tfjs kernels of src/tf/kernels/reduce.ts: float32,
// row-major. Every output is computed by one thread in a fixed order, or from partials over chunks whose
// bounds depend only on the shape and that are added in chunk order, so results never depend on the
// thread count.
#pragma once
#include <cstdint>

namespace sacl {

// The codes are shared with src/tf/kernels/reduce.ts (REDUCE_OPS): append, never reorder.
enum class ReduceOp : int { Sum = 0, Mean, Max, Min, Prod, Count };

// The largest rank a reduction takes.
constexpr int kMaxReduceRank = 8;

namespace cpu {

// out = op of x (shape[0..rank)) over the axes with reduced[a] true; out is row-major over the other axes
// in order. Sum, Mean and Prod accumulate in double and round once (Mean divides the sum by the count);
// Max and Min give NaN when any input is NaN, else the first extreme value in memory order (so −0 and +0
// ties resolve as tfjs-cpu's sequential scan). Every size is ≥ 1.
void reduce(ReduceOp op, const float* x, const int64_t* shape, const bool* reduced, int rank, float* out);

// Softmax over the last axis of x viewed as [rows, n]: e = exp(x − max) in float32, s = the sum of e in
// double rounded to float32, y = e / s (tfjs-cpu's Max, Sub, Exp, Sum, RealDiv chain).
void softmax(const float* x, float* y, int64_t rows, int64_t n);

// out[o, i] = the index j of the first largest (isMax) or smallest x[o, j, i] over j < n, x viewed as
// [outer, n, inner]; NaN never compares larger or smaller, as in tfjs-cpu.
void argReduce(bool isMax, const float* x, int64_t outer, int64_t n, int64_t inner, int32_t* out);

}  // namespace cpu
}  // namespace sacl
