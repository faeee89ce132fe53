// The KNN math the CPU and CUDA kernels share (docs/ops.md, knnGraph), compiled for host and device: the
// metric, the (distance, index) key order and sorted insertion, row norms and the cosine epilogue.
#pragma once
#include <cmath>
#include <cstdint>

#include "sacl/common.h"

namespace sacl {

// The one encoding of the metric below the public names, which the binding parses (kMetricNames, same
// order). Euclidean neighbours are ranked by the squared distance Σ(y−x)² (same order, no square root).
enum class Metric : int { Euclidean = 0, Cosine = 1, Manhattan = 2 };
constexpr const char* kMetricNames[] = {"euclidean", "cosine", "manhattan"};
constexpr int kMetricCount = 3;

// A candidate for a row's list. Lists are ordered by the key (distance, index): a tie goes to the lower
// index, whatever order the candidates arrive in.
struct Neighbour {
  float d;
  int32_t j;
};

SACL_HD bool before(const Neighbour& a, const Neighbour& b) { return a.d < b.d || (a.d == b.d && a.j < b.j); }

// Adds nb to a sorted list of at most kd keys holding `count` (a few shifts, well predicted).
SACL_HD void insertSorted(Neighbour* list, int64_t& count, int64_t kd, Neighbour nb) {
  int64_t t;
  if (count < kd) {
    t = count++;
  } else if (before(nb, list[kd - 1])) {
    t = kd - 1;
  } else {
    return;
  }
  for (; t > 0 && before(nb, list[t - 1]); --t) list[t] = list[t - 1];
  list[t] = nb;
}

// The inverse L2 norm of a row of D values, accumulated in double like the reference (0 for a zero row).
// With `copy`, also writes the normalized row there and returns the norm of that copy (1, or 0).
SACL_HD float prepareRow(const float* src, int64_t D, float* copy) {
  double ss = 0;
  for (int64_t d = 0; d < D; ++d) ss += static_cast<double>(src[d]) * src[d];
  const double inv = ss > 0 ? 1.0 / sqrt(ss) : 0.0;
  if (!copy) return static_cast<float>(inv);
  for (int64_t d = 0; d < D; ++d) copy[d] = static_cast<float>(src[d] * inv);
  return ss > 0 ? 1.0f : 0.0f;
}

// 1 − x·y/(‖x‖‖y‖) from the dot product and the inverse norms, never negative (a zero row has inverse
// norm 0, hence distance 1). The norms multiply first, so the result is symmetric in x and y.
SACL_HD float cosineDistance(float dot, float invX, float invY) {
  const float d = 1.0f - dot * (invX * invY);
  return d > 0.0f ? d : 0.0f;
}

}  // namespace sacl
