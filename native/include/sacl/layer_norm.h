// LayerNorm over the last axis, forward and backward in one kernel each, behind the tfjs kernels of
// src/tf/kernels/layer-norm.ts. x is float32 viewed as [rows, n]. Row statistics accumulate in double
// over chunks whose bounds depend only on n (rows longer than one column block are split into fixed
// blocks, so a few long rows still keep every thread busy), and partials are added in chunk order: the
// same bits for any thread count.
#pragma once
#include <cstdint>

namespace sacl {
namespace cpu {

// mean = Σx / n, var = Σ(x − mean)² / n (biased, two passes), rstd = 1 / sqrt(var + eps), all per row and
// rounded once to float32; y = (x − mean)·rstd·γ + β in float32, γ and β of length n or both null (no
// affine: y = (x − mean)·rstd). mean and rstd have `rows` elements.
void layerNorm(const float* x, const float* gamma, const float* beta, float eps, int64_t rows, int64_t n, float* y,
               float* mean, float* rstd);

// With x̂ = (x − mean)·rstd and g = dy·γ (dy without γ): dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) per row;
// with γ, also dγ = Σ_rows dy·x̂ and dβ = Σ_rows dy (dgamma and dbeta non-null exactly when gamma is).
void layerNormGrad(const float* dy, const float* x, const float* mean, const float* rstd, const float* gamma,
                   int64_t rows, int64_t n, float* dx, float* dgamma, float* dbeta);

}  // namespace cpu
}  // namespace sacl
