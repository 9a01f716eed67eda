// Cancellation and progress of long computations. The core knows nothing of PostgreSQL,
// so the boundary installs a hook (src/pg wires it to CHECK_FOR_INTERRUPTS)
// and every long loop calls check_interrupts() often enough that a cancel or
// statement_timeout takes effect within about 100 ms. The hook reports a
// pending cancel by throwing; the loops hold only RAII objects, so the throw
// unwinds them cleanly. Without a hook (unit tests, tools) it does nothing.
#pragma once

#include <cstdint>
#include <limits>

namespace unlearn {

using InterruptHook = void (*)();

namespace detail {
inline InterruptHook interrupt_hook = nullptr;
}

// Installed once per process (not thread-safe; the core is single-threaded).
inline void set_interrupt_hook(InterruptHook hook) { detail::interrupt_hook = hook; }

// Cheap when nothing is pending: one load and one indirect call.
inline void check_interrupts() {
    if (InterruptHook hook = detail::interrupt_hook) hook();
}

// Where a long computation is, as the core knows it: the boundary adds the
// model, the shard and the rows read, and decides when to tell anyone (a
// NOTICE and a progress entry other sessions read, at most every
// unlearn.progress_interval). -1 and NaN mean "not known here".
struct Progress {
    int32_t slice = -1, slices = -1;  // SISA: the slice being trained, of how many
    int32_t epoch = -1, epochs = -1;  // mlp: epochs done, and the upper bound (it may stop earlier)
    int32_t iteration = -1;           // Newton: iterations done
    int64_t rows = -1;                // rows the fit is over
    double loss = std::numeric_limits<double>::quiet_NaN();
};

using ProgressHook = void (*)(const Progress &);

namespace detail {
inline ProgressHook progress_hook = nullptr;
}

inline void set_progress_hook(ProgressHook hook) { detail::progress_hook = hook; }

// Called between units of work (an epoch, a slice, a Newton iteration);
// cheap when the boundary has nothing to report.
inline void report_progress(const Progress &p) {
    if (ProgressHook hook = detail::progress_hook) hook(p);
}

}  // namespace unlearn
