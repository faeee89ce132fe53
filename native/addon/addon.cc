// The sacl-au N-API addon: exports only. Kernels live in native/cpu (and native/cuda), argument checks in
// args.cc, one binding file per op family.
#include <napi.h>


#include "bindings.h"
#include "args.h"
#include "malloc_tuning.h"
#include "sacl/cuda_ops.h"
#include "sacl/device.h"
#include "sacl/ops.h"
#include "sacl/parallel.h"

#ifndef SACL_VERSION
#define SACL_VERSION "0.0.0"
#endif

namespace sacl {
namespace addon {
namespace {

Napi::Value info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", SACL_VERSION);
  o.Set("threads", numThreads());
  o.Set("pooledRuns", static_cast<double>(pooledRuns()));
  o.Set("isa", cpu::knnIsa());
  o.Set("malloc", tuneMalloc());
  o.Set("hostBlocks", static_cast<double>(liveHostBlocks()));
  o.Set("v8ExternalBytes", static_cast<double>(Napi::MemoryManagement::AdjustExternalMemory(env, 0)));
  const CudaStatus& s = cudaStatus();
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("compiled", s.compiled);
  cuda.Set("available", s.available);
  cuda.Set("devices", s.devices);
  cuda.Set("reason", s.reason);
  o.Set("cuda", cuda);
  return o;
}

// Kernel time of the CUDA calls since the last read, copies excluded (NaN when none ran or no CUDA).
Napi::Value cudaKernelMs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cuda::takeKernelMilliseconds());
}

Napi::Value setThreads(const Napi::CallbackInfo& info) {
  requireCount(info, 1);
  setNumThreads(static_cast<int>(requireInteger(info, 0, "n", 1, 1024)));
  return info.Env().Undefined();
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  tuneMalloc();
  exports.Set("knnGraph", Napi::Function::New(env, knnGraph, "knnGraph"));
  exports.Set("maxRelative", Napi::Function::New(env, maxRelative, "maxRelative"));
  exports.Set("maxRelativeGrad", Napi::Function::New(env, maxRelativeGrad, "maxRelativeGrad"));
  exports.Set("roiAlign", Napi::Function::New(env, roiAlign, "roiAlign"));
  exports.Set("roiAlignGrad", Napi::Function::New(env, roiAlignGrad, "roiAlignGrad"));
  exports.Set("matMul", Napi::Function::New(env, matMul, "matMul"));
  exports.Set("unary", Napi::Function::New(env, unary, "unary"));
  exports.Set("binary", Napi::Function::New(env, binary, "binary"));
  exports.Set("reduce", Napi::Function::New(env, reduce, "reduce"));
  exports.Set("softmax", Napi::Function::New(env, softmax, "softmax"));
  exports.Set("argReduce", Napi::Function::New(env, argReduce, "argReduce"));
  exportConvolutions(env, exports);
  exports.Set("copyStrided", Napi::Function::New(env, copyStrided, "copyStrided"));
  exports.Set("gather", Napi::Function::New(env, gather, "gather"));
  exports.Set("unsortedSegmentSum", Napi::Function::New(env, unsortedSegmentSum, "unsortedSegmentSum"));
  exports.Set("resizeBilinear", Napi::Function::New(env, resizeBilinear, "resizeBilinear"));
  exports.Set("resizeBilinearGrad", Napi::Function::New(env, resizeBilinearGrad, "resizeBilinearGrad"));
  exports.Set("maxPool", Napi::Function::New(env, maxPool, "maxPool"));
  exports.Set("maxPoolGrad", Napi::Function::New(env, maxPoolGrad, "maxPoolGrad"));
  exports.Set("avgPool", Napi::Function::New(env, avgPool, "avgPool"));
  exports.Set("avgPoolGrad", Napi::Function::New(env, avgPoolGrad, "avgPoolGrad"));
  exports.Set("sgdStats", Napi::Function::New(env, sgdStats, "sgdStats"));
  exports.Set("sgdUpdate", Napi::Function::New(env, sgdUpdate, "sgdUpdate"));
  exports.Set("layerNorm", Napi::Function::New(env, layerNorm, "layerNorm"));
  exports.Set("layerNormGrad", Napi::Function::New(env, layerNormGrad, "layerNormGrad"));
  exports.Set("gelu", Napi::Function::New(env, gelu, "gelu"));
  exports.Set("geluGrad", Napi::Function::New(env, geluGrad, "geluGrad"));
  exports.Set("batchNorm", Napi::Function::New(env, batchNorm, "batchNorm"));
  exports.Set("batchNormGrad", Napi::Function::New(env, batchNormGrad, "batchNormGrad"));
  exports.Set("allocateBuffer", Napi::Function::New(env, allocateBuffer, "allocateBuffer"));
  exports.Set("detachBuffer", Napi::Function::New(env, detachBuffer, "detachBuffer"));
  exports.Set("info", Napi::Function::New(env, info, "info"));
  exports.Set("setNumThreads", Napi::Function::New(env, setThreads, "setNumThreads"));
  exports.Set("cudaKernelMs", Napi::Function::New(env, cudaKernelMs, "cudaKernelMs"));
  return exports;
}

}  // namespace addon
}  // namespace sacl

static Napi::Object InitSaclAu(Napi::Env env, Napi::Object exports) { return sacl::addon::init(env, exports); }

NODE_API_MODULE(sacl_au, InitSaclAu)
