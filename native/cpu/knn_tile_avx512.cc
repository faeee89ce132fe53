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
  static uint32_t leMask(V a, V b) { return static_cast<uint32_t>(_mm512_cmp_ps_mask(a, b, _CMP_LE_OQ)); }
};

}  // namespace

// Panels of one zmm (16 candidates): measured on Zen 4 (AVX-512 double-pumped) against two zmm, they waste
// less on partial panels and on the diagonal of self-graphs (32×196×192: 4.0 ms vs 4.7 ms) at equal peak.
// Registers: 8 rows × 1 accumulator + panel + broadcast + temporary; 12 rows for the dot form. Row tiles:
// 4 × 4 accumulators + 8 loads + 1 temporary.
const TileSet& tilesAvx512() {
  static const TileSet set = makeTileSet<Avx512, 1, 8, 12, 4, 4>("avx512");
  return set;
}

}  // namespace knn
}  // namespace cpu
}  // namespace sacl
