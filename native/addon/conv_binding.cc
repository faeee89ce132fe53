// conv2d, conv2dBackpropFilter, conv2dBackpropInput, depthwiseConv2d, depthwiseBackpropInput, depthwiseBackpropFilter: the
// convolutions behind the tfjs kernels of src/tf/kernels/conv-native.ts. Each takes one object: its two input
// Float32Arrays and output array (named as below), and the geometry B, H, W, Ci, KH, KW, Co, OH, OW, strideH,
// strideW, padTop, padLeft. Synchronous only, like every tfjs kernel.
#include "args.h"
#include "bindings.h"
#include "sacl/common.h"
#include "sacl/conv.h"

namespace sacl {
namespace addon {

namespace {

ConvGeometry readGeometry(const Fields& f) {
  ConvGeometry g{};
  f.sizes({{"B", &g.B}, {"H", &g.H}, {"W", &g.W}, {"Ci", &g.Ci}, {"KH", &g.KH}, {"KW", &g.KW}, {"Co", &g.Co},
           {"OH", &g.OH}, {"OW", &g.OW}, {"strideH", &g.strideH}, {"strideW", &g.strideW}});
  g.padTop = f.integer("padTop", 0, kMaxElements);  // pads may be 0; sizes and strides not
  g.padLeft = f.integer("padLeft", 0, kMaxElements);
  return g;
}

enum class Role { X, Filter, DepthwiseFilter, Y };

Dims dimsOf(const ConvGeometry& g, Role role) {
  switch (role) {
    case Role::X: return Dims{{{"B", g.B}, {"H", g.H}, {"W", g.W}, {"Ci", g.Ci}}};
    case Role::Filter: return Dims{{{"KH", g.KH}, {"KW", g.KW}, {"Ci", g.Ci}, {"Co", g.Co}}};
    case Role::DepthwiseFilter: return Dims{{{"KH", g.KH}, {"KW", g.KW}, {"Ci", g.Ci}, {"M", g.Co / g.Ci}}};
    case Role::Y: break;
  }
  return Dims{{{"B", g.B}, {"OH", g.OH}, {"OW", g.OW}, {"Co", g.Co}}};
}

// One array of a call: its key and the shape it has.
struct Slot {
  const char* key;
  Role role;
};

// A convolution binding: in0, in1 → out through kernel(geometry, in0, in1, out); depthwise ones need Co a
// multiple of Ci.
struct ConvOp {
  const char* name;
  Slot in0, in1, out;
  bool depthwise;
  void (*kernel)(const ConvGeometry&, const float*, const float*, float*);
};

const ConvOp kConvOps[] = {
    {"conv2d", {"x", Role::X}, {"filter", Role::Filter}, {"y", Role::Y}, false, cpu::conv2d},
    {"conv2dBackpropFilter", {"x", Role::X}, {"dy", Role::Y}, {"dw", Role::Filter}, false, cpu::conv2dBackpropFilter},
    {"conv2dBackpropInput", {"dy", Role::Y}, {"filter", Role::Filter}, {"dx", Role::X}, false, cpu::conv2dBackpropInput},
    {"depthwiseConv2d", {"x", Role::X}, {"filter", Role::DepthwiseFilter}, {"y", Role::Y}, true, cpu::depthwiseConv2d},
    {"depthwiseBackpropInput", {"dy", Role::Y}, {"filter", Role::DepthwiseFilter}, {"dx", Role::X}, true, cpu::depthwiseBackpropInput},
    {"depthwiseBackpropFilter", {"x", Role::X}, {"dy", Role::Y}, {"dw", Role::DepthwiseFilter}, true, cpu::depthwiseBackpropFilter},
};

// Every convolution binding: its ConvOp is the function's data.
Napi::Value convCall(const Napi::CallbackInfo& info) {
  const ConvOp& op = *static_cast<const ConvOp*>(info.Data());
  const Fields f(info);
  const ConvGeometry g = readGeometry(f);
  if (op.depthwise && g.Co % g.Ci != 0) {
    throwRange(f.env(), "Co", "a multiple of Ci (" + std::to_string(g.Ci) + ")", std::to_string(g.Co));
  }
  const auto a = f.shaped<float>(op.in0.key, dimsOf(g, op.in0.role));
  const auto b = f.shaped<float>(op.in1.key, dimsOf(g, op.in1.role));
  const auto out = f.shaped<float>(op.out.key, dimsOf(g, op.out.role));
  op.kernel(g, a.data, b.data, out.data);
  return f.env().Undefined();
}

}  // namespace

void exportConvolutions(Napi::Env env, Napi::Object exports) {
  for (const ConvOp& op : kConvOps) exports.Set(op.name, Napi::Function::New(env, convCall, op.name, const_cast<ConvOp*>(&op)));
}

}  // namespace addon
}  // namespace sacl
