// Max-Relative aggregation and its gradient on the GPU (docs/ops.md, maxRelative).
//
// Forward: one thread per output element (b, i, c); consecutive threads take consecutive channels, so
// every neighbour row is read coalesced; the winning slots stay one byte each on the device when K ≤ 256. Backward: one thread owns a (b, c) column and walks the rows i in
// order, accumulating in double: no atomics, a fixed order of additions, the reference's order, hence
// gradients that are bit-identical from run to run and to the float64 reference.
#include <vector>

#include "cuda_common.cuh"
#include "sacl/cuda_ops.h"

namespace sacl {
namespace cuda {
namespace {

constexpr unsigned kThreads = 256;

// Slot indices on the device: one byte each when K ≤ 256 (a quarter of the argmax traffic over PCIe, both
// ways), int32 otherwise; the host side of the API stays Int32.
template <class Slot>
__global__ void maxRelativeKernel(const float* __restrict__ x, const float* __restrict__ y,
                                  const int32_t* __restrict__ idx, int64_t B, int64_t N, int64_t M, int64_t C,
                                  int64_t K, float* __restrict__ out, Slot* __restrict__ argmax) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= B * N * C) return;
  const int64_t c = t % C, row = t / C, b = row / N;
  const int32_t* nb = idx + row * K;
  float best = y[(b * M + nb[0]) * C + c];
  int32_t win = 0;
  // only a strictly larger value replaces the winner: ties go to the lowest slot (as on the CPU)
  for (int64_t s = 1; s < K; ++s) {
    const float v = y[(b * M + nb[s]) * C + c];
    if (v > best) {
      best = v;
      win = static_cast<int32_t>(s);
    }
  }
  out[t] = best - x[t];
  argmax[t] = static_cast<Slot>(win);
}

// gy == gx when the neighbours are x itself (then −dOut and the scatter land in one buffer, in order).
template <class Slot>
__global__ void maxRelativeGradKernel(const float* __restrict__ dOut, const int32_t* __restrict__ idx,
                                      const Slot* __restrict__ argmax, int64_t B, int64_t N, int64_t M,
                                      int64_t C, int64_t K, double* gx, double* gy) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= B * C) return;
  const int64_t b = t / C, c = t % C;
  for (int64_t i = 0; i < N; ++i) {
    const int64_t o = (b * N + i) * C + c;
    const double g = dOut[o];
    gx[o] -= g;
    const int64_t j = idx[(b * N + i) * K + argmax[o]];
    gy[(b * M + j) * C + c] += g;
  }
}

constexpr int64_t kByteSlots = 256;  // K up to this fits a uint8_t slot index

template <class Slot>
void forward(const MaxRelativeArgs& a, float* out, int32_t* argmax) {
  const bool self = a.y == a.x;
  const int64_t nx = a.B * a.N * a.C, ny = a.B * a.M * a.C;
  Stream s;
  DeviceBuffer<float> x(nx), y(self ? 0 : ny), o(nx);
  DeviceBuffer<int32_t> idx(a.B * a.N * a.K);
  DeviceBuffer<Slot> am(nx);
  s.upload(x, a.x);
  if (!self) s.upload(y, a.y);
  s.upload(idx, a.idx);
  s.beginKernels();
  const auto kernel = maxRelativeKernel<Slot>;
  SACL_LAUNCH(kernel, blocksFor(nx, kThreads), kThreads, s.get())
  (x.get(), self ? x.get() : y.get(), idx.get(), a.B, a.N, a.M, a.C, a.K, o.get(), am.get());
  SACL_CUDA_LAUNCHED(s.get());
  s.endKernels();
  s.download(out, o);
  if constexpr (sizeof(Slot) == sizeof(int32_t)) {
    s.download(argmax, am);
    s.sync();
  } else {
    std::vector<Slot> slots(nx);
    s.download(slots.data(), am);
    s.sync();
    for (int64_t t = 0; t < nx; ++t) argmax[t] = slots[t];
  }
}

template <class Slot>
void backward(const MaxRelativeGradArgs& a, float* dx, float* dy) {
  const int64_t nx = a.B * a.N * a.C, ny = a.B * a.M * a.C;
  Stream s;
  DeviceBuffer<float> g(nx), fx(nx), fy(dy ? ny : 0);
  DeviceBuffer<int32_t> idx(a.B * a.N * a.K);
  DeviceBuffer<Slot> am(nx);
  DeviceBuffer<double> gx(nx), gy(dy ? ny : 0);
  s.upload(g, a.dOut);
  s.upload(idx, a.idx);
  std::vector<Slot> slots;
  if constexpr (sizeof(Slot) == sizeof(int32_t)) {
    s.upload(am, a.argmax);
  } else {
    slots.assign(a.argmax, a.argmax + nx);  // the binding checked every entry is in [0, K)
    s.upload(am, slots.data());
  }
  s.beginKernels();
  SACL_CUDA_CHECK(cudaMemsetAsync(gx.get(), 0, gx.bytes(), s.get()));
  if (dy) SACL_CUDA_CHECK(cudaMemsetAsync(gy.get(), 0, gy.bytes(), s.get()));
  const auto kernel = maxRelativeGradKernel<Slot>;
  SACL_LAUNCH(kernel, blocksFor(a.B * a.C, kThreads), kThreads, s.get())
  (g.get(), idx.get(), am.get(), a.B, a.N, a.M, a.C, a.K, gx.get(), dy ? gy.get() : gx.get());
  SACL_CUDA_LAUNCHED(s.get());
  narrow(gx.get(), nx, fx.get(), s.get());
  if (dy) narrow(gy.get(), ny, fy.get(), s.get());
  s.endKernels();
  s.download(dx, fx);
  if (dy) s.download(dy, fy);
  s.sync();  // also keeps `slots` alive until the upload has run
}

}  // namespace

void maxRelative(const MaxRelativeArgs& a, float* out, int32_t* argmax) {
  if (a.K <= kByteSlots) forward<uint8_t>(a, out, argmax);
  else forward<int32_t>(a, out, argmax);
}

void maxRelativeGrad(const MaxRelativeGradArgs& a, float* dx, float* dy) {
  if (a.K <= kByteSlots) backward<uint8_t>(a, dx, dy);
  else backward<int32_t>(a, dx, dy);
}

}  // namespace cuda
}  // namespace sacl
