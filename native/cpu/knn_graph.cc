// Batched dense KNN graph on the CPU (docs/ops.md, knnGraph): fused distance tiles + a bounded list per row, so
// the only memory beyond the output is per-thread scratch (a chunk of query rows, one candidate panel,
// the heaps): O(B·N·k + threads·tile), never an N×M distance matrix.
//
// Work items are (batch, chunk of query rows); each item streams every candidate of its batch through
// packed panels. Lists are ordered by the key (distance, index), and distances are bit-symmetric, so a
// row's result depends only on its own distances: never on how rows were grouped, whether a pair was
// computed as (i, j) or (j, i), or which thread ran it. The output is deterministic.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "knn_tile.h"
#include "sacl/ops.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {

using knn::RowTileKernel;
using knn::TileKernel;
using knn::TileSet;

namespace {

bool cpuHas(const char* feature) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (std::strcmp(feature, "avx512f") == 0) return __builtin_cpu_supports("avx512f");
  if (std::strcmp(feature, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  (void)feature;
  return false;
}

// The best tile set this build and this CPU support; SACL_CPU_ISA=generic|avx2|avx512 caps it (for tests).
const TileSet& selectTiles() {
  const char* env = std::getenv("SACL_CPU_ISA");
  const std::string cap = env ? env : "";
#if defined(SACL_HAVE_AVX512)
  if ((cap.empty() || cap == "avx512") && cpuHas("avx512f") && cpuHas("avx2")) return knn::kTilesAvx512;
#endif
#if defined(SACL_HAVE_AVX2)
  if ((cap.empty() || cap == "avx512" || cap == "avx2") && cpuHas("avx2")) return knn::kTilesAvx2;
#endif
  return knn::kTilesGeneric;
}

const TileSet& tiles() {
  static const TileSet& set = selectTiles();
  return set;
}

// Long lists are max-heaps of Neighbour keys (sacl/knn.h): the root is the worst kept one.

void siftDown(Neighbour* h, int64_t n, int64_t i) {
  const Neighbour v = h[i];
  for (;;) {
    int64_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && before(h[c], h[c + 1])) ++c;
    if (!before(v, h[c])) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = v;
}

void siftUp(Neighbour* h, int64_t i) {
  const Neighbour v = h[i];
  while (i > 0) {
    const int64_t p = (i - 1) / 2;
    if (!before(h[p], v)) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = v;
}

// Carves 64-byte-aligned arrays out of one per-thread buffer that grows only (reused across calls).
class Scratch {
 public:
  void begin(size_t bytes) {
    if (buf_.size() < bytes + 64 * 16) buf_.assign(bytes + 64 * 16, 0);
    offset_ = 0;
  }
  template <class T>
  T* take(size_t count) {
    offset_ = (offset_ + 63) & ~size_t{63};
    T* p = reinterpret_cast<T*>(buf_.data() + offset_);
    offset_ += count * sizeof(T);
    return p;
  }

 private:
  std::vector<char> buf_;
  size_t offset_ = 0;
};

struct Plan {
  const KnnGraphArgs& a;
  const TileSet& tiles;
  bool rowTiles;   // wide rows: the row tile instead of packed panels
  bool symmetric;  // self-graph, one item per batch: each pair is computed once and offered to both rows
  int64_t kd;      // k · dilation
  int64_t chunk;   // query rows per work item
  int64_t chunks;  // work items per batch
};

// Prepares `rows` rows of a [*, D] array and returns where their values are: the source itself, or an
// L2-normalized copy in dst when normalizing (cosine too: its dot products then never leave float32's
// range). Fills the cosine inverse norms of the rows returned (sacl/knn.h prepareRow).
const float* loadRows(const Plan& p, const float* src, int64_t rows, float* dst, float* invNorm) {
  const int64_t D = p.a.D;
  if (!p.a.normalize && p.a.metric != Metric::Cosine) return src;
  const bool copy = p.a.normalize;
  for (int64_t r = 0; r < rows; ++r) invNorm[r] = prepareRow(src + r * D, D, copy ? dst + r * D : nullptr);
  return copy ? dst : src;
}

// Lists up to this long are kept sorted by insertion (a few shifts, well predicted); longer ones in a heap.
constexpr int64_t kSortedListMax = 32;

// Adds candidate (d, j) to a row's neighbour list, ordered by the key (distance, index) of sacl/knn.h.
// The worst kept neighbour sits at h[kd − 1] in sorted lists, at h[0] in heaps.
inline void offer(Neighbour* h, int64_t& count, int64_t kd, float d, int32_t j) {
  const Neighbour nb{d, j};
  if (kd <= kSortedListMax) {
    insertSorted(h, count, kd, nb);
  } else if (count < kd) {
    h[count] = nb;
    siftUp(h, count++);
  } else if (before(nb, h[0])) {
    h[0] = nb;
    siftDown(h, kd, 0);
  }
}

// The admission threshold of a row: its k-th best distance when the list is full, +inf before.
inline float threshold(const Neighbour* h, int64_t count, int64_t kd) {
  if (count < kd) return std::numeric_limits<float>::infinity();
  return kd <= kSortedListMax ? h[kd - 1].d : h[0].d;
}

// The rows of one work item and their heaps.
struct ItemState {
  int64_t b, i0, Q;
  const float* x;   // Q rows of D values (possibly a normalized copy)
  float* rowInv;    // Q cosine inverse norms
  Neighbour* heaps;  // Q × kd neighbour lists
  int64_t* count;   // Q
};

ItemState beginItem(const Plan& p, int64_t item, Scratch& s, size_t extraBytes) {
  const KnnGraphArgs& a = p.a;
  ItemState st{};
  st.b = item / p.chunks;
  st.i0 = (item % p.chunks) * p.chunk;
  st.Q = std::min(p.chunk, a.N - st.i0);
  s.begin(st.Q * a.D * 4 + st.Q * 4 + st.Q * p.kd * sizeof(Neighbour) + st.Q * 8 + extraBytes);
  float* xs = s.take<float>(st.Q * a.D);
  st.rowInv = s.take<float>(st.Q);
  st.heaps = s.take<Neighbour>(st.Q * p.kd);
  st.count = s.take<int64_t>(st.Q);
  st.x = loadRows(p, a.x + (st.b * a.N + st.i0) * a.D, st.Q, xs, st.rowInv);
  std::fill(st.count, st.count + st.Q, 0);
  return st;
}

// Sorts each row's heap by (distance, index) and writes positions 0, d, 2d, … (dilated KNN).
void finishItem(const Plan& p, const ItemState& st, int32_t* out) {
  for (int64_t i = 0; i < st.Q; ++i) {
    Neighbour* h = st.heaps + i * p.kd;
    if (p.kd > kSortedListMax) std::sort(h, h + p.kd, [](const Neighbour& u, const Neighbour& v) { return before(u, v); });
    int32_t* o = out + (st.b * p.a.N + st.i0 + i) * p.a.k;
    for (int64_t t = 0; t < p.a.k; ++t) o[t] = h[t * p.a.dilation].j;
  }
}

// Bits of lanes c whose candidate j0 + c lies in [lo, hi) (clipped to the panel's NR lanes).
inline uint32_t laneRange(int64_t j0, int64_t lo, int64_t hi, int nr) {
  const int64_t a = std::max<int64_t>(0, lo - j0), b = std::min<int64_t>(nr, hi - j0);
  if (a >= b) return 0;
  const uint64_t bits = ((uint64_t{1} << (b - a)) - 1) << a;
  return static_cast<uint32_t>(bits);
}

// Packed panels: the candidates of the item's batch stream through [D][NR] panels (candidate c in lane c).
// Self-graphs (p.symmetric) take only the tiles on and above the diagonal: pair (i, j), j > i, goes to
// row i's list and, transposed, to row j's.
void runPanelItem(const Plan& p, int64_t item, Scratch& s, int32_t* out) {
  const KnnGraphArgs& a = p.a;
  const TileKernel& kernel = p.tiles.panels[static_cast<int>(a.metric)];
  const int64_t D = a.D, M = a.M, kd = p.kd;
  const int MR = kernel.mr, NR = kernel.nr;
  const ItemState st = beginItem(p, item, s, (2 * NR * D + 3 * NR + 2 * MR * NR + 3 * MR) * 4);
  float* panel = s.take<float>(NR * D);
  float* ys = s.take<float>(NR * D);
  float* colInv = s.take<float>(NR);
  float* thrCol = s.take<float>(NR);
  float* thr = s.take<float>(MR);
  float* dist = s.take<float>(MR * NR);
  uint32_t* mask = s.take<uint32_t>(MR);
  uint32_t* colMask = s.take<uint32_t>(MR);

  for (int64_t j0 = 0; j0 < M; j0 += NR) {
    const int64_t valid = std::min<int64_t>(NR, M - j0);
    const float* yrows = loadRows(p, a.y + (st.b * M + j0) * D, valid, ys, colInv);
    for (int64_t c = valid; c < NR; ++c) colInv[c] = 0;
    // transpose row by row: contiguous reads, NR-strided writes (the panel stays in L1/L2)
    for (int64_t c = 0; c < valid; ++c) {
      const float* __restrict src = yrows + c * D;
      float* __restrict dst = panel + c;
      for (int64_t d = 0; d < D; ++d) dst[d * NR] = src[d];
    }
    if (valid < NR) {
      for (int64_t d = 0; d < D; ++d) std::fill(panel + d * NR + valid, panel + (d + 1) * NR, 0.0f);  // masked out below
    }
    const uint32_t validBits = laneRange(j0, j0, M, NR);
    // self-graphs: row groups below the panel's last candidate (the others only hold pairs j < i)
    const int64_t groupsEnd = p.symmetric ? std::min<int64_t>(st.Q, j0 + valid) : st.Q;
    for (int64_t c = valid; c < NR; ++c) thrCol[c] = 0.0f;

    for (int64_t g = 0; g < groupsEnd; g += MR) {
      // the candidates' own thresholds fall as transposed offers arrive: refresh them per row group
      if (p.symmetric) {
        for (int64_t c = 0; c < valid; ++c) thrCol[c] = threshold(st.heaps + (j0 + c) * kd, st.count[j0 + c], kd);
      }
      const float* rows[32];
      for (int r = 0; r < MR; ++r) {
        const int64_t i = std::min<int64_t>(g + r, st.Q - 1);  // a partial group repeats its last row
        rows[r] = st.x + i * D;
        thr[r] = threshold(st.heaps + i * kd, st.count[i], kd);
      }
      kernel.run(rows, panel, D, st.rowInv + g, colInv, thr, p.symmetric ? thrCol : nullptr, dist, mask, colMask);
      for (int r = 0; r < MR && g + r < st.Q; ++r) {
        const int64_t i = g + r;
        // self-graphs: row i takes candidates j ≥ i here (j < i reach it transposed)
        uint32_t bits = (st.count[i] < kd ? validBits : mask[r]) & (p.symmetric ? laneRange(j0, i, M, NR) : validBits);
        while (bits) {
          const int c = __builtin_ctz(bits);
          bits &= bits - 1;
          offer(st.heaps + i * kd, st.count[i], kd, dist[r * NR + c], static_cast<int32_t>(j0 + c));
        }
        if (!p.symmetric) continue;
        uint32_t cols = colMask[r] & laneRange(j0, i + 1, M, NR);
        while (cols) {
          const int c = __builtin_ctz(cols);
          cols &= cols - 1;
          const int64_t j = j0 + c;
          offer(st.heaps + j * kd, st.count[j], kd, dist[r * NR + c], static_cast<int32_t>(i));
        }
      }
    }
  }
  finishItem(p, st, out);
}

// Row tiles: query and candidate rows are read in place, vectorized along D. Self-graphs as above.
void runRowItem(const Plan& p, int64_t item, Scratch& s, int32_t* out) {
  const KnnGraphArgs& a = p.a;
  const RowTileKernel& kernel = p.tiles.rows[static_cast<int>(a.metric)];
  const int64_t D = a.D, M = a.M, kd = p.kd;
  const int MR = kernel.mr, NC = kernel.nc;
  const ItemState st = beginItem(p, item, s, (NC * D + NC + MR * NC) * 4);
  float* ys = s.take<float>(NC * D);
  float* colInv = s.take<float>(NC);
  float* dist = s.take<float>(MR * NC);
  const bool cosine = a.metric == Metric::Cosine;

  for (int64_t j0 = 0; j0 < M; j0 += NC) {
    const int64_t valid = std::min<int64_t>(NC, M - j0);
    const float* yrows = loadRows(p, a.y + (st.b * M + j0) * D, valid, ys, colInv);
    const float* cands[16];
    for (int c = 0; c < NC; ++c) cands[c] = yrows + std::min<int64_t>(c, valid - 1) * D;
    const int64_t groupsEnd = p.symmetric ? std::min<int64_t>(st.Q, j0 + valid) : st.Q;
    for (int64_t g = 0; g < groupsEnd; g += MR) {
      const float* rows[16];
      for (int r = 0; r < MR; ++r) rows[r] = st.x + std::min<int64_t>(g + r, st.Q - 1) * D;
      kernel.run(rows, cands, D, dist);
      for (int r = 0; r < MR && g + r < st.Q; ++r) {
        const int64_t i = g + r;
        for (int c = 0; c < valid; ++c) {
          const int64_t j = j0 + c;
          if (p.symmetric && j < i) continue;  // reaches row i transposed
          float d = dist[r * NC + c];
          if (cosine) d = cosineDistance(d, st.rowInv[i], colInv[c]);
          offer(st.heaps + i * kd, st.count[i], kd, d, static_cast<int32_t>(j));
          if (p.symmetric && j > i) offer(st.heaps + j * kd, st.count[j], kd, d, static_cast<int32_t>(i));
        }
      }
    }
  }
  finishItem(p, st, out);
}

// Row tiles win once rows are wide enough that packing and per-tile epilogues dominate the panels.
constexpr int64_t kRowTileMinD = 256;

}  // namespace

void knnGraph(const KnnGraphArgs& a, int32_t* out) {
  const TileSet& set = tiles();
  const bool rowTiles = a.D >= kRowTileMinD;
  const int metric = static_cast<int>(a.metric);
  const int mr = rowTiles ? set.rows[metric].mr : set.panels[metric].mr;
  const int64_t threads = numThreads();
  // self-graphs with enough batches to keep every thread busy: one item per batch, half the distances
  const bool symmetric = a.y == a.x && a.M == a.N && a.B >= 2 * threads;
  int64_t chunk = a.N;
  if (!symmetric) {
    // enough items to balance the threads, few enough that each amortizes reading its batch's candidates
    chunk = (a.B * a.N + 4 * threads - 1) / (4 * threads);
    chunk = std::min(a.N, std::max<int64_t>(mr * 4, std::min<int64_t>(chunk, 256)));
  }
  const Plan plan{a, set, rowTiles, symmetric, a.k * a.dilation, chunk, (a.N + chunk - 1) / chunk};
  parallelFor(a.B * plan.chunks, 1, [&](int64_t begin, int64_t end) {
    thread_local Scratch scratch;
    for (int64_t item = begin; item < end; ++item) {
      if (plan.rowTiles) runRowItem(plan, item, scratch, out);
      else runPanelItem(plan, item, scratch, out);
    }
  });
}

const char* knnIsa() { return tiles().isa; }

}  // namespace cpu
}  // namespace sacl
