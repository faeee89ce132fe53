// Batched dense KNN graph on the CPU (SPEC §1.1): fused distance tiles + a per-row bounded max-heap, so
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

// Bounded max-heap of (distance, index) keyed lexicographically: the root is the worst kept neighbour.
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

template <class T>
T* alignUp(std::vector<char>& buf, size_t count, size_t& offset) {
  offset = (offset + 63) & ~size_t{63};
  T* p = reinterpret_cast<T*>(buf.data() + offset);
  offset += count * sizeof(T);
  return p;
}

// Per-thread scratch, reused across items and calls (grows only).
struct Scratch {
  std::vector<char> buf;
  void reserve(size_t bytes) {
    if (buf.size() < bytes) buf.assign(bytes, 0);
  }
};

struct Plan {
  const KnnGraphArgs& a;
  const TileKernel& kernel;
  Form form;
  int64_t kd;      // k · dilation
  int64_t chunk;   // query rows per work item
  int64_t chunks;  // work items per batch
};

// Copies `rows` rows of a [*, D] array into dst (row-major), L2-normalized when asked, and fills the
// cosine inverse norms. Norms are taken in double, like the reference.
void loadRows(const Plan& p, const float* src, int64_t rows, float* dst, float* invNorm) {
  const int64_t D = p.a.D;
  const bool needNorm = p.a.normalize || p.form == Form::Cosine;
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + r * D;
    float* o = dst + r * D;
    double inv = 0;
    if (needNorm) {
      double ss = 0;
      for (int64_t d = 0; d < D; ++d) ss += static_cast<double>(s[d]) * s[d];
      inv = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;
    }
    // cosine needs no normalized copy: the inverse norms enter its epilogue
    if (p.a.normalize && p.form != Form::Cosine) {
      for (int64_t d = 0; d < D; ++d) o[d] = static_cast<float>(s[d] * inv);
    } else {
      std::memcpy(o, s, D * sizeof(float));
    }
    if (invNorm) invNorm[r] = static_cast<float>(inv);
  }
}

void runItem(const Plan& p, int64_t item, Scratch& s, int32_t* out) {
  const KnnGraphArgs& a = p.a;
  const int64_t b = item / p.chunks;
  const int64_t i0 = (item % p.chunks) * p.chunk;
  const int64_t Q = std::min(p.chunk, a.N - i0);
  const int64_t D = a.D, M = a.M, kd = p.kd;
  const int MR = p.kernel.mr, NR = p.kernel.nr;

  size_t off = 0;
  const size_t need = 64 * 16 + Q * D * 4 + Q * 4 + NR * D * 4 + NR * 4 + NR * 4 + MR * NR * 4 + MR * 8 +
                      Q * kd * sizeof(Neighbour) + Q * 8 + NR * D * 4;
  s.reserve(need);
  float* xs = alignUp<float>(s.buf, Q * D, off);
  float* rowInv = alignUp<float>(s.buf, Q, off);
  float* panel = alignUp<float>(s.buf, NR * D, off);
  float* colInv = alignUp<float>(s.buf, NR, off);
  float* thr = alignUp<float>(s.buf, MR, off);
  float* dist = alignUp<float>(s.buf, MR * NR, off);
  uint32_t* mask = alignUp<uint32_t>(s.buf, MR, off);
  Neighbour* heaps = alignUp<Neighbour>(s.buf, Q * kd, off);
  int64_t* count = alignUp<int64_t>(s.buf, Q, off);
  float* ys = alignUp<float>(s.buf, NR * D, off);

  loadRows(p, a.x + (b * a.N + i0) * D, Q, xs, rowInv);
  std::fill(count, count + Q, 0);
  const float inf = std::numeric_limits<float>::infinity();

  for (int64_t j0 = 0; j0 < M; j0 += NR) {
    const int64_t valid = std::min<int64_t>(NR, M - j0);
    // pack the panel [D][NR]: candidate c in lane c; missing candidates are zero and masked out below
    loadRows(p, a.y + (b * M + j0) * D, valid, ys, colInv);
    for (int64_t c = valid; c < NR; ++c) colInv[c] = 0;
    for (int64_t d = 0; d < D; ++d) {
      float* col = panel + d * NR;
      for (int64_t c = 0; c < valid; ++c) col[c] = ys[c * D + d];
      for (int64_t c = valid; c < NR; ++c) col[c] = 0;
    }
    const uint32_t validBits = valid == 32 ? 0xffffffffu : ((1u << valid) - 1);

    for (int64_t g = 0; g < Q; g += MR) {
      const float* rows[32];
      for (int r = 0; r < MR; ++r) {
        const int64_t i = std::min<int64_t>(g + r, Q - 1);
        rows[r] = xs + i * D;
        thr[r] = count[i] == kd ? heaps[i * kd].d : inf;
      }
      p.kernel.run(rows, panel, D, rowInv + g, colInv, thr, dist, mask);
      for (int r = 0; r < MR && g + r < Q; ++r) {
        const int64_t i = g + r;
        Neighbour* h = heaps + i * kd;
        // a row whose list is not full takes every candidate (even one at +inf after overflow)
        uint32_t bits = (count[i] < kd ? validBits : mask[r]) & validBits;
        while (bits) {
          const int c = __builtin_ctz(bits);
          bits &= bits - 1;
          const Neighbour nb{dist[r * NR + c], static_cast<int32_t>(j0 + c)};
          if (count[i] < kd) {
            h[count[i]] = nb;
            siftUp(h, count[i]++);
          } else if (nb.d < h[0].d) {  // candidates arrive in ascending index order: a tie never displaces
            h[0] = nb;
            siftDown(h, kd, 0);
          }
        }
      }
    }
  }

  // sorted by (distance, index); keep positions 0, d, 2d, … (dilated KNN)
  for (int64_t i = 0; i < Q; ++i) {
    Neighbour* h = heaps + i * kd;
    std::sort(h, h + kd, [](const Neighbour& u, const Neighbour& v) { return worse(v, u); });
    int32_t* o = out + (b * a.N + i0 + i) * a.k;
    for (int64_t t = 0; t < a.k; ++t) o[t] = h[t * a.dilation].j;
  }
}

}  // namespace

void knnGraph(const KnnGraphArgs& a, int32_t* out) {
  const TileSet& set = tiles();
  const Form form = formOf(a.metric);
  const TileKernel& kernel = set.form[static_cast<int>(form)];
  // enough items to balance the threads, few enough that each amortizes its panel packing (M·D per item)
  const int64_t threads = numThreads();
  int64_t chunk = (a.B * a.N + 4 * threads - 1) / (4 * threads);
  chunk = std::max<int64_t>(kernel.mr * 4, std::min<int64_t>(chunk, 256));
  chunk = std::min(chunk, a.N);
  const Plan plan{a, kernel, form, a.k * a.dilation, chunk, (a.N + chunk - 1) / chunk};
  parallelFor(a.B * plan.chunks, 1, [&](int64_t begin, int64_t end) {
    thread_local Scratch scratch;
    for (int64_t item = begin; item < end; ++item) runItem(plan, item, scratch, out);
  });
}

const char* knnIsa() { return tiles().isa; }

}  // namespace cpu
}  // namespace sacl
