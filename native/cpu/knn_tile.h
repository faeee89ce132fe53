// The KNN distance tile, written once over a vector-traits type and compiled once per instruction set
// (knn_tile_generic.cc, knn_tile_avx2.cc, knn_tile_avx512.cc). A tile computes the distances between MR
// query rows and one packed panel of NR candidates (NR = NV vectors), then flags, per row, the candidates
// that beat the row's current k-th best distance.
//
// Euclidean and Manhattan use the direct forms Σ(y−x)² and Σ|y−x| (a subtract and an FMA per pair on
// separate pipes), not ‖x‖²−2xy+‖y‖², so there is no cancellation: rows far from the origin keep their
// precision and integer-valued data gives exact distances (exact ties). D runs in chunks of kChunk whose
// partial sums are added in memory, which keeps the fp32 rounding error near √(D/kChunk + kChunk)·ε.
#pragma once
#include <cstdint>
#include <cstring>
#include <utility>

#include "sacl/knn.h"

namespace sacl {
namespace cpu {
namespace knn {

// One tile kernel for one metric (Euclidean as the squared distance).
//   rows:   MR pointers to D floats (the query rows; a partial group repeats its last row)
//   panel:  [D][NR] candidates, candidate c in lane c (transposed in runPanelItem, knn_graph.cc)
//   rowAux, colAux: cosine only: 1/‖x‖ and 1/‖y‖ (0 for a zero vector)
//   thr:    MR thresholds (the row's current k-th best distance, +inf while its list is not full)
//   thrCol: NR thresholds of the candidates' own lists (self-graphs, where a distance serves both rows),
//           or null
//   dist:   out [MR][NR] distances
//   mask:   out MR bit sets, bit c set when dist[r][c] ≤ thr[r]; colMask (with thrCol): bit c set when
//           dist[r][c] ≤ thrCol[c]. ≤, not <: an equal distance with a lower index still enters a list.
// Distances are symmetric to the bit (same terms in the same order either way round), which is what
// lets self-graphs compute each pair once.
using TileFn = void (*)(const float* const* rows, const float* panel, int64_t D, const float* rowAux,
                        const float* colAux, const float* thr, const float* thrCol, float* dist, uint32_t* mask,
                        uint32_t* colMask);

struct TileKernel {
  int mr;  // query rows per tile
  int nr;  // candidates per panel
  TileFn run;
};

// The row tile (for wide rows): distances between MR query rows and NC candidate rows, both read in place
// as D contiguous floats and vectorized along D, then reduced horizontally. No packing, so it suits large
// D and few rows (the SACL graph: N = 18, D = 4096).
//   dist: out [MR][NC]; for cosine, the dot products (the driver applies the norms)
using RowTileFn = void (*)(const float* const* rows, const float* const* cands, int64_t D, float* dist);

struct RowTileKernel {
  int mr;  // query rows per tile
  int nc;  // candidate rows per tile
  RowTileFn run;
};

struct TileSet {
  const char* isa;
  TileKernel panels[kMetricCount];   // indexed by Metric
  RowTileKernel rows[kMetricCount];  // indexed by Metric
};

// One per instruction set, each defined in its own file (knn_tile_<isa>.cc) and constant-initialized.
extern const TileSet kTilesGeneric;
extern const TileSet kTilesAvx2;
extern const TileSet kTilesAvx512;

constexpr int64_t kChunk = 128;

// The vector arithmetic of the tiles over a GCC/Clang vector type of L floats, which each instruction set's
// file names and compiles to its own registers (4 floats: SSE2 or NEON; 8: AVX2; 16: AVX-512F), with its
// leMask: bit i set when a[i] <= b[i] (clear for NaN), the one operation vector types do not spell.
// Unnamed namespace: the instantiations stay in the file that made them, each compiled for its
// instruction set.
namespace {
template <class Vector, uint32_t (*LeMask)(Vector, Vector)>
struct Vec {
  using V = Vector;
  using I = decltype(V{} <= V{});  // the int32 lanes of a comparison
  static constexpr int L = sizeof(V) / sizeof(float);
  static V load(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static V splat(float s) { return splatLanes(s, std::make_index_sequence<L>()); }
  template <std::size_t... i>
  static V splatLanes(float s, std::index_sequence<i...>) {
    return V{((void)i, s)...};
  }
  static V abs(V v) { return reinterpret_cast<V>(reinterpret_cast<I>(v) & 0x7fffffff); }
  // as cosineDistance (sacl/knn.h): NaN gives 0
  static V max0(V v) { return v > 0.0f ? v : splat(0.0f); }
  // lane i += lane i + n for n = L/2, L/4, …, 1 (the order of _mm512_reduce_add_ps)
  static float hsum(V v) {
    for (int n = L / 2; n >= 1; n /= 2)
      for (int i = 0; i < n; ++i) v[i] += v[i + n];
    return v[0];
  }
  static uint32_t leMask(V a, V b) { return LeMask(a, b); }
};
}  // namespace

// T: a Vec.
template <class T, int MR, int NV, Metric F>
void tile(const float* const* rows, const float* panel, int64_t D, const float* rowAux, const float* colAux,
          const float* thr, const float* thrCol, float* dist, uint32_t* mask, uint32_t* colMask) {
  using V = typename T::V;
  constexpr int L = T::L;
  constexpr int NR = NV * L;
  V sum[MR][NV];
  for (int64_t d0 = 0; d0 < D; d0 += kChunk) {
    const int64_t d1 = d0 + kChunk < D ? d0 + kChunk : D;
    V acc[MR][NV];
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NV; ++j) acc[r][j] = T::splat(0.0f);
    for (int64_t d = d0; d < d1; ++d) {
      V y[NV];
      for (int j = 0; j < NV; ++j) y[j] = T::load(panel + d * NR + j * L);
      for (int r = 0; r < MR; ++r) {
        const V xs = T::splat(rows[r][d]);
        for (int j = 0; j < NV; ++j) {
          if constexpr (F == Metric::Cosine) {
            acc[r][j] += xs * y[j];
          } else {
            const V t = y[j] - xs;
            if constexpr (F == Metric::Euclidean) acc[r][j] += t * t;
            else acc[r][j] += T::abs(t);
          }
        }
      }
    }
    for (int r = 0; r < MR; ++r) {
      for (int j = 0; j < NV; ++j) sum[r][j] = d0 == 0 ? acc[r][j] : sum[r][j] + acc[r][j];
    }
  }
  for (int r = 0; r < MR; ++r) {
    uint32_t bits = 0, colBits = 0;
    for (int j = 0; j < NV; ++j) {
      V dv = sum[r][j];
      if constexpr (F == Metric::Cosine) {
        // sacl/knn.h cosineDistance, eight or sixteen lanes at a time
        dv = T::max0(T::splat(1.0f) - dv * (T::splat(rowAux[r]) * T::load(colAux + j * L)));
      }
      std::memcpy(dist + r * NR + j * L, &dv, sizeof(V));
      bits |= T::leMask(dv, T::splat(thr[r])) << (j * L);
      if (thrCol) colBits |= T::leMask(dv, T::load(thrCol + j * L)) << (j * L);
    }
    mask[r] = bits;
    if (thrCol) colMask[r] = colBits;
  }
}

// One term of a distance, in vector or scalar arithmetic.
template <Metric F, class V, class Abs>
inline V term(V x, V y, Abs abs) {
  if constexpr (F == Metric::Cosine) {
    return x * y;
  } else {
    const V t = y - x;
    if constexpr (F == Metric::Euclidean) return t * t;
    else return abs(t);
  }
}

template <class T, int MR, int NC, Metric F>
void rowTile(const float* const* rows, const float* const* cands, int64_t D, float* dist) {
  using V = typename T::V;
  constexpr int L = T::L;
  V acc[MR][NC];
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < NC; ++c) acc[r][c] = T::splat(0.0f);
  const int64_t Dv = D - D % L;
  for (int64_t d = 0; d < Dv; d += L) {
    V y[NC];
    for (int c = 0; c < NC; ++c) y[c] = T::load(cands[c] + d);
    for (int r = 0; r < MR; ++r) {
      const V x = T::load(rows[r] + d);
      for (int c = 0; c < NC; ++c) {
        if constexpr (F == Metric::Cosine) acc[r][c] += x * y[c];
        else acc[r][c] += term<F>(x, y[c], T::abs);
      }
    }
  }
  for (int r = 0; r < MR; ++r) {
    for (int c = 0; c < NC; ++c) {
      float v = T::hsum(acc[r][c]);
      for (int64_t d = Dv; d < D; ++d) v += term<F>(rows[r][d], cands[c][d], [](float t) { return t < 0 ? -t : t; });
      dist[r * NC + c] = v;
    }
  }
}

// NV vectors of candidates per panel; MR_DIRECT rows for the direct forms, MR_DOT for cosine.
template <class T, int NV, int MR_DIRECT, int MR_DOT, int ROW_MR, int ROW_NC>
constexpr TileSet makeTileSet(const char* isa) {
  constexpr int NR = NV * T::L;
  return TileSet{isa,
                 {{MR_DIRECT, NR, &tile<T, MR_DIRECT, NV, Metric::Euclidean>},
                  {MR_DOT, NR, &tile<T, MR_DOT, NV, Metric::Cosine>},
                  {MR_DIRECT, NR, &tile<T, MR_DIRECT, NV, Metric::Manhattan>}},
                 {{ROW_MR, ROW_NC, &rowTile<T, ROW_MR, ROW_NC, Metric::Euclidean>},
                  {ROW_MR, ROW_NC, &rowTile<T, ROW_MR, ROW_NC, Metric::Cosine>},
                  {ROW_MR, ROW_NC, &rowTile<T, ROW_MR, ROW_NC, Metric::Manhattan>}}};
}

}  // namespace knn
}  // namespace cpu
}  // namespace sacl
