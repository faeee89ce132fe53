// Pins glibc malloc's adaptive thresholds when the addon loads, so multi-megabyte op outputs reuse
// resident heap memory instead of a fresh mmap (page faults) and munmap (TLB shootdowns) per call.
#pragma once

namespace sacl {
namespace addon {

// Applies the tuning once per process; returns what was done, in words (for info() and backends()).
const char* tuneMalloc();

}  // namespace addon
}  // namespace sacl
