// The CUDA entry points (native/cuda). Same argument structs and host pointers as the CPU kernels: the
// launchers copy inputs to the device, run the kernels on their stream and copy the outputs back. In a
// CPU-only build native/cuda/no_cuda.cc defines them: the ops throw (the dispatchers are never asked for
// CUDA there, cudaStatus().available being false) and the kernel time is NaN.
#pragma once
#include <cstdint>

#include "sacl/device.h"
#include "sacl/ops.h"

namespace sacl {
namespace cuda {

void knnGraph(const KnnGraphArgs& a, int32_t* out);
void maxRelative(const MaxRelativeArgs& a, float* out, int32_t* argmax);
void maxRelativeGrad(const MaxRelativeGradArgs& a, float* dx, float* dy);
void roiAlign(const RoiAlignArgs& a, const float* features, float* out);
void roiAlignGrad(const RoiAlignArgs& a, const float* dOut, float* dFeatures);

// Milliseconds the kernels of every call finished since the last take, host↔device copies excluded, and
// reset (NaN when no call finished since).
float takeKernelMilliseconds();

}  // namespace cuda
}  // namespace sacl
