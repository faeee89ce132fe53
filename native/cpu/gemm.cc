// Batched single-precision matrix product C = op(A) · op(B), row-major, for the tfjs BatchMatMul kernel
// (src/tf/kernels.ts). tfjs' wasm and cpu backends multiply at 1–2 GFLOP/s; this packs panels and runs
// a 6×32 register-tiled micro-kernel written with GCC vector extensions, cloned for AVX-512 and AVX2.
//
// Determinism: every C element sums its K products in increasing k, in KC-long blocks added in order, on
// whichever thread owns its row block: the result never depends on the thread count.
#include <algorithm>
#include <cstring>
#include <vector>

#include "sacl/ops.h"
#include "sacl/parallel.h"

// fp-contract here only (the project builds with -ffp-contract=off): fused multiply-adds double the
// micro-kernel's throughput, and the product has no reference it must match bit for bit.
#if defined(__GNUC__) && !defined(__clang__)
#define SACL_GEMM_CLONES SACL_WIDE_CHANNEL_LOOP __attribute__((optimize("fp-contract=fast")))
#else
#define SACL_GEMM_CLONES SACL_WIDE_CHANNEL_LOOP
#endif

namespace sacl {
namespace cpu {
namespace {

constexpr int64_t MR = 6;     // rows of the micro-tile
static_assert(MR <= kGemmGatherMaxRows, "a gather fills one micro-tile's rows at a time");
constexpr int64_t NR = 32;    // columns of the micro-tile (two 16-float vectors)
constexpr int64_t KC = 256;   // depth of one packed block
constexpr int64_t MC_MAX = 384;  // most rows one task owns: each task packs its own B, once per MC rows
constexpr int64_t kSplitMinBlocks = 16;  // K blocks from which a deep, narrow product splits K
constexpr int64_t kMaxChunks = 16;       // most K chunks (each a partial C to sum)
constexpr int64_t kNarrow = 16;          // op(B) at most this wide (or op(A) this tall): the narrow path
constexpr int64_t kNarrowWork = 1 << 16;  // multiply-adds of a 16-wide row per narrow task, at least

// The 64-byte vector type is passed by value only inside inlined helpers; GCC's note about its ABI when
// AVX-512 is off (the default clone) does not concern us.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v16 __attribute__((vector_size(64)));

inline v16 load16(const float* p) {
  v16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store16(float* p, const v16& v) { std::memcpy(p, &v, sizeof v); }

// tile[MR][NR] = Σ_k ap[k][i] · bp[k][j] over kc steps (ap: kc × MR, bp: kc × NR, both packed).
SACL_GEMM_CLONES
void microKernel(int64_t kc, const float* ap, const float* bp, float* tile) {
  v16 c00{}, c01{}, c10{}, c11{}, c20{}, c21{}, c30{}, c31{}, c40{}, c41{}, c50{}, c51{};
  for (int64_t k = 0; k < kc; k++) {
    const v16 b0 = load16(bp + k * NR);
    const v16 b1 = load16(bp + k * NR + 16);
    const float* a = ap + k * MR;
    c00 += a[0] * b0; c01 += a[0] * b1;
    c10 += a[1] * b0; c11 += a[1] * b1;
    c20 += a[2] * b0; c21 += a[2] * b1;
    c30 += a[3] * b0; c31 += a[3] * b1;
    c40 += a[4] * b0; c41 += a[4] * b1;
    c50 += a[5] * b0; c51 += a[5] * b1;
  }
  const v16 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int64_t i = 0; i < MR; i++) {
    store16(tile + i * NR, rows[i][0]);
    store16(tile + i * NR + 16, rows[i][1]);
  }
}

// B block rows [k0, k0 + kc), panels [p0, p1) of NR columns, zero-padded: bp[panel − p0][k][j].
void packB(const GemmArgs& g, const float* b, int64_t k0, int64_t kc, int64_t p0, int64_t p1, float* bp) {
  const int64_t ldb = g.transB ? g.K : g.N;
  for (int64_t p = p0; p < p1; p++) {
    float* dst = bp + (p - p0) * kc * NR;
    const int64_t n0 = p * NR;
    const int64_t width = std::min(NR, g.N - n0);
    if (!g.transB) {
      for (int64_t k = 0; k < kc; k++) {
        float* row = dst + k * NR;
        std::memcpy(row, b + (k0 + k) * ldb + n0, width * sizeof(float));
        for (int64_t j = width; j < NR; j++) row[j] = 0.f;
      }
      continue;
    }
    // op(B) columns are rows of B: read each along k (contiguous), write the panel's column j
    for (int64_t j = 0; j < width; j++) {
      const float* src = b + (n0 + j) * ldb + k0;
      for (int64_t k = 0; k < kc; k++) dst[k * NR + j] = src[k];
    }
    for (int64_t k = 0; width < NR && k < kc; k++) {
      for (int64_t j = width; j < NR; j++) dst[k * NR + j] = 0.f;
    }
  }
}

// A rows [m0, m0 + MR) × block [k0, k0 + kc), zero-padded past M: ap[k][i].
void packA(const GemmArgs& g, const float* a, int64_t m0, int64_t k0, int64_t kc, float* ap) {
  const int64_t rows = std::min(MR, g.M - m0);
  if (g.transA && !g.gatherA) {
    // op(A) rows are columns of A: each k reads `rows` consecutive floats
    const float* src = a + k0 * g.M + m0;
    for (int64_t k = 0; k < kc; k++) {
      float* dst = ap + k * MR;
      const float* col = src + k * g.M;
      if (rows == MR) {
        for (int64_t i = 0; i < MR; i++) dst[i] = col[i];
      } else {
        for (int64_t i = 0; i < MR; i++) dst[i] = i < rows ? col[i] : 0.f;
      }
    }
    return;
  }
  if (g.gatherA) {
    g.gatherA->fill(g.gatherA->ctx, m0, rows, k0, kc, ap, MR);
  } else {
    for (int64_t i = 0; i < rows; i++) {
      const float* src = a + (m0 + i) * g.K + k0;
      for (int64_t k = 0; k < kc; k++) ap[k * MR + i] = src[k];
    }
  }
  for (int64_t i = rows; i < MR; i++) {
    for (int64_t k = 0; k < kc; k++) ap[k * MR + i] = 0.f;
  }
}

// C rows [m0, m1) × panels [p0, p1) of the product over k in [kBegin, kEnd) (kBegin a multiple of KC).
void gemmTile(const GemmArgs& g, const float* a, const float* b, float* c, int64_t m0, int64_t m1, int64_t p0, int64_t p1,
              int64_t kBegin, int64_t kEnd, std::vector<float>& bp, std::vector<float>& ap) {
  float tile[MR * NR];
  for (int64_t k0 = kBegin; k0 < kEnd; k0 += KC) {
    const int64_t kc = std::min(KC, kEnd - k0);
    bp.resize((p1 - p0) * kc * NR);
    packB(g, b, k0, kc, p0, p1, bp.data());
    ap.resize(kc * MR);
    for (int64_t mr = m0; mr < m1; mr += MR) {
      packA(g, a, mr, k0, kc, ap.data());
      const int64_t rows = std::min(MR, m1 - mr);
      for (int64_t p = p0; p < p1; p++) {
        microKernel(kc, ap.data(), bp.data() + (p - p0) * kc * NR, tile);
        const int64_t n0 = p * NR;
        const int64_t width = std::min(NR, g.N - n0);
        for (int64_t i = 0; i < rows; i++) {
          float* dst = c + (mr + i) * g.N + n0;
          const float* src = tile + i * NR;
          if (k0 == kBegin) {
            std::memcpy(dst, src, width * sizeof(float));
          } else {
            for (int64_t j = 0; j < width; j++) dst[j] += src[j];
          }
        }
      }
    }
  }
}

// One orientation of a narrow product: the rows of op(A) against an op(B) at most kNarrow columns wide,
// C element (m, n) at c[m · rowStride + n · colStride] (a product narrow in M is run transposed).
struct Narrow {
  int64_t M, N, K;
  bool transA, transB;
  int64_t rowStride, colStride;
  bool flipped;  // run as Cᵀ: the wide side is the product's B, the narrow side its A
};

// op(B), all K rows, in one zero-padded panel of kNarrow columns: bp[k][j].
void packNarrowB(const Narrow& p, const float* b, float* bp) {
  for (int64_t k = 0; k < p.K; k++) {
    float* row = bp + k * kNarrow;
    for (int64_t j = 0; j < kNarrow; j++) row[j] = j < p.N ? (p.transB ? b[j * p.K + k] : b[k * p.N + j]) : 0.f;
  }
}

// C rows [m0, m1) of a narrow product: six rows of op(A) at a time, read in place, each row's kNarrow
// sums in one vector over the whole of K (in increasing k: no blocking, so nothing to pack but op(B)).
// With N ≤ 16 the panel-blocked path wasted half its lanes or more and packed all of A for one panel.
SACL_GEMM_CLONES
void narrowRows(const Narrow& p, const float* a, const float* bp, int64_t m0, int64_t m1, float* c) {
  const int64_t rowStep = p.transA ? 1 : p.K;  // op(A)(m, k) = a[m · rowStep + k · kStep]
  const int64_t kStep = p.transA ? p.M : 1;
  for (int64_t m = m0; m < m1; m += MR) {
    const int64_t rows = std::min(MR, m1 - m);
    v16 acc[MR] = {};
    const float* a0 = a + m * rowStep;
    if (rows == MR) {
      v16 c0{}, c1{}, c2{}, c3{}, c4{}, c5{};
      for (int64_t k = 0; k < p.K; k++) {
        const v16 b = load16(bp + k * kNarrow);
        const float* ak = a0 + k * kStep;
        c0 += ak[0] * b;
        c1 += ak[rowStep] * b;
        c2 += ak[2 * rowStep] * b;
        c3 += ak[3 * rowStep] * b;
        c4 += ak[4 * rowStep] * b;
        c5 += ak[5 * rowStep] * b;
      }
      acc[0] = c0, acc[1] = c1, acc[2] = c2, acc[3] = c3, acc[4] = c4, acc[5] = c5;
    } else {
      for (int64_t k = 0; k < p.K; k++) {
        const v16 b = load16(bp + k * kNarrow);
        for (int64_t i = 0; i < rows; i++) acc[i] += a0[i * rowStep + k * kStep] * b;
      }
    }
    for (int64_t i = 0; i < rows; i++) {
      float* dst = c + (m + i) * p.rowStride;
      for (int64_t j = 0; j < p.N; j++) dst[j * p.colStride] = acc[i][j];
    }
  }
}

// Batch item `item`'s A and B (a side with one matrix serves every item).
inline const float* itemA(const GemmArgs& g, int64_t item) { return g.a + (g.batchA == 1 ? 0 : item) * g.M * g.K; }
inline const float* itemB(const GemmArgs& g, int64_t item) { return g.b + (g.batchB == 1 ? 0 : item) * g.K * g.N; }

// Deep, narrow products (a weight gradient: K = B·H·W, M × N one layer's weights): K in chunks of whole
// KC blocks that the shape fixes, each task one chunk of one item over all of C into its own partial, the
// partials then summed in chunk order, so the bits do not depend on the number of threads. Split by rows
// and panels instead, such a product had too few tasks, each packing all of A again for a single panel.
void gemmSplitK(const GemmArgs& g, float* c, int64_t batch, int64_t kBlocks) {
  const int64_t wantChunks = std::min(kMaxChunks, kBlocks / 4);
  const int64_t perChunk = (kBlocks + wantChunks - 1) / wantChunks;
  const int64_t chunks = (kBlocks + perChunk - 1) / perChunk;
  const int64_t panels = (g.N + NR - 1) / NR;
  const int64_t mn = g.M * g.N;
  std::vector<float> partial(static_cast<size_t>(batch * chunks * mn));
  parallelFor(batch * chunks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> bp, ap;
    for (int64_t t = begin; t < end; t++) {
      const int64_t item = t / chunks;
      const int64_t k0 = (t % chunks) * perChunk * KC;
      gemmTile(g, itemA(g, item), itemB(g, item), partial.data() + t * mn, 0, g.M, 0, panels, k0,
               std::min(g.K, k0 + perChunk * KC), bp, ap);
    }
  });
  parallelFor(batch * g.M, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      const float* first = partial.data() + (r / g.M) * chunks * mn + (r % g.M) * g.N;
      float* dst = c + r * g.N;
      std::memcpy(dst, first, g.N * sizeof(float));
      for (int64_t ch = 1; ch < chunks; ch++) {
        const float* src = first + ch * mn;
        for (int64_t j = 0; j < g.N; j++) dst[j] += src[j];
      }
    }
  });
}

// The narrow orientation of g, if it has one: narrow in N as it is, or narrow in M as Cᵀ = op(B)ᵀ · op(A)ᵀ.
// Only where the wide side's rows are contiguous along K; read across them, the blocked path's packing
// wins.
bool narrowOrientation(const GemmArgs& g, Narrow* p) {
  if (g.gatherA) return false;  // the narrow path reads op(A) in place: a gathered op(A) takes the blocked one
  *p = g.N > kNarrow ? Narrow{g.N, g.M, g.K, !g.transB, !g.transA, 1, g.N, true}
                     : Narrow{g.M, g.N, g.K, g.transA, g.transB, g.N, 1, false};
  return p->N <= kNarrow && !p->transA;
}

// A narrow product in orientation p: tasks are (batch item, rows of the wide side), each packing the
// narrow side once. Every element sums its K products in increasing k whatever the split, so the bits
// do not depend on the number of threads.
void gemmNarrow(const GemmArgs& g, const Narrow& p, float* c, int64_t batch) {
  // rows per task: 96 at the classifier's K 960; more where K is small (ResT's head mixing has K 2)
  const int64_t perTask = std::max<int64_t>(16, (kNarrowWork / p.K + MR - 1) / MR * MR);
  const int64_t chunks = (p.M + perTask - 1) / perTask;
  parallelFor(batch * chunks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> bp(static_cast<size_t>(p.K * kNarrow));
    int64_t packed = -1;
    for (int64_t t = begin; t < end; t++) {
      const int64_t item = t / chunks;
      const float* wide = p.flipped ? itemB(g, item) : itemA(g, item);
      const float* narrow = p.flipped ? itemA(g, item) : itemB(g, item);
      if (item != packed) packNarrowB(p, narrow, bp.data()), packed = item;
      const int64_t m0 = (t % chunks) * perTask;
      narrowRows(p, wide, bp.data(), m0, std::min(p.M, m0 + perTask), c + item * g.M * g.N);
    }
  });
}

}  // namespace

bool gemmCanGather(const GemmArgs& stored) {
  Narrow narrow;
  return stored.batchA == 1 && !narrowOrientation(stored, &narrow);
}

void gemm(const GemmArgs& g, float* c) {
  const int64_t batch = std::max(g.batchA, g.batchB);
  if (g.K == 0) {
    std::fill(c, c + batch * g.M * g.N, 0.f);
    return;
  }
  const int64_t kBlocks = (g.K + KC - 1) / KC;
  if (kBlocks >= kSplitMinBlocks && g.K >= 4 * std::max(g.M, g.N)) {
    gemmSplitK(g, c, batch, kBlocks);
    return;
  }
  Narrow narrow;
  if (narrowOrientation(g, &narrow)) {
    gemmNarrow(g, narrow, c, batch);
    return;
  }
  // Tasks are (batch item, row block, panel group); each packs the parts of A and B it reads, so tasks
  // share nothing. Per item we want ≥ 4 tasks per thread and, among the splits that give them, the one
  // that packs least: B is packed once per row block and A once per panel group (and an A row packed for
  // few panels also leaves the micro-kernel little to amortize it over, hence its higher weight). The split changes only
  // which thread computes an element, never how: every C element sums its K products in increasing k, in
  // KC-long blocks added in order, so results do not depend on the number of threads.
  const int64_t panels = (g.N + NR - 1) / NR;
  const int64_t want = 4 * std::max(1, numThreads());
  const int64_t perItem = (want + batch - 1) / batch;
  const int64_t microRows = (g.M + MR - 1) / MR;
  const int64_t fewestBlocks = (g.M + MC_MAX - 1) / MC_MAX;
  int64_t mc = 0, rowBlocks = 0, perGroup = 0, groupCount = 0;
  double best = 0;
  for (int64_t r = fewestBlocks; r <= std::max(fewestBlocks, std::min(microRows, perItem)); r++) {
    const int64_t rows = (microRows + r - 1) / r * MR;
    const int64_t blocks = (g.M + rows - 1) / rows;
    const int64_t wantGroups = std::min(panels, (perItem + blocks - 1) / blocks);
    const int64_t per = (panels + wantGroups - 1) / wantGroups;
    const int64_t grps = (panels + per - 1) / per;
    // an A element costs more to pack (gathered 6-wide) than a B element (copied 32-wide)
    const double packed = static_cast<double>(blocks) * g.N + 4.0 * static_cast<double>(grps) * g.M;
    const bool enough = blocks * grps >= perItem, bestEnough = rowBlocks * groupCount >= perItem;
    if (mc == 0 || (enough && !bestEnough) || (enough == bestEnough && packed < best)) {
      mc = rows, rowBlocks = blocks, perGroup = per, groupCount = grps, best = packed;
    }
  }
  const int64_t tasks = batch * rowBlocks * groupCount;
  parallelFor(tasks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> bp, ap;
    for (int64_t t = begin; t < end; t++) {
      const int64_t item = t / (rowBlocks * groupCount);
      const int64_t rb = (t / groupCount) % rowBlocks;
      const int64_t grp = t % groupCount;
      const int64_t m0 = rb * mc;
      const int64_t p0 = grp * perGroup;
      gemmTile(g, itemA(g, item), itemB(g, item), c + item * g.M * g.N, m0, std::min(g.M, m0 + mc), p0,
               std::min(panels, p0 + perGroup), 0, g.K, bp, ap);
    }
  });
}

}  // namespace cpu
}  // namespace sacl
