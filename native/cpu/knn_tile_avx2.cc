// KNN distance tiles for AVX2 + FMA (this file alone is compiled with -mavx2 -mfma).
#include <immintrin.h>

#include "knn_tile.h"

namespace sacl {
namespace cpu {
namespace knn {
namespace {

struct Avx2 {
  using V = __m256;
  static constexpr int L = 8;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V splat(float s) { return _mm256_set1_ps(s); }
  static V abs(V v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }
  static V max0(V v) { return _mm256_max_ps(v, _mm256_setzero_ps()); }
  static float hsum(V v) {
    const __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 h = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_shuffle_ps(h, h, 1)));
  }
  static uint32_t leMask(V a, V b) { return static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_LE_OQ))); }
};

}  // namespace

// 16 ymm registers: 4 rows × 2 accumulators + 2 panel vectors + broadcast + 2 temporaries (direct forms);
// the dot form needs no temporaries, so it takes 6 rows. Row tiles: 2 × 4 accumulators + 6 loads + 1 temporary.
const TileSet& tilesAvx2() {
  static const TileSet set = makeTileSet<Avx2, 2, 4, 6, 2, 4>("avx2");
  return set;
}

}  // namespace knn
}  // namespace cpu
}  // namespace sacl
