// KNN distance tiles on 4-float vectors (SSE2 on x86-64, NEON on arm64).
#include "knn_tile.h"

namespace sacl::cpu::knn {
namespace {

typedef float Float4 __attribute__((vector_size(16)));

uint32_t leMask(Float4 a, Float4 b) {
  const auto le = a <= b;
  uint32_t m = 0;
  for (int i = 0; i < 4; ++i) m |= static_cast<uint32_t>(le[i] & 1) << i;
  return m;
}

}  // namespace

constexpr TileSet kTilesGeneric = makeTileSet<Vec<Float4, leMask>, 2, 4, 4, 2, 4>("generic");

}  // namespace sacl::cpu::knn
