// Batched dense KNN graph on the GPU (docs/ops.md, knnGraph): no N×M distance buffer anywhere.
//
// A block takes QB queries of one batch, T threads per query (T lanes of one warp). Candidates stream
// through shared memory in tiles of CT rows, D in chunks of DC: each thread accumulates the distances of
// its CT/T candidates in registers (fp32, a partial sum per chunk so the rounding error stays near
// √(D/DC + DC)·ε), then offers them to its own sorted list of the CAP best (distance, index) keys, held in
// registers (CAP is a template parameter; the insertion network is unrolled, so the list never leaves
// registers; CAP ∈ {9, 16, 20, 32, 64}). At the end the T lists of a query are merged with warp shuffles: kd rounds of a T-lane
// arg-min, the winner popping its head. Keys order ties by index, so the answer does not depend on which
// thread saw which candidate. Lists longer than 64 (which would spill) take the generic kernel (one thread
// per query, its list in a global scratch of B·N·kd entries).
//
// Distances are the CPU's forms: direct Σ(y−x)² and Σ|y−x| (no cancellation), cosine from the dot product
// and inverse norms computed first in double; normalized copies are made first when asked.
#include <cfloat>
#include <climits>
#include <cmath>

#include "cuda_common.cuh"
#include "sacl/cuda_ops.h"

#if defined(SACL_CUDA_EMULATION)
#define SACL_UNROLL
#define SACL_UNROLL_4
#else
#define SACL_UNROLL _Pragma("unroll")
#define SACL_UNROLL_4 _Pragma("unroll 4")
#endif

namespace sacl {
namespace cuda {
namespace {

constexpr int kBlock = 128;  // threads per block: QB queries × T threads
constexpr int CT = 32;       // candidates per shared-memory tile
constexpr int DC = 32;       // dimensions per chunk

using Key = Neighbour;  // ordered by before() (sacl/knn.h)

__device__ __forceinline__ float term(Metric metric, float x, float y) {
  const float t = y - x;
  return metric == Metric::Euclidean ? t * t : (metric == Metric::Manhattan ? fabsf(t) : x * y);
}

// Inverse norms of rows, and normalized copies when `copy` (sacl/knn.h prepareRow, as on the CPU).
__global__ void normsKernel(const float* __restrict__ src, int64_t rows, int64_t D, float* __restrict__ inv,
                            float* __restrict__ copy) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  inv[r] = prepareRow(src + r * D, D, copy ? copy + r * D : nullptr);
}

// The register-resident twin of insertSorted (sacl/knn.h): a fixed CAP and an unrolled network, so the
// list never leaves registers.
template <int CAP>
__device__ __forceinline__ void offer(Key (&list)[CAP], Key k) {
  if (!before(k, list[CAP - 1])) return;
  list[CAP - 1] = k;
  SACL_UNROLL
  for (int i = CAP - 1; i > 0; --i) {
    if (before(list[i], list[i - 1])) {
      const Key t = list[i];
      list[i] = list[i - 1];
      list[i - 1] = t;
    }
  }
}

// T threads per query (T divides 32), QB = kBlock / T queries per block; grid: B × ceil(N / QB).
// The minimum-blocks hint matters: with __launch_bounds__(kBlock) alone, ptxas capped some instances at 64
// registers and spilled (sm_75, sm_86, sm_89, sm_90).
template <int CAP, int T>
__global__ void __launch_bounds__(kBlock, 2) knnKernel(const float* __restrict__ x, const float* __restrict__ y,
                                                    const float* __restrict__ xInv, const float* __restrict__ yInv,
                                                    int64_t N, int64_t M, int64_t D, Metric metric, int64_t kd,
                                                    int64_t k, int64_t dilation, int32_t* __restrict__ out) {
  constexpr int QB = kBlock / T;
  constexpr int PER = CT / T;  // candidates per thread per tile
  __shared__ float xs[QB][DC + 1];
  __shared__ float ys[CT][DC + 1];

  const int tid = threadIdx.x;
  const int q = tid / T, lane = tid % T;
  const int64_t tiles = (N + QB - 1) / QB;
  const int64_t b = blockIdx.x / tiles;
  const int64_t i0 = (blockIdx.x % tiles) * QB;
  const int64_t i = i0 + q;
  const float* xb = x + b * N * D;
  const float* yb = y + b * M * D;

  Key list[CAP];
  SACL_UNROLL
  for (int s = 0; s < CAP; ++s) list[s] = Key{FLT_MAX * 2.0f, INT_MAX};  // +inf, after every real key

  for (int64_t j0 = 0; j0 < M; j0 += CT) {
    float total[PER];
    SACL_UNROLL
    for (int m = 0; m < PER; ++m) total[m] = 0.0f;
    for (int64_t d0 = 0; d0 < D; d0 += DC) {
      const int64_t dw = D - d0 < DC ? D - d0 : DC;
      // stage the chunk: queries and candidates, zero past the ends (zeros add nothing to any metric)
      for (int e = tid; e < QB * DC; e += kBlock) {
        const int r = e / DC, dd = e % DC;
        xs[r][dd] = (i0 + r < N && dd < dw) ? xb[(i0 + r) * D + d0 + dd] : 0.0f;
      }
      for (int e = tid; e < CT * DC; e += kBlock) {
        const int r = e / DC, dd = e % DC;
        ys[r][dd] = (j0 + r < M && dd < dw) ? yb[(j0 + r) * D + d0 + dd] : 0.0f;
      }
      __syncthreads();
      float part[PER];
      SACL_UNROLL
      for (int m = 0; m < PER; ++m) part[m] = 0.0f;
      SACL_UNROLL_4  // a fully unrolled chunk made ptxas spill in some instances
      for (int dd = 0; dd < DC; ++dd) {
        const float xv = xs[q][dd];
        SACL_UNROLL
        for (int m = 0; m < PER; ++m) part[m] += term(metric, xv, ys[lane + T * m][dd]);
      }
      SACL_UNROLL
      for (int m = 0; m < PER; ++m) total[m] += part[m];
      __syncthreads();  // the next chunk overwrites the tiles
    }
    if (i < N) {
      SACL_UNROLL
      for (int m = 0; m < PER; ++m) {
        const int64_t j = j0 + lane + T * m;
        float d = total[m];
        if (metric == Metric::Cosine && j < M) d = cosineDistance(d, xInv[b * N + i], yInv[b * M + j]);
        if (j < M) offer(list, Key{d, static_cast<int32_t>(j)});
      }
    }
  }

  // merge the T lists of each query: kd rounds of arg-min over the T heads
  for (int64_t s = 0; s < kd; ++s) {
    Key best = list[0];
    int owner = lane;
    SACL_UNROLL
    for (int off = 1; off < T; off <<= 1) {
      const float od = __shfl_xor_sync(0xffffffffu, best.d, off, T);
      const int32_t oj = __shfl_xor_sync(0xffffffffu, best.j, off, T);
      const int oo = __shfl_xor_sync(0xffffffffu, owner, off, T);
      const Key other{od, oj};
      if (before(other, best) || (!before(best, other) && oo < owner)) {
        best = other;
        owner = oo;
      }
    }
    if (owner == lane) {  // pop the head
      SACL_UNROLL
      for (int t = 0; t + 1 < CAP; ++t) list[t] = list[t + 1];
      list[CAP - 1] = Key{FLT_MAX * 2.0f, INT_MAX};
    }
    if (lane == 0 && i < N && s % dilation == 0) out[(b * N + i) * k + s / dilation] = best.j;
  }
}

// Long lists: one thread per query, its sorted list in global scratch.
__global__ void knnGenericKernel(const float* __restrict__ x, const float* __restrict__ y,
                                 const float* __restrict__ xInv, const float* __restrict__ yInv, int64_t B,
                                 int64_t N, int64_t M, int64_t D, Metric metric, int64_t kd, int64_t k,
                                 int64_t dilation, Key* scratch, int32_t* __restrict__ out) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= B * N) return;
  const int64_t b = row / N;
  const float* xr = x + row * D;
  Key* list = scratch + row * kd;
  int64_t count = 0;
  for (int64_t j = 0; j < M; ++j) {
    const float* yr = y + (b * M + j) * D;
    float total = 0.0f;
    for (int64_t d0 = 0; d0 < D; d0 += DC) {
      float part = 0.0f;
      const int64_t d1 = d0 + DC < D ? d0 + DC : D;
      for (int64_t d = d0; d < d1; ++d) part += term(metric, xr[d], yr[d]);
      total += part;
    }
    if (metric == Metric::Cosine) total = cosineDistance(total, xInv[row], yInv[b * M + j]);
    insertSorted(list, count, kd, Key{total, static_cast<int32_t>(j)});
  }
  for (int64_t s = 0; s < k; ++s) out[row * k + s] = list[s * dilation].j;
}

template <int CAP>
void launchTiled(const KnnGraphArgs& a, const float* x, const float* y, const float* xInv, const float* yInv,
                 Metric metric, int32_t* out, cudaStream_t s) {
  // few queries: more threads per query, so the GPU still fills up
  const bool few = a.B * a.N < 8192;
  if (few) {
    constexpr int T = 8;
    const unsigned grid = static_cast<unsigned>(a.B * ((a.N + kBlock / T - 1) / (kBlock / T)));
    const auto kernel = knnKernel<CAP, T>;
    SACL_LAUNCH(kernel, grid, kBlock, s)(x, y, xInv, yInv, a.N, a.M, a.D, metric, a.k * a.dilation, a.k, a.dilation, out);
  } else {
    constexpr int T = 4;
    const unsigned grid = static_cast<unsigned>(a.B * ((a.N + kBlock / T - 1) / (kBlock / T)));
    const auto kernel = knnKernel<CAP, T>;
    SACL_LAUNCH(kernel, grid, kBlock, s)(x, y, xInv, yInv, a.N, a.M, a.D, metric, a.k * a.dilation, a.k, a.dilation, out);
  }
}

}  // namespace

void knnGraph(const KnnGraphArgs& a, int32_t* out) {
  const bool self = a.y == a.x;
  const int64_t nx = a.B * a.N * a.D, ny = a.B * a.M * a.D, kd = a.k * a.dilation;
  const bool needNorms = a.metric == Metric::Cosine || a.normalize;
  const bool copy = a.normalize;  // cosine too: its dot products then stay in float32's range
  Stream s;
  DeviceBuffer<float> x(nx), y(self ? 0 : ny);
  DeviceBuffer<float> xInv(needNorms ? a.B * a.N : 0), yInv(needNorms && !self ? a.B * a.M : 0);
  DeviceBuffer<float> xn(copy ? nx : 0), yn(copy && !self ? ny : 0);
  DeviceBuffer<int32_t> o(a.B * a.N * a.k);
  s.upload(x, a.x);
  if (!self) s.upload(y, a.y);
  const float* dx = x.get();
  const float* dy = self ? x.get() : y.get();
  const float* dxInv = xInv.get();
  const float* dyInv = self ? xInv.get() : yInv.get();
  s.beginKernels();
  if (needNorms) {
    SACL_LAUNCH(normsKernel, blocksFor(a.B * a.N, 128), 128, s.get())(dx, a.B * a.N, a.D, xInv.get(), copy ? xn.get() : nullptr);
    SACL_CUDA_LAUNCHED(s.get());
    if (!self) {
      SACL_LAUNCH(normsKernel, blocksFor(a.B * a.M, 128), 128, s.get())(dy, a.B * a.M, a.D, yInv.get(), copy ? yn.get() : nullptr);
      SACL_CUDA_LAUNCHED(s.get());
    }
    if (copy) {
      dx = xn.get();
      dy = self ? xn.get() : yn.get();
    }
  }
  if (kd <= 9) launchTiled<9>(a, dx, dy, dxInv, dyInv, a.metric, o.get(), s.get());
  else if (kd <= 16) launchTiled<16>(a, dx, dy, dxInv, dyInv, a.metric, o.get(), s.get());
  else if (kd <= 20) launchTiled<20>(a, dx, dy, dxInv, dyInv, a.metric, o.get(), s.get());
  else if (kd <= 32) launchTiled<32>(a, dx, dy, dxInv, dyInv, a.metric, o.get(), s.get());
  else if (kd <= 64) launchTiled<64>(a, dx, dy, dxInv, dyInv, a.metric, o.get(), s.get());
  else {
    DeviceBuffer<Key> scratch(a.B * a.N * kd);
    SACL_LAUNCH(knnGenericKernel, blocksFor(a.B * a.N, 128), 128, s.get())
    (dx, dy, dxInv, dyInv, a.B, a.N, a.M, a.D, a.metric, kd, a.k, a.dilation, scratch.get(), o.get());
    SACL_CUDA_LAUNCHED(s.get());
    s.endKernels();
    s.download(out, o);
    s.sync();  // before the scratch is freed
    return;
  }
  SACL_CUDA_LAUNCHED(s.get());
  s.endKernels();
  s.download(out, o);
  s.sync();
}

}  // namespace cuda
}  // namespace sacl
