// roiAlign's and roiAlignGrad's dispatchers (sacl/ops.h): the op on the CPU or CUDA.
#include "sacl/cuda_ops.h"
#include "sacl/ops.h"

namespace sacl {

void roiAlign(Device device, const RoiAlignArgs& a, const float* features, float* out) {
  if (device == Device::Cuda) return cuda::roiAlign(a, features, out);
  cpu::roiAlign(a, features, out);
}

void roiAlignGrad(Device device, const RoiAlignArgs& a, const float* dOut, float* dFeatures) {
  if (device == Device::Cuda) return cuda::roiAlignGrad(a, dOut, dFeatures);
  cpu::roiAlignGrad(a, dOut, dFeatures);
}

}  // namespace sacl
