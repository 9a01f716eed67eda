// The library's identity for PostgreSQL's loader, and what loading it sets
// up once per backend: the core's interrupt hook and the memory setting.
#include "pg.hpp"

#include "guard.hpp"
#include "interrupt.hpp"
#include "memory.hpp"
#include "progress.hpp"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace {

// The core's long loops call this. A pending cancel, statement_timeout or
// termination is processed by PostgreSQL inside pg_call, so its error (57014
// query_canceled, ...) comes back as a C++ exception: the core's objects are
// destroyed as it unwinds, and the guard re-raises it with its SQLSTATE.
void process_pending_interrupts() {
    if (InterruptPending) unlearn::pg::pg_call([] { CHECK_FOR_INTERRUPTS(); });
}

}  // namespace

void _PG_init(void) {
    unlearn::set_interrupt_hook(&process_pending_interrupts);
    unlearn::pg::define_memory_setting();
    unlearn::pg::define_progress_setting();
    unlearn::pg::install_progress_hook();
}
