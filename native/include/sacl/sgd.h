// The optimizer's fused kernels behind src/tf/kernels/sgd.ts (src/train/optimizer.ts, NesterovSgd): the
// gradient statistics it reads back and the Nesterov SGD update, float32, over many tensors in one call.
// Work is split into fixed blocks of every tensor (independent of the thread count): the update writes each
// element from one thread, and the statistics add per-block double partials in block order, so results
// are the same bits for any thread count.
#pragma once
#include <cstdint>

namespace sacl {

// One parameter of an update: w, its gradient g and momentum buffer buf (null on its first step, when
// buf = d), all of length n; the new w and buf go to wOut and bufOut.
struct SgdParam {
  const float* w;
  const float* g;
  const float* buf;
  float* wOut;
  float* bufOut;
  int64_t n;
};

// PyTorch's SGD(nesterov=True) after clip_grad_norm_, in float32, in this order:
//   d = g·scale (+ w·weightDecay when weightDecay ≠ 0);  buf = buf·momentum + d (d on the first step);
//   w = w − (d + buf·momentum)·lr
struct SgdHyper {
  float lr, momentum, weightDecay, scale;
};

namespace cpu {

// out[0] = Σ over every tensor of Σ g² (accumulated in double), out[1 + t] = max |g| of tensor t (NaN when
// it holds a NaN; 0 for an empty one).
void sgdStats(const float* const* grads, const int64_t* lengths, int64_t count, float* out);

void sgdUpdate(const SgdParam* params, int64_t count, const SgdHyper& h);

}  // namespace cpu
}  // namespace sacl
