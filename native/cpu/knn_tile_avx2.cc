// KNN distance tiles for AVX2 + FMA (this file alone is compiled with -mavx2 -mfma).
#include <immintrin.h>

#include "knn_tile.h"

namespace sacl::cpu::knn {
namespace {

typedef float Float8 __attribute__((vector_size(32)));

uint32_t leMask(Float8 a, Float8 b) { return static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_LE_OQ))); }

}  // namespace

// 16 ymm registers: 4 rows × 2 accumulators + 2 panel vectors + broadcast + 2 temporaries (direct forms);
// the dot form needs no temporaries, so it takes 6 rows. Row tiles: 2 × 4 accumulators + 6 loads + 1 temporary.
constexpr TileSet kTilesAvx2 = makeTileSet<Vec<Float8, leMask>, 2, 4, 6, 2, 4>("avx2");

}  // namespace sacl::cpu::knn
