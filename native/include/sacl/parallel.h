// A small persistent thread pool shared by the CPU kernels. parallelFor hands out chunks of [0, n) to the
// calling thread and the pool's workers; each index is processed exactly once, and kernels only ever
// write disjoint outputs per index, so results never depend on the number of threads or on scheduling.
// Several callers (for example concurrent async calls) may use the pool at once.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>

namespace sacl {

// Threads that run a parallelFor, the caller included (default: SACL_NUM_THREADS or the machine's cores).
int numThreads();
void setNumThreads(int n);

// Runs body(begin, end) over [0, n) in chunks of `grain` indices (the last one may be shorter).
// The first exception a chunk throws is rethrown here after every chunk has finished.
void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

// parallelFor over the rows × rowLength words of a row-major output, in chunks of `grain` words that may
// begin and end inside a row, so that one long row still spreads over the pool: piece(r, col, len, flat)
// handles words [col, col + len) of row r, at flat offset flat = r · rowLength + col.
template <class Piece>
void parallelForRowPieces(int64_t rows, int64_t rowLength, int64_t grain, const Piece& piece) {
  if (rowLength <= 0) return;
  parallelFor(rows * rowLength, grain, [&](int64_t begin, int64_t end) {
    int64_t r = begin / rowLength, col = begin - r * rowLength;
    while (begin < end) {
      const int64_t len = std::min(rowLength - col, end - begin);
      piece(r, col, len, begin);
      begin += len;
      ++r;
      col = 0;
    }
  });
}

// parallelFor calls handed to the pool's workers so far (not those run on the calling thread alone):
// lets a test see that a kernel splits a large input at all.
uint64_t pooledRuns();

}  // namespace sacl
