// copyStrided, gather, unsortedSegmentSum, resizeBilinear, resizeBilinearGrad, maxPool, maxPoolGrad, avgPool and avgPoolGrad:
// the data movement, resizing and pooling kernels
// behind src/tf/kernels/movement.ts. Synchronous only, like every tfjs kernel: the arrays may be views of
// a tfjs backend's memory that stay valid only until JavaScript runs again.
#include <string>

#include "args.h"
#include "bindings.h"
#include "sacl/common.h"
#include "sacl/movement.h"

namespace sacl {
namespace addon {

namespace {

// The last word a strided copy touches must lie within the array (shape has no zero size).
void checkReach(Napi::Env env, const char* name, int64_t length, int64_t offset, const int64_t* strides,
                const int64_t* shape, int rank) {
  int64_t last = offset;  // each term ≤ 2^31 · 2^31, at most 17 of them: no int64 overflow
  for (int a = 0; a < rank; ++a) last += (shape[a] - 1) * strides[a];
  if (last >= length) {
    throwRange(env, std::string(name) + ".length", "more than " + std::to_string(last) + " (the last word the copy reaches)",
               std::to_string(length));
  }
}

// The geometry arguments info[first ..] of the pools and their gradients, checked.
// The shapes of a pool's input map and of its output windows.
Dims mapDims(const Pool2D& p) { return Dims{{{"B", p.batch}, {"H", p.inHeight}, {"W", p.inWidth}, {"C", p.channels}}}; }
Dims windowDims(const Pool2D& p) {
  return Dims{{{"B", p.batch}, {"outH", p.outHeight}, {"outW", p.outWidth}, {"C", p.channels}}};
}

Pool2D readPool(const Napi::CallbackInfo& info, size_t first) {
  constexpr int64_t kMax = kMaxElements;
  Pool2D p;
  p.batch = requireInteger(info, first, "batch", 1, kMax);
  p.inHeight = requireInteger(info, first + 1, "inHeight", 1, kMax);
  p.inWidth = requireInteger(info, first + 2, "inWidth", 1, kMax);
  p.channels = requireInteger(info, first + 3, "channels", 1, kMax);
  p.outHeight = requireInteger(info, first + 4, "outHeight", 1, kMax);
  p.outWidth = requireInteger(info, first + 5, "outWidth", 1, kMax);
  p.filterHeight = requireInteger(info, first + 6, "filterHeight", 1, kMax);
  p.filterWidth = requireInteger(info, first + 7, "filterWidth", 1, kMax);
  p.strideHeight = requireInteger(info, first + 8, "strideHeight", 1, kMax);
  p.strideWidth = requireInteger(info, first + 9, "strideWidth", 1, kMax);
  p.padTop = requireInteger(info, first + 10, "padTop", 0, kMax);
  p.padLeft = requireInteger(info, first + 11, "padLeft", 0, kMax);
  checkElements(info.Env(), "input", mapDims(p));
  checkElements(info.Env(), "output", windowDims(p));
  return p;
}

// maxPool, avgPool (x → out) and avgPoolGrad (dy → dx): one array in, one out, the geometry at info[1…12].
template <class Kernel>
Napi::Value poolCall(const Napi::CallbackInfo& info, const char* inName, const char* outName, bool grad, Kernel kernel) {
  requireCount(info, 14);
  const auto in = requireFloat32(info, 0, inName);
  const Pool2D p = readPool(info, 1);
  const auto out = requireFloat32(info, 13, outName);
  checkLength(info.Env(), inName, in, grad ? windowDims(p) : mapDims(p));
  checkLength(info.Env(), outName, out, grad ? mapDims(p) : windowDims(p));
  kernel(in.data, p, out.data);
  return info.Env().Undefined();
}

}  // namespace

Napi::Value copyStrided(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 7);
  const auto src = requireFloat32(info, 0, "src");
  const int64_t srcOffset = requireInteger(info, 1, "srcOffset", 0, kMaxElements);
  int64_t srcStrides[kMaxCopyRank], dstStrides[kMaxCopyRank], shape[kMaxCopyRank];
  const int rs = requireIntList(info, 2, "srcStrides", "integers", "an integer ≥ 0", 0, kMaxElements, kMaxCopyRank, srcStrides);
  const auto dst = requireFloat32(info, 3, "dst");
  const int64_t dstOffset = requireInteger(info, 4, "dstOffset", 0, kMaxElements);
  const int rd = requireIntList(info, 5, "dstStrides", "integers", "an integer ≥ 0", 0, kMaxElements, kMaxCopyRank, dstStrides);
  const int rank = requireIntList(info, 6, "shape", "integers", "an integer ≥ 0", 0, kMaxElements, kMaxCopyRank, shape);
  if (rs != rank) throwRange(env, "srcStrides.length", std::to_string(rank) + " (shape.length)", std::to_string(rs));
  if (rd != rank) throwRange(env, "dstStrides.length", std::to_string(rank) + " (shape.length)", std::to_string(rd));
  for (int a = 0; a < rank; ++a) {
    if (shape[a] == 0) return env.Undefined();  // nothing to copy
  }
  checkReach(env, "src", src.length, srcOffset, srcStrides, shape, rank);
  checkReach(env, "dst", dst.length, dstOffset, dstStrides, shape, rank);
  cpu::copyStrided(reinterpret_cast<const uint32_t*>(src.data) + srcOffset, srcStrides,
                   reinterpret_cast<uint32_t*>(dst.data) + dstOffset, dstStrides, shape, rank);
  return env.Undefined();
}

namespace {

// resizeBilinear (x → out) and its gradient (dy → dx) take the same ten arguments: the source array, the
// sizes, the two flags, the destination array. `grad` says which side has the input image's shape.
template <typename Kernel>
Napi::Value resizeCall(const Napi::CallbackInfo& info, const char* srcName, const char* dstName, bool grad, Kernel kernel) {
  Napi::Env env = info.Env();
  requireCount(info, 10);
  constexpr int64_t kMax = kMaxElements;
  const auto src = requireFloat32(info, 0, srcName);
  const int64_t B = requireInteger(info, 1, "batch", 1, kMax), H = requireInteger(info, 2, "inHeight", 1, kMax);
  const int64_t W = requireInteger(info, 3, "inWidth", 1, kMax), C = requireInteger(info, 4, "channels", 1, kMax);
  const int64_t outH = requireInteger(info, 5, "outHeight", 1, kMax), outW = requireInteger(info, 6, "outWidth", 1, kMax);
  const bool alignCorners = requireBool(info, 7, "alignCorners");
  const bool halfPixelCenters = requireBool(info, 8, "halfPixelCenters");
  const auto dst = requireFloat32(info, 9, dstName);
  const Dims in{{{"B", B}, {"H", H}, {"W", W}, {"C", C}}}, o{{{"B", B}, {"outH", outH}, {"outW", outW}, {"C", C}}};
  const Dims& srcDims = grad ? o : in;
  const Dims& dstDims = grad ? in : o;
  checkElements(env, srcName, srcDims);
  checkElements(env, dstName, dstDims);
  checkLength(env, srcName, src, srcDims);
  checkLength(env, dstName, dst, dstDims);
  kernel(src.data, B, H, W, C, outH, outW, alignCorners, halfPixelCenters, dst.data);
  return env.Undefined();
}

}  // namespace

Napi::Value resizeBilinear(const Napi::CallbackInfo& info) { return resizeCall(info, "x", "out", false, cpu::resizeBilinear); }
Napi::Value resizeBilinearGrad(const Napi::CallbackInfo& info) { return resizeCall(info, "dy", "dx", true, cpu::resizeBilinearGrad); }

Napi::Value maxPool(const Napi::CallbackInfo& info) { return poolCall(info, "x", "out", false, cpu::maxPool); }
Napi::Value avgPool(const Napi::CallbackInfo& info) { return poolCall(info, "x", "out", false, cpu::avgPool); }
Napi::Value avgPoolGrad(const Napi::CallbackInfo& info) { return poolCall(info, "dy", "dx", true, cpu::avgPoolGrad); }

Napi::Value maxPoolGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 15);
  const auto dy = requireFloat32(info, 0, "dy");
  const auto x = requireFloat32(info, 1, "x");
  const Pool2D p = readPool(info, 2);
  const auto dx = requireFloat32(info, 14, "dx");
  checkLength(env, "dy", dy, windowDims(p));
  checkLength(env, "x", x, mapDims(p));
  checkLength(env, "dx", dx, mapDims(p));
  cpu::maxPoolGrad(dy.data, x.data, p, dx.data);
  return env.Undefined();
}

Napi::Value gather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 8);
  constexpr int64_t kMax = kMaxElements;
  const auto x = requireFloat32(info, 0, "x");
  const auto indices = requireInt32(info, 1, "indices");
  const int64_t batch = requireInteger(info, 2, "batch", 1, kMax), outer = requireInteger(info, 3, "outer", 1, kMax);
  const int64_t dimSize = requireInteger(info, 4, "dimSize", 1, kMax), slice = requireInteger(info, 5, "slice", 1, kMax);
  const int64_t count = requireInteger(info, 6, "count", 1, kMax);
  const auto out = requireFloat32(info, 7, "out");
  const Dims xd{{{"batch", batch}, {"outer", outer}, {"dimSize", dimSize}, {"slice", slice}}};
  const Dims id{{{"batch", batch}, {"count", count}}};
  const Dims od{{{"batch", batch}, {"outer", outer}, {"count", count}, {"slice", slice}}};
  checkElements(env, "x", xd);
  checkElements(env, "indices", id);
  checkElements(env, "out", od);
  checkLength(env, "x", x, xd);
  checkLength(env, "indices", indices, id);
  checkLength(env, "out", out, od);
  checkIndexRange(env, "indices", indices, id, dimSize, "dimSize");
  cpu::gather(reinterpret_cast<const uint32_t*>(x.data), indices.data, batch, outer, dimSize, slice, count,
              reinterpret_cast<uint32_t*>(out.data));
  return env.Undefined();
}

Napi::Value unsortedSegmentSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireCount(info, 6);
  constexpr int64_t kMax = kMaxElements;
  const auto x = requireFloat32(info, 0, "x");
  const auto ids = requireInt32(info, 1, "segmentIds");
  const int64_t rows = requireInteger(info, 2, "rows", 1, kMax), inner = requireInteger(info, 3, "inner", 1, kMax);
  const int64_t numSegments = requireInteger(info, 4, "numSegments", 1, kMax);
  const auto out = requireFloat32(info, 5, "out");
  const Dims xd{{{"rows", rows}, {"inner", inner}}}, od{{{"numSegments", numSegments}, {"inner", inner}}};
  checkElements(env, "x", xd);
  checkElements(env, "out", od);
  checkLength(env, "x", x, xd);
  checkLength(env, "segmentIds", ids, Dims{{{"rows", rows}}});
  checkLength(env, "out", out, od);
  cpu::unsortedSegmentSum(x.data, ids.data, rows, inner, numSegments, out.data);
  return env.Undefined();
}

}  // namespace addon
}  // namespace sacl
