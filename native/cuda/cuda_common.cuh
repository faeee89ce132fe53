// Device memory, streams and error checks in one place for every CUDA launcher. Every runtime call and
// every launch goes through SACL_CUDA_CHECK; with SACL_CUDA_SYNC=1 in the environment each launch is also
// synchronized, so an error points at the kernel that caused it.
#pragma once
#if !defined(SACL_CUDA_EMULATION)
#include <cuda_runtime.h>
#define SACL_LAUNCH(kernel, grid, block, stream) kernel<<<(grid), (block), 0, (stream)>>>
#endif

#include <cstdint>

#include "sacl/cuda_ops.h"
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace sacl {
namespace cuda {

[[noreturn]] inline void fail(cudaError_t e, const char* what, const char* file, int line) {
  throw std::runtime_error(std::string("CUDA error in ") + what + " (" + file + ":" + std::to_string(line) +
                           "): " + cudaGetErrorString(e));
}

#define SACL_CUDA_CHECK(expr)                                                           \
  do {                                                                                  \
    const cudaError_t sacl_e_ = (expr);                                                 \
    if (sacl_e_ != cudaSuccess) ::sacl::cuda::fail(sacl_e_, #expr, __FILE__, __LINE__); \
  } while (0)

inline bool syncEveryLaunch() {
  static const bool on = [] {
    const char* v = std::getenv("SACL_CUDA_SYNC");
    return v && v[0] == '1';
  }();
  return on;
}

// After a launch: the launch error, and with SACL_CUDA_SYNC=1 the execution error too.
#define SACL_CUDA_LAUNCHED(stream)                                                       \
  do {                                                                                   \
    SACL_CUDA_CHECK(cudaGetLastError());                                                 \
    if (::sacl::cuda::syncEveryLaunch()) SACL_CUDA_CHECK(cudaStreamSynchronize(stream)); \
  } while (0)

// A device allocation freed on scope exit.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count) {
    void* p = nullptr;
    SACL_CUDA_CHECK(cudaMalloc(&p, count * sizeof(T) + (count == 0)));
    p_ = static_cast<T*>(p);
  }
  ~DeviceBuffer() { cudaFree(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return p_; }
  size_t bytes() const { return count_ * sizeof(T); }

 private:
  T* p_ = nullptr;
  size_t count_;
};

void addKernelMilliseconds(float ms);  // takeKernelMilliseconds() is in sacl/cuda_ops.h

// One stream per call; the destructor waits for it, so buffers never die under running work. Events
// around the kernels (beginKernels / endKernels) time them without the copies.
class Stream {
 public:
  Stream() {
    SACL_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking));
    SACL_CUDA_CHECK(cudaEventCreate(&start_));
    SACL_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~Stream() {
    cudaStreamSynchronize(s_);
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
    cudaStreamDestroy(s_);
  }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return s_; }
  void beginKernels() {
    SACL_CUDA_CHECK(cudaEventRecord(start_, s_));
    timed_ = true;
  }
  void endKernels() const { SACL_CUDA_CHECK(cudaEventRecord(stop_, s_)); }
  void sync() const {
    SACL_CUDA_CHECK(cudaStreamSynchronize(s_));
    if (timed_) {
      float ms = 0;
      SACL_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
      addKernelMilliseconds(ms);
    }
  }

  template <class T>
  void upload(DeviceBuffer<T>& dst, const T* src) const {
    SACL_CUDA_CHECK(cudaMemcpyAsync(dst.get(), src, dst.bytes(), cudaMemcpyHostToDevice, s_));
  }
  template <class T>
  void download(T* dst, const DeviceBuffer<T>& src) const {
    SACL_CUDA_CHECK(cudaMemcpyAsync(dst, src.get(), src.bytes(), cudaMemcpyDeviceToHost, s_));
  }

 private:
  cudaStream_t s_ = nullptr;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
  bool timed_ = false;
};

inline unsigned blocksFor(int64_t work, unsigned threads) {
  return static_cast<unsigned>((work + threads - 1) / threads);
}

// dst[t] = float(src[t]) for t < n, on the stream: the double accumulators of the backward kernels back to
// their float outputs (device.cu).
void narrow(const double* src, int64_t n, float* dst, cudaStream_t stream);

}  // namespace cuda
}  // namespace sacl
