#include "sacl/device.h"

#if defined(SACL_WITH_CUDA)
#include "sacl/cuda_ops.h"
#endif

namespace sacl {

const CudaStatus& cudaStatus() {
  static const CudaStatus status = [] {
#if defined(SACL_WITH_CUDA)
    return cuda::probe();
#else
    return CudaStatus{false, false, 0,
                      "this build has no CUDA kernels: rebuild with `npm run build:native` on a machine where nvcc "
                      "(the CUDA toolkit) is installed"};
#endif
  }();
  return status;
}

}  // namespace sacl
