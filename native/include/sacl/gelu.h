// GELU, exact (erf) form, forward and backward: the kernels behind SaclGelu / SaclGeluGrad
// (src/tf/kernels/gelu.ts). Element-wise, so results never depend on the thread count.
#pragma once
#include <cstdint>

namespace sacl {
namespace cpu {

// y = x·Φ(x), Φ the standard normal CDF. |Φ error| ≤ 1e-7 (native/cpu/gelu.cc).
void gelu(const float* x, float* y, int64_t n);

// dx = dy·(Φ(x) + x·φ(x)), φ the standard normal density.
void geluGrad(const float* dy, const float* x, float* dx, int64_t n);

}  // namespace cpu
}  // namespace sacl
