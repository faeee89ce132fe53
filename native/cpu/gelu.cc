// GELU in float32 with an erfc approximation that vectorizes: no library call in the loops, one division,
// one exponential (written out below) and a polynomial per element, cloned for AVX2 (SACL_CHANNEL_LOOP).
//
// For a = |x|/√2, erfc(a) = G(t)·e^(−a²) with t = 1/(1 + a/2), and G a degree-9 polynomial in t fitted
// for this file (relative-error least squares on a ≤ 10, iteratively reweighted towards minimax) to
// erfc(a)·e^(a²): relative error ≤ 3.3e-8 in float64. Then Φ(−|x|) = G(t)·e^(−x²/2)/2, and Φ(x) = that
// or 1 − that for |x| ≥ 1; erf's Taylor series for |x| < 1. Evaluated in float32, |Φ − Φ_exact| ≤ 1e-7
// over all x (checked against a float64 oracle in test/tf/gelu.test.js); e^(−x²/2) below e^(−87)
// (|x| > 13.2) is taken as 0.

#include "no_trapping_math.h"  // first: it applies to all that follows

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "sacl/common.h"
#include "sacl/gelu.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {
namespace {

// Elements per parallel chunk: below this, threads cost more than they save.
constexpr int64_t kGrain = 1 << 14;

// e^v for v ≤ 0 (0 below −87): v = k·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor polynomial to r^7
// (relative error < 1e-8), 2^k put into the exponent bits. NaN gives a finite value (the callers' x
// carries the NaN on), never an out-of-range float-to-int conversion.
inline float expNonPositive(float v) {
  const float vc = v >= -87.0f ? v : -87.0f;
  // round to nearest by adding and removing 1.5·2^23 (exact under -ffp-contract=off, no -ffast-math)
  const float k = (vc * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = (vc - k * 0.693359375f) - k * -2.12194440e-4f;  // ln2 split: k·hi is exact
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return v < -87.0f ? 0.0f : p * scale;
}

// Φ(−|x|) given e = e^(−x²/2).
inline float lowerTail(float x, float e) {
  const float a = std::fabs(x) * 0.707106781f;
  const float t = 1.0f / (1.0f + 0.5f * a);
  float g = -5.505166614e-02f;
  g = g * t + 2.639049946e-01f;
  g = g * t + -4.414818108e-01f;
  g = g * t + 2.211960875e-01f;
  g = g * t + 1.707379549e-02f;
  g = g * t + 1.812517437e-01f;
  g = g * t + 2.497929325e-01f;
  g = g * t + 2.810985357e-01f;
  g = g * t + 2.822213659e-01f;
  g = g * t + -6.010835825e-06f;
  return 0.5f * g * e;
}

// Φ(x) = (1 + erf(x/√2))/2 for |x| < 1 by erf's Taylor series to u^17 (truncation < 5e-9): G(t) loses
// digits to rounding near t = 1, the series does not.
inline float centre(float x) {
  const float u = x * 0.707106781f;
  const float u2 = u * u;
  float s = 1.646211437e-06f;
  s = s * u2 + -1.492565036e-05f;
  s = s * u2 + 1.205533298e-04f;
  s = s * u2 + -8.548327023e-04f;
  s = s * u2 + 5.223977625e-03f;
  s = s * u2 + -2.686617065e-02f;
  s = s * u2 + 1.128379167e-01f;
  s = s * u2 + -3.761263890e-01f;
  s = s * u2 + 1.128379167e+00f;
  return 0.5f + 0.5f * (s * u);
}

// Φ(x) given e = e^(−x²/2).
inline float cdf(float x, float e) {
  const float q = lowerTail(x, e);
  return std::fabs(x) < 1.0f ? centre(x) : (x < 0.0f ? q : 1.0f - q);
}

constexpr float kInvSqrt2Pi = 0.398942280f;

// u = x (+ bias[i], a row's bias, with bias), then y = u·Φ(u) or dx = dy·(Φ(u) + u·φ(u)).
SACL_CHANNEL_LOOP void geluRange(const float* __restrict x, const float* __restrict bias, float* __restrict y, int64_t n) {
  if (bias == nullptr) {
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i];
      y[i] = v * cdf(v, expNonPositive(-0.5f * v * v));
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i] + bias[i];
      y[i] = v * cdf(v, expNonPositive(-0.5f * v * v));
    }
  }
}

SACL_CHANNEL_LOOP void geluGradRange(const float* __restrict dy, const float* __restrict x, const float* __restrict bias,
                                     float* __restrict dx, int64_t n) {
  if (bias == nullptr) {
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i];
      const float e = expNonPositive(-0.5f * v * v);
      dx[i] = dy[i] * (cdf(v, e) + v * (e * kInvSqrt2Pi));
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i] + bias[i];
      const float e = expNonPositive(-0.5f * v * v);
      dx[i] = dy[i] * (cdf(v, e) + v * (e * kInvSqrt2Pi));
    }
  }
}

// body(offset, count, bias row) over [0, n): flat chunks without bias, whole rows of C with it.
template <class F>
void forChunks(int64_t n, const float* bias, int64_t C, F body) {
  if (bias == nullptr) {
    parallelFor(n, kGrain, [&](int64_t begin, int64_t end) { body(begin, end - begin, nullptr); });
    return;
  }
  parallelFor(n / C, std::max<int64_t>(1, kGrain / C), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) body(r * C, C, bias);
  });
}

}  // namespace

void gelu(const float* x, const float* bias, int64_t C, float* y, int64_t n) {
  forChunks(n, bias, C, [&](int64_t at, int64_t count, const float* b) { geluRange(x + at, b, y + at, count); });
}

void geluGrad(const float* dy, const float* x, const float* bias, int64_t C, float* dx, int64_t n) {
  forChunks(n, bias, C, [&](int64_t at, int64_t count, const float* b) { geluGradRange(dy + at, x + at, b, dx + at, count); });
}

}  // namespace cpu
}  // namespace sacl
