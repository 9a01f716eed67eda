// The C++ / PostgreSQL boundary.
//
// PostgreSQL raises errors by longjmp, which skips C++ destructors; a C++
// exception must never unwind through PostgreSQL's C frames. So:
//  - every SQL-callable function is declared with UNLEARN_FUNCTION, whose body
//    runs inside guarded(): any C++ exception becomes ereport(ERROR) with a
//    SQLSTATE, raised only after every C++ object of the body is destroyed;
//  - every PostgreSQL call that may raise, made while C++ objects are alive,
//    goes through pg_call(): it catches the PostgreSQL error, restores the
//    memory context and rethrows it as PgError carrying the original ErrorData
//    (SQLSTATE, message, detail, hint), which guarded() re-raises unchanged.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

#include "pg.hpp"

namespace unlearn::pg {

class PgError : public std::exception {
public:
    explicit PgError(ErrorData *data) : data_(data) {}
    ErrorData *data() const { return data_; }
    const char *what() const noexcept override { return data_ && data_->message ? data_->message : "postgres error"; }

private:
    ErrorData *data_;  // palloc'd in the caller's memory context: no destructor needed
};

// result is read only when no longjmp happened, so -Wclobbered is moot here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wclobbered"
// fn must not itself hold C++ objects with destructors across the PostgreSQL
// calls it makes: it is the thin C-like layer the longjmp may skip.
template <typename Fn>
auto pg_call(Fn &&fn) -> decltype(fn()) {
    using R = decltype(fn());
    MemoryContext ctx = CurrentMemoryContext;
    ErrorData *volatile edata = nullptr;
    // A C++ exception thrown inside fn must not leave PG_TRY's frame either:
    // PG_exception_stack would keep pointing at it. Catch it, rethrow after.
    std::exception_ptr cxx_error;
    std::conditional_t<std::is_void_v<R>, int, R> result{};
    PG_TRY();
    {
        try {
            if constexpr (std::is_void_v<R>)
                fn();
            else
                result = fn();
        } catch (...) {
            cxx_error = std::current_exception();
        }
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(ctx);
        edata = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    if (cxx_error) {
        MemoryContextSwitchTo(ctx);
        std::rethrow_exception(cxx_error);
    }
    if (edata) throw PgError(edata);
    if constexpr (!std::is_void_v<R>) return result;
}
#pragma GCC diagnostic pop

// pg_call for destructors (the RAII wrappers in pg_*.hpp): a failure to
// release is dropped, never thrown from a destructor; the transaction's abort
// releases what fn would have.
template <typename Fn>
void pg_release(Fn &&fn) noexcept {
    try {
        pg_call(std::forward<Fn>(fn));
    } catch (...) {
    }
}

using Body = Datum (*)(FunctionCallInfo);
Datum guarded(Body body, FunctionCallInfo fcinfo);

}  // namespace unlearn::pg

// Declares the extern "C" entry point `name` and opens the C++ body behind the guard.
#define UNLEARN_FUNCTION(name)                                                   \
    static Datum name##_body(FunctionCallInfo fcinfo);                           \
    extern "C" {                                                                 \
    PG_FUNCTION_INFO_V1(name);                                                   \
    Datum name(PG_FUNCTION_ARGS) { return unlearn::pg::guarded(name##_body, fcinfo); } \
    }                                                                            \
    static Datum name##_body([[maybe_unused]] FunctionCallInfo fcinfo)
