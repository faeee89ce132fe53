// KNN distance tiles for AVX-512F (this file alone is compiled with -mavx512f -mfma).
// GCC 12's AVX-512 intrinsics pass _mm*_undefined_*() as merge sources, which -Wuninitialized misreports.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "knn_tile.h"

namespace sacl {
namespace cpu {
namespace knn {
namespace {

struct Avx512 {
  using V = __m512;
  static constexpr int L = 16;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V splat(float s) { return _mm512_set1_ps(s); }
  static V abs(V v) { return _mm512_abs_ps(v); }
  static V max0(V v) { return _mm512_max_ps(v, _mm512_setzero_ps()); }
  static float hsum(V v) { return _mm512_reduce_add_ps(v); }
  static uint32_t lessMask(V a, V b) { return static_cast<uint32_t>(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ)); }
};

}  // namespace

// 32 zmm registers: 8 rows × 2 accumulators + 2 panel vectors + broadcast + 2 temporaries; 12 rows for the dot
// form. Row tiles: 4 × 4 accumulators + 8 loads + 1 temporary.
const TileSet& tilesAvx512() {
  static const TileSet set = makeTileSet<Avx512, 8, 12, 4, 4>("avx512");
  return set;
}

}  // namespace knn
}  // namespace cpu
}  // namespace sacl
