// Strided copies (see sacl/movement.h). The shape is first collapsed: size-1 axes drop out and neighbours
// that are contiguous in both source and destination merge. Then one of three loops runs: row memcpy when
// both sides are contiguous innermost; a tiled transpose when the destination's innermost axis is strided
// in the source but another axis is contiguous there; otherwise a strided gather per row. The pool splits
// rows into pieces where they are long (one long row spreads too), the transpose into tiles. Also GatherV2
// (row copies) and its gradient UnsortedSegmentSum (each segment's rows summed in order by one thread).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "sacl/common.h"
#include "sacl/movement.h"
#include "sacl/parallel.h"

namespace sacl {
namespace cpu {
namespace {

// Words per parallel chunk (256 KiB): copies are memory-bound, and below this waking a thread costs
// more than it saves.
constexpr int64_t kGrain = 1 << 16;
// The transpose tile's side: 32 × 32 words of source and destination fit in L1.
constexpr int64_t kTile = 32;

struct Axes {
  int64_t n[kMaxCopyRank], src[kMaxCopyRank], dst[kMaxCopyRank];
  int rank = 0;
};

// Offsets in source and destination of row `r` over the axes in `axes` (row-major, the last fastest).
void rowOffsets(const Axes& a, const int* axes, int count, int64_t r, int64_t* offSrc, int64_t* offDst) {
  int64_t s = 0, d = 0;
  for (int i = count - 1; i >= 0; --i) {
    const int ax = axes[i];
    const int64_t at = r % a.n[ax];
    r /= a.n[ax];
    s += at * a.src[ax];
    d += at * a.dst[ax];
  }
  *offSrc = s;
  *offDst = d;
}

SACL_CHANNEL_LOOP void gatherRow(const uint32_t* __restrict src, int64_t stride, uint32_t* __restrict dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i * stride];
}

}  // namespace

void copyStrided(const uint32_t* src, const int64_t* srcStrides, uint32_t* dst, const int64_t* dstStrides,
                 const int64_t* shape, int rank) {
  Axes a;
  for (int ax = 0; ax < rank; ++ax) {
    if (shape[ax] == 0) return;
    if (shape[ax] == 1) continue;
    const int k = a.rank;
    if (k > 0 && a.src[k - 1] == srcStrides[ax] * shape[ax] && a.dst[k - 1] == dstStrides[ax] * shape[ax]) {
      a.n[k - 1] *= shape[ax];
      a.src[k - 1] = srcStrides[ax];
      a.dst[k - 1] = dstStrides[ax];
    } else {
      a.n[k] = shape[ax];
      a.src[k] = srcStrides[ax];
      a.dst[k] = dstStrides[ax];
      ++a.rank;
    }
  }
  if (a.rank == 0) {
    dst[0] = src[0];
    return;
  }
  const int in = a.rank - 1;  // the innermost axis
  const int64_t inner = a.n[in];
  int outerAxes[kMaxCopyRank];
  for (int i = 0; i < in; ++i) outerAxes[i] = i;
  int64_t rows = 1;
  for (int i = 0; i < in; ++i) rows *= a.n[i];

  if (a.src[in] == 1 && a.dst[in] == 1) {
    parallelForRowPieces(rows, inner, kGrain, [&](int64_t r, int64_t col, int64_t len, int64_t) {
      int64_t s, d;
      rowOffsets(a, outerAxes, in, r, &s, &d);
      std::memcpy(dst + d + col, src + s + col, static_cast<size_t>(len) * sizeof(uint32_t));
    });
    return;
  }

  // the source-contiguous axis, if the destination's innermost one is not it
  int j = -1;
  if (a.dst[in] == 1) {
    for (int i = 0; i < in; ++i) {
      if (a.src[i] == 1) j = i;
    }
  }
  if (j >= 0) {
    // tiles of kTile rows of axis j (one destination row each) × kTile words of the innermost axis
    int others[kMaxCopyRank];
    int count = 0;
    for (int i = 0; i < in; ++i) {
      if (i != j) others[count++] = i;
    }
    const int64_t nj = a.n[j], dstJ = a.dst[j], srcIn = a.src[in];
    const int64_t blocks = (nj + kTile - 1) / kTile;
    const int64_t tasks = rows / nj * blocks;
    parallelFor(tasks, std::max<int64_t>(1, kGrain / (kTile * inner)), [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        int64_t s, d;
        rowOffsets(a, others, count, t / blocks, &s, &d);
        const int64_t j0 = (t % blocks) * kTile, j1 = std::min(nj, j0 + kTile);
        for (int64_t i0 = 0; i0 < inner; i0 += kTile) {
          const int64_t i1 = std::min(inner, i0 + kTile);
          for (int64_t jj = j0; jj < j1; ++jj) {
            const uint32_t* from = src + s + jj + i0 * srcIn;
            uint32_t* to = dst + d + jj * dstJ + i0;
            for (int64_t i = 0; i < i1 - i0; ++i) to[i] = from[i * srcIn];
          }
        }
      }
    });
    return;
  }

  parallelForRowPieces(rows, inner, kGrain, [&](int64_t r, int64_t col, int64_t len, int64_t) {
    int64_t s, d;
    rowOffsets(a, outerAxes, in, r, &s, &d);
    s += col * a.src[in];
    d += col * a.dst[in];
    if (a.dst[in] == 1) {
      gatherRow(src + s, a.src[in], dst + d, len);
    } else {
      for (int64_t i = 0; i < len; ++i) dst[d + i * a.dst[in]] = src[s + i * a.src[in]];
    }
  });
}

void gather(const uint32_t* x, const int32_t* indices, int64_t batch, int64_t outer, int64_t dimSize, int64_t slice,
            int64_t count, uint32_t* out) {
  // one output row of `slice` words per (b, o, i)
  const int64_t rows = batch * outer * count;
  parallelFor(rows, std::max<int64_t>(1, kGrain / slice), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r % count, bo = r / count, b = bo / outer;
      const uint32_t* from = x + (bo * dimSize + indices[b * count + i]) * slice;
      std::memcpy(out + r * slice, from, static_cast<size_t>(slice) * sizeof(uint32_t));
    }
  });
}

void unsortedSegmentSum(const float* x, const int32_t* ids, int64_t rows, int64_t inner, int64_t numSegments,
                        float* out) {
  // the rows of each segment in row order (a stable counting sort)
  std::vector<int64_t> start(static_cast<size_t>(numSegments) + 1, 0), order;
  for (int64_t i = 0; i < rows; ++i) {
    if (ids[i] >= 0 && ids[i] < numSegments) ++start[ids[i] + 1];
  }
  for (int64_t s = 0; s < numSegments; ++s) start[s + 1] += start[s];
  order.resize(static_cast<size_t>(start[numSegments]));
  {
    std::vector<int64_t> next(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < rows; ++i) {
      if (ids[i] >= 0 && ids[i] < numSegments) order[next[ids[i]]++] = i;
    }
  }
  // per column, how many rows hold ±∞ or NaN (tfjs' 0 · x makes them NaN in every other segment)
  std::vector<int64_t> nonFinite(static_cast<size_t>(inner), 0);
  parallelFor(inner, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, rows)), [&](int64_t begin, int64_t end) {
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t c = begin; c < end; ++c) nonFinite[c] += std::isfinite(x[i * inner + c]) ? 0 : 1;
    }
  });
  const int64_t perSegment = std::max<int64_t>(1, rows / std::max<int64_t>(1, numSegments)) * inner;
  parallelFor(numSegments, std::max<int64_t>(1, kGrain / perSegment), [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(inner));
    std::vector<int64_t> own(static_cast<size_t>(inner));
    for (int64_t s = begin; s < end; ++s) {
      std::fill(acc.begin(), acc.end(), 0.0);
      std::fill(own.begin(), own.end(), 0);
      for (int64_t k = start[s]; k < start[s + 1]; ++k) {
        const float* row = x + order[k] * inner;
        for (int64_t c = 0; c < inner; ++c) {
          acc[c] += static_cast<double>(row[c]);
          own[c] += std::isfinite(row[c]) ? 0 : 1;
        }
      }
      float* o = out + s * inner;
      for (int64_t c = 0; c < inner; ++c) {
        o[c] = nonFinite[c] > own[c] ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(acc[c]);
      }
    }
  });
}

}  // namespace cpu
}  // namespace sacl
