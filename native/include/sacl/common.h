// Shared definitions for the host (C++) and device (CUDA) sides of every op.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define SACL_HD __host__ __device__ __forceinline__
#else
#define SACL_HD inline
#endif

// Channel loops that the compiler vectorizes are also cloned for AVX2 and picked at load time (GCC's
// function multiversioning; Linux x86-64 only: it relies on ifunc). Elsewhere they build once, as is.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define SACL_CHANNEL_LOOP __attribute__((target_clones("avx2", "default")))
// Loops written on 16-float vectors also get an AVX-512 clone: there a compare yields a mask register and
// a select is one masked move, where AVX2 needs two blends on two halves.
#define SACL_WIDE_CHANNEL_LOOP __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SACL_CHANNEL_LOOP
#define SACL_WIDE_CHANNEL_LOOP
#endif

namespace sacl {

// The largest element count any tensor may have: indices are int32 (docs/ops.md, Errors).
constexpr int64_t kMaxElements = 2147483647LL;

enum class Device : int { Cpu = 0, Cuda = 1 };

}  // namespace sacl
