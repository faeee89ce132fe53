// glibc's malloc serves blocks above M_MMAP_THRESHOLD with their own mmap, and returns heap tops above
// M_TRIM_THRESHOLD to the kernel. Both thresholds adapt upwards after large frees, but only to the size
// of the last freed block (trim = 2×), so a stream of 5–13 MB outputs freed in batches by V8's GC keeps
// being trimmed and re-faulted: on a 2-core VM that churn cost 1.2–6 ms per call, more than the kernels.
// A training step on tfjs' cpu backend allocates and frees gigabytes per step in blocks of up to a few
// hundred MB (above any mmap threshold glibc allows), so we turn per-block mmap off (M_MMAP_MAX 0: every
// block comes from the heap, reused while free) and keep up to 1 GiB of free heap top, unless the user
// tuned malloc through its environment variables or opted out with SACL_MALLOC_TUNING=0. The cost: the
// process keeps its peak heap resident, up to 1 GiB of it free.
#include "malloc_tuning.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace sacl {
namespace addon {
namespace {

constexpr int kMmapThreshold = 32 << 20;  // glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit (moot with no mmap)
constexpr int kTrimThreshold = 1 << 30;   // a step's free heap top stays resident for the next step
constexpr int kTopPad = 64 << 20;         // grow the heap in 64 MiB steps, not one brk per large block

const char* apply() {
#if defined(__GLIBC__)
  const char* opt = std::getenv("SACL_MALLOC_TUNING");
  if (opt && std::strcmp(opt, "0") == 0) return "off (SACL_MALLOC_TUNING=0)";
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_") || std::getenv("MALLOC_MMAP_MAX_") ||
      std::getenv("MALLOC_TOP_PAD_") ||
      (tunables && (std::strstr(tunables, "malloc.mmap_threshold") || std::strstr(tunables, "malloc.trim_threshold") ||
                    std::strstr(tunables, "malloc.mmap_max") || std::strstr(tunables, "malloc.top_pad")))) {
    return "off (malloc is tuned by the environment)";
  }
  if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) != 1 || mallopt(M_TRIM_THRESHOLD, kTrimThreshold) != 1 ||
      mallopt(M_TOP_PAD, kTopPad) != 1 || mallopt(M_MMAP_MAX, 0) != 1) {
    return "off (mallopt refused)";
  }
  return "glibc: no per-block mmap, trim threshold 1 GiB, top pad 64 MiB";
#else
  return "off (not glibc)";
#endif
}

}  // namespace

const char* tuneMalloc() {
  static std::once_flag once;
  static const char* status = nullptr;
  std::call_once(once, [] { status = apply(); });
  return status;
}

}  // namespace addon
}  // namespace sacl
