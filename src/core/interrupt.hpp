// Cancellation of long computations. The core knows nothing of PostgreSQL,
// so the boundary installs a hook (src/pg wires it to CHECK_FOR_INTERRUPTS)
// and every long loop calls check_interrupts() often enough that a cancel or
// statement_timeout takes effect within about 100 ms. The hook reports a
// pending cancel by throwing; the loops hold only RAII objects, so the throw
// unwinds them cleanly. Without a hook (unit tests, tools) it does nothing.
#pragma once

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

}  // namespace unlearn
