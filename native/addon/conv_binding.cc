// conv2d, conv2dBackpropFilter, conv2dBackpropInput, depthwiseConv2d, depthwiseBackpropInput, depthwiseBackpropFilter: the
// convolutions behind the tfjs kernels of src/tf/kernels/conv-native.ts. Each takes two Float32Arrays, the
// geometry [B, H, W, Ci, KH, KW, Co, OH, OW, strideH, strideW, padTop, padLeft] and the output array.
// Synchronous only, like every tfjs kernel.
#include "args.h"
#include "bindings.h"
#include "sacl/common.h"
#include "sacl/conv.h"

namespace sacl {
namespace addon {

namespace {

constexpr uint32_t kGeometryLength = 13;
const char* const kGeometryNames[kGeometryLength] = {"B",  "H",  "W",       "Ci",      "KH",     "KW",     "Co",
                                                     "OH", "OW", "strideH", "strideW", "padTop", "padLeft"};

ConvGeometry readGeometry(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  const Napi::Value v = info[i];
  if (!v.IsArray()) throwType(env, "geometry", "an array of " + std::to_string(kGeometryLength) + " integers", describe(v));
  const auto arr = v.As<Napi::Array>();
  if (arr.Length() != kGeometryLength) {
    throwRange(env, "geometry.length", std::to_string(kGeometryLength), std::to_string(arr.Length()));
  }
  int64_t n[kGeometryLength];
  for (uint32_t a = 0; a < kGeometryLength; ++a) {
    const Napi::Value d = arr.Get(a);
    const int64_t min = a >= 11 ? 0 : 1;  // pads may be 0; sizes and strides not
    const double x = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : -1;
    if (!(x >= static_cast<double>(min) && x <= static_cast<double>(kMaxElements) &&
          x == static_cast<double>(static_cast<int64_t>(x)))) {
      throwRange(env, std::string("geometry[") + std::to_string(a) + "] (" + kGeometryNames[a] + ")",
                 "an integer ≥ " + std::to_string(min), describe(d));
    }
    n[a] = static_cast<int64_t>(x);
  }
  return ConvGeometry{n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8], n[9], n[10], n[11], n[12]};
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

struct Call {
  ConvGeometry g;
  float* in[2];
  float* out;
};

// Validates (first, second, geometry, out) whose shapes have the given roles.
Call readCall(const Napi::CallbackInfo& info, const char* const names[3], const Role roles[3], bool depthwise) {
  Napi::Env env = info.Env();
  requireCount(info, 4);
  const auto a = requireFloat32(info, 0, names[0]);
  const auto b = requireFloat32(info, 1, names[1]);
  Call c{};
  c.g = readGeometry(info, 2);
  const auto out = requireFloat32(info, 3, names[2]);
  if (depthwise && c.g.Co % c.g.Ci != 0) {
    throwRange(env, "geometry[6] (Co)", "a multiple of Ci (" + std::to_string(c.g.Ci) + ")", std::to_string(c.g.Co));
  }
  const ArrayArg<float>* arrays[3] = {&a, &b, &out};
  for (int k = 0; k < 3; ++k) {
    const Dims d = dimsOf(c.g, roles[k]);
    checkElements(env, names[k], d);
    checkLength(env, names[k], *arrays[k], d);
  }
  c.in[0] = a.data;
  c.in[1] = b.data;
  c.out = out.data;
  return c;
}

}  // namespace

Napi::Value conv2d(const Napi::CallbackInfo& info) {
  static const char* const names[3] = {"x", "filter", "y"};
  static const Role roles[3] = {Role::X, Role::Filter, Role::Y};
  const Call c = readCall(info, names, roles, false);
  cpu::conv2d(c.g, c.in[0], c.in[1], c.out);
  return info.Env().Undefined();
}

Napi::Value conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  static const char* const names[3] = {"x", "dy", "dw"};
  static const Role roles[3] = {Role::X, Role::Y, Role::Filter};
  const Call c = readCall(info, names, roles, false);
  cpu::conv2dBackpropFilter(c.g, c.in[0], c.in[1], c.out);
  return info.Env().Undefined();
}

Napi::Value conv2dBackpropInput(const Napi::CallbackInfo& info) {
  static const char* const names[3] = {"dy", "filter", "dx"};
  static const Role roles[3] = {Role::Y, Role::Filter, Role::X};
  const Call c = readCall(info, names, roles, false);
  cpu::conv2dBackpropInput(c.g, c.in[0], c.in[1], c.out);
  return info.Env().Undefined();
}

Napi::Value depthwiseConv2d(const Napi::CallbackInfo& info) {
  static const char* const names[3] = {"x", "filter", "y"};
  static const Role roles[3] = {Role::X, Role::DepthwiseFilter, Role::Y};
  const Call c = readCall(info, names, roles, true);
  cpu::depthwiseConv2d(c.g, c.in[0], c.in[1], c.out);
  return info.Env().Undefined();
}

Napi::Value depthwiseBackpropInput(const Napi::CallbackInfo& info) {
  static const char* const names[3] = {"dy", "filter", "dx"};
  static const Role roles[3] = {Role::Y, Role::DepthwiseFilter, Role::X};
  const Call c = readCall(info, names, roles, true);
  cpu::depthwiseBackpropInput(c.g, c.in[0], c.in[1], c.out);
  return info.Env().Undefined();
}

Napi::Value depthwiseBackpropFilter(const Napi::CallbackInfo& info) {
  static const char* const names[3] = {"x", "dy", "dw"};
  static const Role roles[3] = {Role::X, Role::Y, Role::DepthwiseFilter};
  const Call c = readCall(info, names, roles, true);
  cpu::depthwiseBackpropFilter(c.g, c.in[0], c.in[1], c.out);
  return info.Env().Undefined();
}

}  // namespace addon
}  // namespace sacl
