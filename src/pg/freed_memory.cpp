#include "freed_memory.hpp"

#include <algorithm>
#include <cmath>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "memory.hpp"

namespace unlearn::pg {

namespace {
// glibc's own dynamic thresholds until the first call that raises them
// (setting either one turns its adjustment off for the process)
double retained = 0;
constexpr double kFloor = 64.0 * 1024 * 1024;  // a raised threshold is never below glibc's adjusted ones
}  // namespace

void retain_freed_memory(double kept_bytes) {
#if defined(__GLIBC__)
    if (retained == 0 && kept_bytes < kRetainFrom) return;
    // mallopt takes an int: at most 1 GB
    const double want = std::min(std::clamp(2 * kept_bytes, kFloor, std::max(kFloor, max_memory_bytes() / 2)),
                                 1024.0 * 1024 * 1024);
    if (std::abs(want - retained) < retained / 4) return;  // not worth a change of policy
    const int bytes = static_cast<int>(want);
    // mmap threshold first: a block up to the retained size comes from the
    // heap, and the heap keeps up to that much freed at its top
    if (mallopt(M_MMAP_THRESHOLD, bytes) == 1 && mallopt(M_TRIM_THRESHOLD, bytes) == 1) retained = bytes;
#else
    (void)kept_bytes;
#endif
}

}  // namespace unlearn::pg
