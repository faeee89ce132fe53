// The addon's exported functions, one binding file per op family.
#pragma once
#include <napi.h>

#include <cstdint>

namespace sacl {
namespace addon {

Napi::Value knnGraph(const Napi::CallbackInfo& info);
Napi::Value maxRelative(const Napi::CallbackInfo& info);
Napi::Value maxRelativeGrad(const Napi::CallbackInfo& info);
Napi::Value roiAlign(const Napi::CallbackInfo& info);
Napi::Value roiAlignGrad(const Napi::CallbackInfo& info);
Napi::Value matMul(const Napi::CallbackInfo& info);
Napi::Value unary(const Napi::CallbackInfo& info);
Napi::Value binary(const Napi::CallbackInfo& info);
Napi::Value reduce(const Napi::CallbackInfo& info);
Napi::Value softmax(const Napi::CallbackInfo& info);
Napi::Value argReduce(const Napi::CallbackInfo& info);
// conv2d, conv2dBackpropFilter, conv2dBackpropInput, depthwiseConv2d, depthwiseBackpropInput, depthwiseBackpropFilter
void exportConvolutions(Napi::Env env, Napi::Object exports);
Napi::Value copyStrided(const Napi::CallbackInfo& info);
Napi::Value gather(const Napi::CallbackInfo& info);
Napi::Value unsortedSegmentSum(const Napi::CallbackInfo& info);
Napi::Value resizeBilinear(const Napi::CallbackInfo& info);
Napi::Value resizeBilinearGrad(const Napi::CallbackInfo& info);
Napi::Value maxPool(const Napi::CallbackInfo& info);
Napi::Value maxPoolGrad(const Napi::CallbackInfo& info);
Napi::Value avgPool(const Napi::CallbackInfo& info);
Napi::Value avgPoolGrad(const Napi::CallbackInfo& info);
Napi::Value sgdStats(const Napi::CallbackInfo& info);
Napi::Value sgdUpdate(const Napi::CallbackInfo& info);
Napi::Value layerNorm(const Napi::CallbackInfo& info);
Napi::Value layerNormGrad(const Napi::CallbackInfo& info);
Napi::Value gelu(const Napi::CallbackInfo& info);
Napi::Value geluGrad(const Napi::CallbackInfo& info);
Napi::Value batchNorm(const Napi::CallbackInfo& info);
Napi::Value batchNormGrad(const Napi::CallbackInfo& info);
// host_memory.cc: kernel-output memory (allocateBuffer, detachBuffer) and the count of live blocks
Napi::Value allocateBuffer(const Napi::CallbackInfo& info);
Napi::Value detachBuffer(const Napi::CallbackInfo& info);
int64_t liveHostBlocks();

}  // namespace addon
}  // namespace sacl
