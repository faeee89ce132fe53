// GELU, exact (erf) form, forward and backward: the kernels behind SaclGelu / SaclGeluGrad
// (src/tf/kernels/gelu.ts). Element-wise, so results never depend on the thread count.
#pragma once
#include <cstdint>

namespace sacl {
namespace cpu {

// y = u·Φ(u) for u = x, or with a bias (x viewed as [n / C, C]) u = x + bias[c]; Φ the standard normal
// CDF, |Φ error| ≤ 1e-7 (native/cpu/gelu.cc). bias may be null (C is then unused).
void gelu(const float* x, const float* bias, int64_t C, float* y, int64_t n);

// dx = dy·(Φ(u) + u·φ(u)), u as above, φ the standard normal density. The bias gradient is the sum of dx
// over rows (the caller's).
void geluGrad(const float* dy, const float* x, const float* bias, int64_t C, float* dx, int64_t n);

}  // namespace cpu
}  // namespace sacl
