// BatchNorm in training mode over channels-last data viewed as [rows, C]: statistics over the rows, forward
// and backward, with an optional ReLU after it. The kernels behind SaclBatchNorm / SaclBatchNormGrad
// (src/tf/kernels/batch-norm.ts). Per-channel sums run over fixed blocks of rows (their size depends on C
// only) in double, and the block partials are combined in block order: the same bits for any thread count.
#pragma once
#include <cstdint>

namespace sacl {
namespace cpu {

// mean[c] and the biased variance var[c] of x[:, c]; y = (x − mean)·rstd·gamma + beta, rstd =
// 1/√(var + eps), then max(y, 0) with relu. rows ≥ 1, C ≥ 1.
void batchNormTrain(const float* x, int64_t rows, int64_t C, const float* gamma, const float* beta, float eps, bool relu,
                    float* y, float* mean, float* var);

// The gradients of batchNormTrain's three outputs (y, mean, var) pulled back to x, gamma and beta. y (the
// forward output) is read only with relu, for its mask (y > 0); dMean and dVar may be null (zero).
void batchNormTrainGrad(const float* dy, const float* x, const float* y, int64_t rows, int64_t C, const float* gamma,
                        const float* mean, const float* var, const float* dMean, const float* dVar, float eps, bool relu,
                        float* dx, float* dGamma, float* dBeta);

// 1/√(var + eps) as both passes compute it (in double, rounded once).
float batchNormRstd(float var, float eps);

}  // namespace cpu
}  // namespace sacl
