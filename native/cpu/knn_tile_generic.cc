// KNN distance tiles on portable GCC/Clang vectors (SSE2 on x86-64, NEON on arm64).
#include "knn_tile.h"

namespace sacl {
namespace cpu {
namespace knn {
namespace {

struct Generic {
  typedef float V __attribute__((vector_size(16)));
  typedef int32_t I __attribute__((vector_size(16)));
  static constexpr int L = 4;
  static V load(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static V splat(float s) { return V{s, s, s, s}; }
  static V abs(V v) { return reinterpret_cast<V>(reinterpret_cast<I>(v) & 0x7fffffff); }
  static V max0(V v) { return v > 0.0f ? v : splat(0.0f); }
  static float hsum(V v) { return (v[0] + v[2]) + (v[1] + v[3]); }
  static uint32_t leMask(V a, V b) {
    const I lt = a <= b;
    uint32_t m = 0;
    for (int i = 0; i < L; ++i) m |= static_cast<uint32_t>(lt[i] & 1) << i;
    return m;
  }
};

}  // namespace

const TileSet& tilesGeneric() {
  static const TileSet set = makeTileSet<Generic, 2, 4, 4, 2, 4>("generic");
  return set;
}

}  // namespace knn
}  // namespace cpu
}  // namespace sacl
