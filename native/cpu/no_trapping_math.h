// Included first by the kernel files whose loops select between floats (x > 0 ? a : b): GCC compiles such
// selects to blends, and so vectorizes the loops, only without -ftrapping-math. No value changes.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
