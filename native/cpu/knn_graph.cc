// Batched dense KNN graph on the CPU (SPEC §1.1): fused distance tiles + a bounded list per row, so
// the only memory beyond the output is per-thread scratch (a chunk of query rows, one candidate panel,
// the heaps): O(B·N·k + threads·tile), never an N×M distance matrix.
//
// Work items are (batch, chunk of query rows); each item streams every candidate of its batch through
// packed panels in ascending index order. A row's result depends only on its own distances, never on how
// rows were grouped or on the thread that ran them, so the output is deterministic.
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

using knn::Form;
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
  if ((cap.empty() || cap == "avx512") && cpuHas("avx512f") && cpuHas("avx2")) return knn::tilesAvx512();
#endif
#if defined(SACL_HAVE_AVX2)
  if ((cap.empty() || cap == "avx512" || cap == "avx2") && cpuHas("avx2")) return knn::tilesAvx2();
#endif
  return knn::tilesGeneric();
}

const TileSet& tiles() {
  static const TileSet& set = selectTiles();
  return set;
}

Form formOf(Metric m) {
  switch (m) {
    case Metric::Cosine: return Form::Cosine;
    case Metric::Manhattan: return Form::L1;
    default: return Form::SquaredL2;
  }
}

// A kept neighbour. Long lists are max-heaps keyed by (distance, index): the root is the worst kept one.
struct Neighbour {
  float d;
  int32_t j;
};
inline bool worse(const Neighbour& a, const Neighbour& b) { return a.d > b.d || (a.d == b.d && a.j > b.j); }

void siftDown(Neighbour* h, int64_t n, int64_t i) {
  const Neighbour v = h[i];
  for (;;) {
    int64_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && worse(h[c + 1], h[c])) ++c;
    if (!worse(h[c], v)) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = v;
}

void siftUp(Neighbour* h, int64_t i) {
  const Neighbour v = h[i];
  while (i > 0) {
    const int64_t p = (i - 1) / 2;
    if (!worse(v, h[p])) break;
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
  Form form;
  bool rowTiles;   // wide rows: the row tile instead of packed panels
  int64_t kd;      // k · dilation
  int64_t chunk;   // query rows per work item
  int64_t chunks;  // work items per batch
};

// Prepares `rows` rows of a [*, D] array and returns where their values are: the source itself, or an
// L2-normalized copy in dst when normalizing. Fills the cosine inverse norms (0 for a zero row). Norms are
// taken in double, like the reference.
const float* loadRows(const Plan& p, const float* src, int64_t rows, float* dst, float* invNorm) {
  const int64_t D = p.a.D;
  if (!p.a.normalize && p.form != Form::Cosine) return src;
  // cosine needs no normalized copy: the inverse norms enter its epilogue
  const bool copy = p.a.normalize && p.form != Form::Cosine;
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * D;
    double ss = 0;
    for (int64_t d = 0; d < D; ++d) ss += static_cast<double>(s[d]) * s[d];
    const double inv = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;
    if (copy) {
      float* o = dst + r * D;
      for (int64_t d = 0; d < D; ++d) o[d] = static_cast<float>(s[d] * inv);
    }
    if (invNorm) invNorm[r] = static_cast<float>(inv);
  }
  return copy ? dst : src;
}

// Lists up to this long are kept sorted by insertion (a few shifts, well predicted); longer ones in a heap.
constexpr int64_t kSortedListMax = 32;

// Adds candidate (d, j) to a row's neighbour list (the worst kept neighbour sits at h[kd − 1] for sorted
// lists, at h[0] for heaps). Candidates arrive in ascending index order, so a tie with a kept neighbour
// never displaces it and lands after it: ties go to the lower index.
inline void offer(Neighbour* h, int64_t& count, int64_t kd, float d, int32_t j) {
  if (kd <= kSortedListMax) {
    int64_t t;
    if (count < kd) {
      t = count++;
    } else if (d < h[kd - 1].d) {
      t = kd - 1;
    } else {
      return;
    }
    for (; t > 0 && h[t - 1].d > d; --t) h[t] = h[t - 1];
    h[t] = Neighbour{d, j};
  } else if (count < kd) {
    h[count] = Neighbour{d, j};
    siftUp(h, count++);
  } else if (d < h[0].d) {
    h[0] = Neighbour{d, j};
    siftDown(h, kd, 0);
  }
}

// The current k-th best distance of a full list (the admission threshold).
inline float worstKept(const Neighbour* h, int64_t kd) { return kd <= kSortedListMax ? h[kd - 1].d : h[0].d; }

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
    if (p.kd > kSortedListMax) std::sort(h, h + p.kd, [](const Neighbour& u, const Neighbour& v) { return worse(v, u); });
    int32_t* o = out + (st.b * p.a.N + st.i0 + i) * p.a.k;
    for (int64_t t = 0; t < p.a.k; ++t) o[t] = h[t * p.a.dilation].j;
  }
}

// Packed panels: the candidates of the item's batch stream through [D][NR] panels (candidate c in lane c).
void runPanelItem(const Plan& p, int64_t item, Scratch& s, int32_t* out) {
  const KnnGraphArgs& a = p.a;
  const TileKernel& kernel = p.tiles.form[static_cast<int>(p.form)];
  const int64_t D = a.D, M = a.M, kd = p.kd;
  const int MR = kernel.mr, NR = kernel.nr;
  const ItemState st = beginItem(p, item, s, (2 * NR * D + 2 * NR + 2 * MR * NR + 2 * MR) * 4);
  float* panel = s.take<float>(NR * D);
  float* ys = s.take<float>(NR * D);
  float* colInv = s.take<float>(NR);
  float* thr = s.take<float>(MR);
  float* dist = s.take<float>(MR * NR);
  uint32_t* mask = s.take<uint32_t>(MR);
  const float inf = std::numeric_limits<float>::infinity();

  for (int64_t j0 = 0; j0 < M; j0 += NR) {
    const int64_t valid = std::min<int64_t>(NR, M - j0);
    const float* yrows = loadRows(p, a.y + (st.b * M + j0) * D, valid, ys, colInv);
    for (int64_t c = valid; c < NR; ++c) colInv[c] = 0;
    for (int64_t d = 0; d < D; ++d) {
      float* col = panel + d * NR;
      for (int64_t c = 0; c < valid; ++c) col[c] = yrows[c * D + d];
      for (int64_t c = valid; c < NR; ++c) col[c] = 0;  // masked out below
    }
    const uint32_t validBits = valid >= 32 ? 0xffffffffu : ((1u << valid) - 1);

    for (int64_t g = 0; g < st.Q; g += MR) {
      const float* rows[32];
      for (int r = 0; r < MR; ++r) {
        const int64_t i = std::min<int64_t>(g + r, st.Q - 1);  // a partial group repeats its last row
        rows[r] = st.x + i * D;
        thr[r] = st.count[i] == kd ? worstKept(st.heaps + i * kd, kd) : inf;
      }
      kernel.run(rows, panel, D, st.rowInv + g, colInv, thr, dist, mask);
      for (int r = 0; r < MR && g + r < st.Q; ++r) {
        const int64_t i = g + r;
        // a row whose list is not full takes every candidate (even one at +inf after overflow)
        uint32_t bits = (st.count[i] < kd ? validBits : mask[r]) & validBits;
        while (bits) {
          const int c = __builtin_ctz(bits);
          bits &= bits - 1;
          offer(st.heaps + i * kd, st.count[i], kd, dist[r * NR + c], static_cast<int32_t>(j0 + c));
        }
      }
    }
  }
  finishItem(p, st, out);
}

// Row tiles: query and candidate rows are read in place, vectorized along D.
void runRowItem(const Plan& p, int64_t item, Scratch& s, int32_t* out) {
  const KnnGraphArgs& a = p.a;
  const RowTileKernel& kernel = p.tiles.rows[static_cast<int>(p.form)];
  const int64_t D = a.D, M = a.M, kd = p.kd;
  const int MR = kernel.mr, NC = kernel.nc;
  const ItemState st = beginItem(p, item, s, (NC * D + NC + MR * NC) * 4);
  float* ys = s.take<float>(NC * D);
  float* colInv = s.take<float>(NC);
  float* dist = s.take<float>(MR * NC);
  const bool cosine = p.form == Form::Cosine;

  for (int64_t j0 = 0; j0 < M; j0 += NC) {
    const int64_t valid = std::min<int64_t>(NC, M - j0);
    const float* yrows = loadRows(p, a.y + (st.b * M + j0) * D, valid, ys, colInv);
    const float* cands[16];
    for (int c = 0; c < NC; ++c) cands[c] = yrows + std::min<int64_t>(c, valid - 1) * D;
    for (int64_t g = 0; g < st.Q; g += MR) {
      const float* rows[16];
      for (int r = 0; r < MR; ++r) rows[r] = st.x + std::min<int64_t>(g + r, st.Q - 1) * D;
      kernel.run(rows, cands, D, dist);
      for (int r = 0; r < MR && g + r < st.Q; ++r) {
        const int64_t i = g + r;
        for (int c = 0; c < valid; ++c) {
          float d = dist[r * NC + c];
          // 1 − x·y/(‖x‖‖y‖), never negative; a zero vector has inverse norm 0, hence distance 1
          if (cosine) d = std::max(0.0f, 1.0f - d * st.rowInv[i] * colInv[c]);
          offer(st.heaps + i * kd, st.count[i], kd, d, static_cast<int32_t>(j0 + c));
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
  const Form form = formOf(a.metric);
  const bool rowTiles = a.D >= kRowTileMinD;
  const int mr = rowTiles ? set.rows[static_cast<int>(form)].mr : set.form[static_cast<int>(form)].mr;
  // enough items to balance the threads, few enough that each amortizes reading its batch's candidates
  const int64_t threads = numThreads();
  int64_t chunk = (a.B * a.N + 4 * threads - 1) / (4 * threads);
  chunk = std::max<int64_t>(mr * 4, std::min<int64_t>(chunk, 256));
  chunk = std::min(chunk, a.N);
  const Plan plan{a, set, form, rowTiles, a.k * a.dilation, chunk, (a.N + chunk - 1) / chunk};
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
