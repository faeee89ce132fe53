// Device probing for backends() (sacl/device.h; a binary with CUDA kernels loads on machines without a GPU
// or driver), kernel timing, and the small kernels every op family shares.
#include <cmath>
#include <mutex>

#include "cuda_common.cuh"
#include "sacl/cuda_ops.h"

namespace sacl {
namespace cuda {

namespace {

__global__ void narrowKernel(const double* __restrict__ src, int64_t n, float* __restrict__ dst) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < n) dst[t] = static_cast<float>(src[t]);
}

std::mutex kernelTimeMutex;
double kernelMs = 0;
bool kernelTimed = false;
}  // namespace

float takeKernelMilliseconds() {
  std::lock_guard<std::mutex> lock(kernelTimeMutex);
  const float ms = kernelTimed ? static_cast<float>(kernelMs) : NAN;
  kernelMs = 0;
  kernelTimed = false;
  return ms;
}

void addKernelMilliseconds(float ms) {
  std::lock_guard<std::mutex> lock(kernelTimeMutex);
  kernelMs += ms;
  kernelTimed = true;
}

void narrow(const double* src, int64_t n, float* dst, cudaStream_t stream) {
  SACL_LAUNCH(narrowKernel, blocksFor(n, 256), 256, stream)(src, n, dst);
  SACL_CUDA_LAUNCHED(stream);
}

namespace {

CudaStatus probe() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls are not blamed for it
    return CudaStatus{true, false, 0, std::string("no usable CUDA device: ") + cudaGetErrorString(e)};
  }
  if (n == 0) return CudaStatus{true, false, 0, "no CUDA device found"};
  return CudaStatus{true, true, n, ""};
}

}  // namespace
}  // namespace cuda

// Probed once (a binary with CUDA kernels still loads without a GPU).
const CudaStatus& cudaStatus() {
  static const CudaStatus status = cuda::probe();
  return status;
}

}  // namespace sacl
