// maxRelative({ x, y, idx, B, N, M, C, K, out, argmax, device, async })
// maxRelativeGrad({ dOut, idx, argmax, B, N, M, C, K, dx, dy, device, async })
#include "bindings.h"
#include "op_call.h"
#include "sacl/ops.h"

namespace sacl {
namespace addon {

namespace {

// The sizes both directions read, and the shapes of their arrays.
struct GraphShape {
  int64_t B, N, M, C, K;
  Dims rows() const { return Dims{{{"B", B}, {"N", N}, {"C", C}}}; }        // x, out, argmax, dOut, dx
  Dims neighbours() const { return Dims{{{"B", B}, {"M", M}, {"C", C}}}; }  // candidates, dy
  Dims slots() const { return Dims{{{"B", B}, {"N", N}, {"K", K}}}; }       // idx
};

GraphShape readShape(const OpCall& call) {
  GraphShape s{};
  call.sizes({{"B", &s.B}, {"N", &s.N}, {"M", &s.M}, {"C", &s.C}, {"K", &s.K}});
  return s;
}

// M = N when the neighbours are x itself (y or dy null).
void checkSelf(const OpCall& call, const GraphShape& s, bool self) {
  if (self && s.M != s.N) throwRange(call.env(), "M", std::to_string(s.N) + " (N: the neighbours are x)", std::to_string(s.M));
}

// The neighbour table idx, staged, every entry a row of the neighbours.
OpArray<int32_t> neighbourTable(OpCall& call, const GraphShape& s) {
  auto idx = call.input<int32_t>("idx", "idx", s.slots());
  call.checkIndices(idx, s.M, "M, the number of neighbour rows");
  return idx;
}

}  // namespace

Napi::Value maxRelative(const Napi::CallbackInfo& info) {
  OpCall call(info);
  const GraphShape s = readShape(call);
  const auto x = call.input<float>("x", "x", s.rows());
  const auto y = call.input<float>("y", "candidates", s.neighbours(), true);
  checkSelf(call, s, !y.data());
  const auto idx = neighbourTable(call, s);
  const auto out = call.output<float>("out", "out", s.rows());
  const auto argmax = call.output<int32_t>("argmax", "argmax", s.rows());

  const MaxRelativeArgs a{x.data(), y.data() ? y.data() : x.data(), idx.data(), s.B, s.N, s.M, s.C, s.K};
  float* o = out.data();
  int32_t* am = argmax.data();
  return call.run([a, o, am](Device device) { maxRelative(device, a, o, am); });
}

Napi::Value maxRelativeGrad(const Napi::CallbackInfo& info) {
  OpCall call(info);
  const GraphShape s = readShape(call);
  const auto dOut = call.input<float>("dOut", "dOut", s.rows());
  const auto idx = neighbourTable(call, s);
  const auto argmax = call.input<int32_t>("argmax", "argmax", s.rows());
  call.checkIndices(argmax, s.K, "K, the number of neighbour slots");
  const auto dx = call.output<float>("dx", "dx", s.rows());
  const auto dy = call.output<float>("dy", "dy", s.neighbours(), true);
  checkSelf(call, s, !dy.data());

  const MaxRelativeGradArgs a{dOut.data(), idx.data(), argmax.data(), s.B, s.N, s.M, s.C, s.K};
  float* gx = dx.data();
  float* gy = dy.data();
  return call.run([a, gx, gy](Device device) { maxRelativeGrad(device, a, gx, gy); });
}

}  // namespace addon
}  // namespace sacl
