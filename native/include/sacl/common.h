// Shared definitions for the host (C++) and device (CUDA) sides of every op.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define SACL_HD __host__ __device__ __forceinline__
#else
#define SACL_HD inline
#endif

namespace sacl {

// The largest element count any tensor may have: indices are int32 (SPEC §1.1, §1.4).
constexpr int64_t kMaxElements = 2147483647LL;

enum class Metric : int { Euclidean = 0, Cosine = 1, Manhattan = 2 };

enum class Device : int { Cpu = 0, Cuda = 1 };

}  // namespace sacl
