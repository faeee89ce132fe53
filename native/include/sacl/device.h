// Which devices this build can run on. The CUDA runtime is linked statically and probed once at load, so
// one binary loads (CPU only) on machines without a GPU or a driver. Implemented beside the kernels: by
// native/cuda/device.cu in CUDA builds, by native/cuda/no_cuda.cc (compiled: false) in CPU-only builds.
#pragma once
#include <string>

#include "sacl/common.h"

namespace sacl {

struct CudaStatus {
  bool compiled;    // CUDA kernels are built into this binary
  bool available;   // and a usable device was found
  int devices;      // CUDA devices seen
  std::string reason;  // why not available (empty when available)
};

const CudaStatus& cudaStatus();

}  // namespace sacl
