// ROI align and its gradient on the GPU (docs/ops.md, roiAlign). Taps, weights and the border rule come from
// sacl/bilinear.h, the same header the CPU kernels use, in double; built with --fmad=false, both
// directions are bit-identical to the float64 reference.
//
// Forward: one thread per output element (b, r, v, u, c), channels fastest, so the four tap rows are read
// coalesced. Backward: one thread owns a (b, c) column and walks every sample in output order, adding
// into a double scratch map: no atomics, the reference's order of additions, deterministic.
#include "cuda_common.cuh"
#include "sacl/bilinear.h"
#include "sacl/cuda_ops.h"

namespace sacl {
namespace cuda {
namespace {

constexpr unsigned kThreads = 256;

__global__ void roiAlignKernel(const float* __restrict__ f, const float* __restrict__ centers, int64_t B,
                               int64_t H, int64_t W, int64_t C, int64_t R, int64_t S, double step,
                               float* __restrict__ out) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= B * R * S * S * C) return;
  const int64_t c = t % C, sample = (t / C) % (S * S), roi = t / (C * S * S), b = roi / R;
  const double cx = centers[roi * 2], cy = centers[roi * 2 + 1];
  BilinearTaps tp;
  if (!bilinearTaps(samplePosition(cy, sample / S, S, step), samplePosition(cx, sample % S, S, step), H, W, &tp)) {
    out[t] = 0.0f;
    return;
  }
  const float* fb = f + b * H * W * C + c;
  out[t] = static_cast<float>(tp.w00 * fb[(tp.y0 * W + tp.x0) * C] + tp.w01 * fb[(tp.y0 * W + tp.x1) * C] +
                              tp.w10 * fb[(tp.y1 * W + tp.x0) * C] + tp.w11 * fb[(tp.y1 * W + tp.x1) * C]);
}

__global__ void roiAlignGradKernel(const float* __restrict__ dOut, const float* __restrict__ centers, int64_t B,
                                   int64_t H, int64_t W, int64_t C, int64_t R, int64_t S, double step,
                                   double* acc) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= B * C) return;
  const int64_t b = t / C, c = t % C;
  double* ab = acc + b * H * W * C + c;
  for (int64_t r = 0; r < R; ++r) {
    const double cx = centers[(b * R + r) * 2], cy = centers[(b * R + r) * 2 + 1];
    for (int64_t sample = 0; sample < S * S; ++sample) {
      BilinearTaps tp;
      if (!bilinearTaps(samplePosition(cy, sample / S, S, step), samplePosition(cx, sample % S, S, step), H, W, &tp)) {
        continue;
      }
      const double g = dOut[((b * R + r) * S * S + sample) * C + c];
      // the taps may share a cell at the border: one at a time, in the reference's order
      ab[(tp.y0 * W + tp.x0) * C] += tp.w00 * g;
      ab[(tp.y0 * W + tp.x1) * C] += tp.w01 * g;
      ab[(tp.y1 * W + tp.x0) * C] += tp.w10 * g;
      ab[(tp.y1 * W + tp.x1) * C] += tp.w11 * g;
    }
  }
}

}  // namespace

void roiAlign(const RoiAlignArgs& a, const float* features, float* out) {
  const int64_t nf = a.B * a.H * a.W * a.C, no = a.B * a.R * a.S * a.S * a.C;
  Stream s;
  DeviceBuffer<float> f(nf), centers(a.B * a.R * 2), o(no);
  s.upload(f, features);
  s.upload(centers, a.centers);
  s.beginKernels();
  SACL_LAUNCH(roiAlignKernel, blocksFor(no, kThreads), kThreads, s.get())
  (f.get(), centers.get(), a.B, a.H, a.W, a.C, a.R, a.S, a.step, o.get());
  SACL_CUDA_LAUNCHED(s.get());
  s.endKernels();
  s.download(out, o);
  s.sync();
}

void roiAlignGrad(const RoiAlignArgs& a, const float* dOut, float* dFeatures) {
  const int64_t nf = a.B * a.H * a.W * a.C, no = a.B * a.R * a.S * a.S * a.C;
  Stream s;
  DeviceBuffer<float> g(no), centers(a.B * a.R * 2), df(nf);
  DeviceBuffer<double> acc(nf);
  s.upload(g, dOut);
  s.upload(centers, a.centers);
  s.beginKernels();
  SACL_CUDA_CHECK(cudaMemsetAsync(acc.get(), 0, acc.bytes(), s.get()));
  SACL_LAUNCH(roiAlignGradKernel, blocksFor(a.B * a.C, kThreads), kThreads, s.get())
  (g.get(), centers.get(), a.B, a.H, a.W, a.C, a.R, a.S, a.step, acc.get());
  SACL_CUDA_LAUNCHED(s.get());
  narrow(acc.get(), nf, df.get(), s.get());
  s.endKernels();
  s.download(dFeatures, df);
  s.sync();
}

}  // namespace cuda
}  // namespace sacl
