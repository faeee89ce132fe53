// A small persistent thread pool shared by the CPU kernels. parallelFor hands out chunks of [0, n) to the
// calling thread and the pool's workers; each index is processed exactly once, and kernels only ever
// write disjoint outputs per index, so results never depend on the number of threads or on scheduling.
// Several callers (for example concurrent async calls) may use the pool at once.
#pragma once
#include <cstdint>
#include <functional>

namespace sacl {

// Threads that run a parallelFor, the caller included (default: SACL_NUM_THREADS or the machine's cores).
int numThreads();
void setNumThreads(int n);

// Runs body(begin, end) over [0, n) in chunks of `grain` indices (the last one may be shorter).
// The first exception a chunk throws is rethrown here after every chunk has finished.
void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

// parallelFor calls handed to the pool's workers so far (not those run on the calling thread alone):
// lets a test see that a kernel splits a large input at all.
uint64_t pooledRuns();

}  // namespace sacl
