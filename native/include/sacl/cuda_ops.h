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

SACL_GRAPH_OP_ENTRY_POINTS  // sacl/ops.h

// Milliseconds the kernels of every call finished since the last take, host↔device copies excluded, and
// reset (NaN when no call finished since).
float takeKernelMilliseconds();

}  // namespace cuda
}  // namespace sacl
