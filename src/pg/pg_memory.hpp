// Memory contexts as C++ objects (pg_duckdb's pg/memory style): a scratch
// context owned by a scope, and a switch of CurrentMemoryContext undone when
// the scope ends. Destructors never throw and never longjmp.
#pragma once

#include "guard.hpp"

namespace unlearn::pg {

// A child of the current context, deleted with the scope (also when a C++
// exception unwinds it: the rows it held need not wait for the abort).
class PgMemoryContext {
public:
    // name: a string literal (the context keeps the pointer, as
    // AllocSetContextCreate's own check demands)
    template <size_t N>
    explicit PgMemoryContext(const char (&name)[N], bool small = false) {
        context_ = pg_call([&] {
            return small ? AllocSetContextCreateInternal(CurrentMemoryContext, name, ALLOCSET_SMALL_SIZES)
                         : AllocSetContextCreateInternal(CurrentMemoryContext, name, ALLOCSET_DEFAULT_SIZES);
        });
    }
    ~PgMemoryContext() {
        pg_release([&] { MemoryContextDelete(context_); });  // an abort releases it otherwise
    }
    PgMemoryContext(const PgMemoryContext &) = delete;
    PgMemoryContext &operator=(const PgMemoryContext &) = delete;
    MemoryContext get() const { return context_; }

private:
    MemoryContext context_ = nullptr;
};

// CurrentMemoryContext is to while the scope lasts (MemoryContextSwitchTo
// cannot fail).
class PgMemoryContextSwitch {
public:
    explicit PgMemoryContextSwitch(MemoryContext to) : previous_(MemoryContextSwitchTo(to)) {}
    ~PgMemoryContextSwitch() { MemoryContextSwitchTo(previous_); }
    PgMemoryContextSwitch(const PgMemoryContextSwitch &) = delete;
    PgMemoryContextSwitch &operator=(const PgMemoryContextSwitch &) = delete;

private:
    MemoryContext previous_;
};

}  // namespace unlearn::pg
