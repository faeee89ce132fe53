// glibc's malloc serves blocks above M_MMAP_THRESHOLD with their own mmap, and returns heap tops above
// M_TRIM_THRESHOLD to the kernel. Both thresholds adapt upwards after large frees, but only to the size
// of the last freed block (trim = 2×), so a stream of 5–13 MB outputs freed in batches by V8's GC keeps
// being trimmed and re-faulted: on a 2-core VM that churn cost 1.2–6 ms per call, more than the kernels.
// We set the two thresholds to the ceiling glibc's own adaptation would reach (32 MiB, 64 MiB), unless
// the user tuned malloc through its environment variables or opted out with SACL_MALLOC_TUNING=0.
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

constexpr int kMmapThreshold = 32 << 20;  // glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
constexpr int kTrimThreshold = 64 << 20;  // 2 × the mmap threshold, as glibc's adaptation sets it

const char* apply() {
#if defined(__GLIBC__)
  const char* opt = std::getenv("SACL_MALLOC_TUNING");
  if (opt && std::strcmp(opt, "0") == 0) return "off (SACL_MALLOC_TUNING=0)";
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_") ||
      (tunables && (std::strstr(tunables, "malloc.mmap_threshold") || std::strstr(tunables, "malloc.trim_threshold")))) {
    return "off (malloc is tuned by the environment)";
  }
  if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) != 1 || mallopt(M_TRIM_THRESHOLD, kTrimThreshold) != 1) {
    return "off (mallopt refused)";
  }
  return "glibc mmap threshold 32 MiB, trim threshold 64 MiB";
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
