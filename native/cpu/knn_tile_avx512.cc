// KNN distance tiles for AVX-512F (this file alone is compiled with -mavx512f -mfma).
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
  // clears the sign bit (AVX-512F only; _mm512_abs_ps trips a GCC -Wuninitialized false positive)
  static V abs(V v) { return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff))); }
  static V max0(V v) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), v); }
  static uint32_t lessMask(V a, V b) { return static_cast<uint32_t>(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ)); }
};

}  // namespace

// 32 zmm registers: 8 rows × 2 accumulators + 2 panel vectors + broadcast + 2 temporaries; 12 rows for the dot form.
const TileSet& tilesAvx512() {
  static const TileSet set = makeTileSet<Avx512, 8, 12>("avx512");
  return set;
}

}  // namespace knn
}  // namespace cpu
}  // namespace sacl
