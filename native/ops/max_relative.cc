// maxRelative's and maxRelativeGrad's dispatchers (sacl/ops.h): the op on the CPU or CUDA.
#include "sacl/cuda_ops.h"
#include "sacl/ops.h"

namespace sacl {

void maxRelative(Device device, const MaxRelativeArgs& a, float* out, int32_t* argmax) {
  if (device == Device::Cuda) return cuda::maxRelative(a, out, argmax);
  cpu::maxRelative(a, out, argmax);
}

void maxRelativeGrad(Device device, const MaxRelativeGradArgs& a, float* dx, float* dy) {
  if (device == Device::Cuda) return cuda::maxRelativeGrad(a, dx, dy);
  cpu::maxRelativeGrad(a, dx, dy);
}

}  // namespace sacl
