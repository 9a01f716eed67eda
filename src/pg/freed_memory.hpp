// Freed memory a backend keeps for its next change of a large model.
//
// A change of a forest moves its state through a few transient buffers as
// large as the state: its encoding, and the tuple PostgreSQL's executor
// forms (palloc0, twice) when the state's row is updated. glibc serves a
// block above its mmap threshold (adjusted as blocks are freed, at most
// 32 MB) with a fresh mapping, and gives the top of its heap back to the
// kernel beyond its trim threshold (twice the other), so every change
// faulted those pages in again: about 14,000 page faults per single-row
// DELETE of a 14.6 MB forest, a fifth of its CPU time on a virtual machine.
//
// A backend that keeps states (state_cache.hpp) therefore keeps freed memory
// too: both thresholds are set to twice what its kept states hold (their
// decoded size, state_bytes), within half of unlearn.max_memory, the bound
// the kept states already live in. Backends that keep less than
// kRetainFrom are left to glibc's own adjustment.
#pragma once

namespace unlearn::pg {

constexpr double kRetainFrom = 4.0 * 1024 * 1024;

// kept_bytes: what the backend's kept states hold now
void retain_freed_memory(double kept_bytes);

}  // namespace unlearn::pg
