// Argument structs of the graph ops and GEMM, each op's dispatcher (device → cpu | cuda, native/ops/) and
// the CPU entry points (native/cpu/). Every struct holds sizes the caller has checked (the bindings'
// checks, native/addon/args.h) and raw pointers the caller keeps alive for the duration of the call.
#pragma once
#include <cstdint>

#include "sacl/common.h"
#include "sacl/knn.h"

namespace sacl {

struct KnnGraphArgs {
  const float* x;  // [B, N, D]
  const float* y;  // [B, M, D]; equal to x when the candidates are x itself
  int64_t B, N, M, D;
  int64_t k, dilation;
  Metric metric;
  bool normalize;
};

struct MaxRelativeArgs {
  const float* x;      // [B, N, C]
  const float* y;      // [B, M, C]; equal to x when idx points into x
  const int32_t* idx;  // [B, N, K], every entry in [0, M)
  int64_t B, N, M, C, K;
};

struct MaxRelativeGradArgs {
  const float* dOut;      // [B, N, C]
  const int32_t* idx;     // [B, N, K], every entry in [0, M)
  const int32_t* argmax;  // [B, N, C], every entry in [0, K)
  int64_t B, N, M, C, K;
};

struct RoiAlignArgs {
  const float* centers;  // [B, R, 2] as (x, y), all finite
  int64_t B, H, W, C, R, S;
  double step;
};

// An op(A) that is gathered as the product packs it instead of being stored (a convolution's im2col matrix,
// whose rows would be KH·KW times its input's size): fill(ctx, m0, rows, k0, kc, dst, stride) writes
// op(A)(m0 + i, k0 + k) to dst[k · stride + i] for i < rows, k < kc, with rows ≤ kGemmGatherMaxRows.
constexpr int64_t kGemmGatherMaxRows = 8;
struct GemmGather {
  void (*fill)(const void* ctx, int64_t m0, int64_t rows, int64_t k0, int64_t kc, float* dst, int64_t stride);
  const void* ctx;
};

// C[i] = op(A[i]) · op(B[i]) for i < max(batchA, batchB), row-major; a batch of 1 is broadcast.
// op(A) is M × K (A stored K × M when transA), op(B) is K × N (B stored N × K when transB). With gatherA set,
// a and transA are not read: op(A) comes from the gather (batchA 1).
struct GemmArgs {
  const float* a;
  const float* b;
  int64_t batchA, batchB, M, N, K;
  bool transA, transB;
  const GemmGather* gatherA = nullptr;
};

// The dispatchers: the op on `device` (Device::Cuda only when cudaStatus().available). Same outputs as the
// entry points below.
void knnGraph(Device device, const KnnGraphArgs& a, int32_t* out);
void maxRelative(Device device, const MaxRelativeArgs& a, float* out, int32_t* argmax);
void maxRelativeGrad(Device device, const MaxRelativeGradArgs& a, float* dx, float* dy);
void roiAlign(Device device, const RoiAlignArgs& a, const float* features, float* out);
void roiAlignGrad(Device device, const RoiAlignArgs& a, const float* dOut, float* dFeatures);

// The graph ops' entry points, declared alike in each device's namespace (cpu here, cuda in cuda_ops.h):
//   knnGraph         out: Int32 [B, N, k]
//   maxRelative      out, argmax: [B, N, C]
//   maxRelativeGrad  dx: [B, N, C]; dy: [B, M, C], or nullptr when the neighbours are x (their gradient
//                    then lands in dx)
//   roiAlign         features: [B, H, W, C]; out: [B, R, S, S, C]
//   roiAlignGrad     dOut: [B, R, S, S, C]; dFeatures: [B, H, W, C] (fully overwritten)
#define SACL_GRAPH_OP_ENTRY_POINTS                                            \
  void knnGraph(const KnnGraphArgs& a, int32_t* out);                         \
  void maxRelative(const MaxRelativeArgs& a, float* out, int32_t* argmax);    \
  void maxRelativeGrad(const MaxRelativeGradArgs& a, float* dx, float* dy);   \
  void roiAlign(const RoiAlignArgs& a, const float* features, float* out);   \
  void roiAlignGrad(const RoiAlignArgs& a, const float* dOut, float* dFeatures);

namespace cpu {

SACL_GRAPH_OP_ENTRY_POINTS

// c: [max(batchA, batchB), M, N], fully overwritten.
void gemm(const GemmArgs& g, float* c);
// Whether gemm, given a gather of `stored`'s op(A) instead, takes the path it takes for `stored`, and so gives
// the same bits: not where `stored` takes the narrow path (N or M at most 16), which reads op(A) in place.
bool gemmCanGather(const GemmArgs& stored);

// Name of the instruction set the KNN distance tiles dispatched to ("avx512", "avx2" or "generic").
const char* knnIsa();

}  // namespace cpu
}  // namespace sacl
