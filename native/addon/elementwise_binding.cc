// unary({ op, x, y }) and binary({ op, a, aShape, b, bShape, out, outShape }): the element-wise kernels behind the
// tfjs kernels of src/tf/kernels/elementwise.ts. Synchronous only, like every tfjs kernel: the arrays may
// be views of a tfjs backend's memory that stay valid only until JavaScript runs again.
#include "args.h"
#include "bindings.h"
#include "sacl/common.h"
#include "sacl/elementwise.h"

namespace sacl {
namespace addon {

namespace {

// The element count, or −1 past kMaxElements (each size is ≤ 2^31, so one step cannot overflow int64).
int64_t product(const int64_t* dims, int rank) {
  int64_t n = 1;
  for (int a = 0; a < rank; ++a) {
    n *= dims[a];
    if (n > kMaxElements) return -1;
  }
  return n;
}

// dims right-aligned to `rank` with leading 1s.
void align(const int64_t* dims, int from, int64_t* out, int rank) {
  for (int a = 0; a < rank; ++a) out[a] = a < rank - from ? 1 : dims[a - (rank - from)];
}

}  // namespace

Napi::Value unary(const Napi::CallbackInfo& info) {
  const Fields f(info);
  const auto op = static_cast<UnaryOp>(f.integer("op", 0, static_cast<int>(UnaryOp::Count) - 1));
  const auto x = f.array<float>("x");
  const auto y = f.sized<float>("y", x.length, "x.length");
  cpu::unary(op, x.data, y.data, x.length);
  return f.env().Undefined();
}

Napi::Value binary(const Napi::CallbackInfo& info) {
  const Fields f(info);
  Napi::Env env = f.env();
  const auto op = static_cast<BinaryOp>(f.integer("op", 0, static_cast<int>(BinaryOp::Count) - 1));
  int64_t aDims[kMaxBroadcastRank], bDims[kMaxBroadcastRank], oDims[kMaxBroadcastRank];
  const auto sizes = [&](const char* key, int64_t* out) {
    return f.intList(key, "sizes", "an integer size ≥ 1", 1, kMaxElements, kMaxBroadcastRank, out);
  };
  const auto a = f.array<float>("a");
  const int ra = sizes("aShape", aDims);
  const auto b = f.array<float>("b");
  const int rb = sizes("bShape", bDims);
  const auto out = f.array<float>("out");
  const int ro = sizes("outShape", oDims);
  if (ro < ra || ro < rb) throwRange(env, "outShape.length", "at least the inputs' ranks", std::to_string(ro));
  int64_t aa[kMaxBroadcastRank], ab[kMaxBroadcastRank];
  align(aDims, ra, aa, ro);
  align(bDims, rb, ab, ro);
  for (int i = 0; i < ro; ++i) {
    if ((aa[i] != oDims[i] && aa[i] != 1) || (ab[i] != oDims[i] && ab[i] != 1)) {
      throwRange(env, "outShape[" + std::to_string(i) + "]", "the broadcast of aShape and bShape",
                 std::to_string(oDims[i]) + " (a: " + std::to_string(aa[i]) + ", b: " + std::to_string(ab[i]) + ")");
    }
  }
  if (a.length != product(aDims, ra)) throwRange(env, "a.length", "the product of aShape", std::to_string(a.length));
  if (b.length != product(bDims, rb)) throwRange(env, "b.length", "the product of bShape", std::to_string(b.length));
  if (out.length != product(oDims, ro)) throwRange(env, "out.length", "the product of outShape", std::to_string(out.length));
  cpu::binary(op, a.data, aa, b.data, ab, out.data, oDims, ro);
  return env.Undefined();
}

}  // namespace addon
}  // namespace sacl
