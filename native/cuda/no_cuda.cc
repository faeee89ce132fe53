// The CUDA side of a CPU-only build (sacl/device.h, sacl/cuda_ops.h): the status says why there is no
// CUDA, and the entry points refuse (the dispatchers only call them when cudaStatus().available).
#include <cmath>
#include <stdexcept>

#include "sacl/cuda_ops.h"
#include "sacl/device.h"

namespace sacl {

const CudaStatus& cudaStatus() {
  static const CudaStatus status{false, false, 0,
                                 "this build has no CUDA kernels: rebuild with `npm run build:native` on a machine "
                                 "where nvcc (the CUDA toolkit) is installed"};
  return status;
}

namespace cuda {

namespace {
[[noreturn]] void refuse() { throw std::runtime_error("The 'cuda' backend is not available: " + cudaStatus().reason); }
}  // namespace

void knnGraph(const KnnGraphArgs&, int32_t*) { refuse(); }
void maxRelative(const MaxRelativeArgs&, float*, int32_t*) { refuse(); }
void maxRelativeGrad(const MaxRelativeGradArgs&, float*, float*) { refuse(); }
void roiAlign(const RoiAlignArgs&, const float*, float*) { refuse(); }
void roiAlignGrad(const RoiAlignArgs&, const float*, float*) { refuse(); }

float takeKernelMilliseconds() { return std::nanf(""); }

}  // namespace cuda
}  // namespace sacl
