// copyStrided, gather, unsortedSegmentSum, resizeBilinear, resizeBilinearGrad, maxPool, maxPoolGrad, avgPool and
// avgPoolGrad, each taking one object read by name (NativeAddon in src/backends/native.ts): the data movement,
// resizing and pooling kernels behind src/tf/kernels/movement.ts. Synchronous only, like every tfjs kernel: the
// arrays may be views of a tfjs backend's memory that stay valid only until JavaScript runs again.
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

// The shapes of a pool's input map and of its output windows.
Dims mapDims(const Pool2D& p) { return Dims{{{"B", p.batch}, {"H", p.inHeight}, {"W", p.inWidth}, {"C", p.channels}}}; }
Dims windowDims(const Pool2D& p) {
  return Dims{{{"B", p.batch}, {"outH", p.outHeight}, {"outW", p.outWidth}, {"C", p.channels}}};
}

// A pool's geometry, the fields batch … padLeft.
Pool2D readPool(const Fields& f) {
  Pool2D p;
  f.sizes({{"batch", &p.batch}, {"inHeight", &p.inHeight}, {"inWidth", &p.inWidth}, {"channels", &p.channels},
           {"outHeight", &p.outHeight}, {"outWidth", &p.outWidth}, {"filterHeight", &p.filterHeight},
           {"filterWidth", &p.filterWidth}, {"strideHeight", &p.strideHeight}, {"strideWidth", &p.strideWidth}});
  p.padTop = f.integer("padTop", 0, kMaxElements);
  p.padLeft = f.integer("padLeft", 0, kMaxElements);
  return p;
}

// maxPool, avgPool (x → out) and avgPoolGrad (dy → dx): one array in, one out, and the geometry.
template <class Kernel>
Napi::Value poolCall(const Napi::CallbackInfo& info, const char* inName, const char* outName, bool grad, Kernel kernel) {
  const Fields f(info);
  const Pool2D p = readPool(f);
  const auto in = f.shaped<float>(inName, grad ? windowDims(p) : mapDims(p));
  const auto out = f.shaped<float>(outName, grad ? mapDims(p) : windowDims(p));
  kernel(in.data, p, out.data);
  return f.env().Undefined();
}

}  // namespace

Napi::Value copyStrided(const Napi::CallbackInfo& info) {
  const Fields f(info);
  Napi::Env env = f.env();
  int64_t srcStrides[kMaxCopyRank], dstStrides[kMaxCopyRank], shape[kMaxCopyRank];
  const auto list = [&](const char* key, int64_t* out) {
    return f.intList(key, "integers", "an integer ≥ 0", 0, kMaxElements, kMaxCopyRank, out);
  };
  const auto src = f.array<float>("src");
  const int64_t srcOffset = f.integer("srcOffset", 0, kMaxElements);
  const int rs = list("srcStrides", srcStrides);
  const auto dst = f.array<float>("dst");
  const int64_t dstOffset = f.integer("dstOffset", 0, kMaxElements);
  const int rd = list("dstStrides", dstStrides);
  const int rank = list("shape", shape);
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

// resizeBilinear (x → out) and its gradient (dy → dx) take the same fields: the source array, the sizes,
// the two flags, the destination array. `grad` says which side has the input image's shape.
template <typename Kernel>
Napi::Value resizeCall(const Napi::CallbackInfo& info, const char* srcName, const char* dstName, bool grad, Kernel kernel) {
  const Fields f(info);
  int64_t B, H, W, C, outH, outW;
  f.sizes({{"batch", &B}, {"inHeight", &H}, {"inWidth", &W}, {"channels", &C}, {"outHeight", &outH}, {"outWidth", &outW}});
  const bool alignCorners = f.boolean("alignCorners");
  const bool halfPixelCenters = f.boolean("halfPixelCenters");
  const Dims in{{{"B", B}, {"H", H}, {"W", W}, {"C", C}}}, o{{{"B", B}, {"outH", outH}, {"outW", outW}, {"C", C}}};
  const auto src = f.shaped<float>(srcName, grad ? o : in);
  const auto dst = f.shaped<float>(dstName, grad ? in : o);
  kernel(src.data, B, H, W, C, outH, outW, alignCorners, halfPixelCenters, dst.data);
  return f.env().Undefined();
}

}  // namespace

Napi::Value resizeBilinear(const Napi::CallbackInfo& info) { return resizeCall(info, "x", "out", false, cpu::resizeBilinear); }
Napi::Value resizeBilinearGrad(const Napi::CallbackInfo& info) { return resizeCall(info, "dy", "dx", true, cpu::resizeBilinearGrad); }

Napi::Value maxPool(const Napi::CallbackInfo& info) { return poolCall(info, "x", "out", false, cpu::maxPool); }
Napi::Value avgPool(const Napi::CallbackInfo& info) { return poolCall(info, "x", "out", false, cpu::avgPool); }
Napi::Value avgPoolGrad(const Napi::CallbackInfo& info) { return poolCall(info, "dy", "dx", true, cpu::avgPoolGrad); }

Napi::Value maxPoolGrad(const Napi::CallbackInfo& info) {
  const Fields f(info);
  const Pool2D p = readPool(f);
  const auto dy = f.shaped<float>("dy", windowDims(p));
  const auto x = f.shaped<float>("x", mapDims(p));
  const auto dx = f.shaped<float>("dx", mapDims(p));
  cpu::maxPoolGrad(dy.data, x.data, p, dx.data);
  return f.env().Undefined();
}

Napi::Value gather(const Napi::CallbackInfo& info) {
  const Fields f(info);
  int64_t batch, outer, dimSize, slice, count;
  f.sizes({{"batch", &batch}, {"outer", &outer}, {"dimSize", &dimSize}, {"slice", &slice}, {"count", &count}});
  const auto x = f.shaped<float>("x", Dims{{{"batch", batch}, {"outer", outer}, {"dimSize", dimSize}, {"slice", slice}}});
  const Dims id{{{"batch", batch}, {"count", count}}};
  const auto indices = f.shaped<int32_t>("indices", id);
  const auto out = f.shaped<float>("out", Dims{{{"batch", batch}, {"outer", outer}, {"count", count}, {"slice", slice}}});
  checkIndexRange(f.env(), "indices", indices, id, dimSize, "dimSize");
  cpu::gather(reinterpret_cast<const uint32_t*>(x.data), indices.data, batch, outer, dimSize, slice, count,
              reinterpret_cast<uint32_t*>(out.data));
  return f.env().Undefined();
}

Napi::Value unsortedSegmentSum(const Napi::CallbackInfo& info) {
  const Fields f(info);
  int64_t rows, inner, numSegments;
  f.sizes({{"rows", &rows}, {"inner", &inner}, {"numSegments", &numSegments}});
  const auto x = f.shaped<float>("x", Dims{{{"rows", rows}, {"inner", inner}}});
  const auto ids = f.shaped<int32_t>("segmentIds", Dims{{{"rows", rows}}});
  const auto out = f.shaped<float>("out", Dims{{{"numSegments", numSegments}, {"inner", inner}}});
  cpu::unsortedSegmentSum(x.data, ids.data, rows, inner, numSegments, out.data);
  return f.env().Undefined();
}

}  // namespace addon
}  // namespace sacl
