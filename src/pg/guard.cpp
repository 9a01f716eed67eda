#include "guard.hpp"

#include <new>

#include "error.hpp"
#include "sqlstate.hpp"

namespace unlearn::pg {

namespace {

// The core names the SQLSTATE (src/core/sqlstate, unit tested); PostgreSQL
// wants it packed.
int pg_sqlstate(const char *code) { return MAKE_SQLSTATE(code[0], code[1], code[2], code[3], code[4]); }

// Plain C copy of the exception's text: it must survive the catch scope.
char *copy_text(const char *s) { return s ? pstrdup(s) : nullptr; }

}  // namespace

Datum guarded(Body body, FunctionCallInfo fcinfo) {
    ErrorData *pg_error = nullptr;
    int sqlstate = 0;
    char *message = nullptr;
    char *hint = nullptr;
    // pstrdup may itself fail; it runs inside the catch block, where an
    // out-of-memory longjmp would skip only the exception object, which the
    // C++ runtime owns (a bounded, rare leak rather than undefined unwinding).
    try {
        return body(fcinfo);
    } catch (const PgError &e) {
        pg_error = e.data();
    } catch (const Error &e) {
        sqlstate = pg_sqlstate(sqlstate_of(std::current_exception()));
        message = copy_text(e.what());
        hint = e.hint().empty() ? nullptr : copy_text(e.hint().c_str());
    } catch (const std::bad_alloc &) {
        sqlstate = pg_sqlstate(sqlstate_of(std::current_exception()));
        message = copy_text("out of memory in pg_unlearn");
    } catch (const std::exception &e) {
        sqlstate = pg_sqlstate(sqlstate_of(std::current_exception()));
        message = copy_text(e.what());
    } catch (...) {
        sqlstate = pg_sqlstate(sqlstate_of(std::current_exception()));
        message = copy_text("unknown C++ exception in pg_unlearn");
    }
    // No C++ object of the body is alive here: raising is safe.
    if (pg_error) ReThrowError(pg_error);
    ereport(ERROR, (errcode(sqlstate), errmsg("%s", message), hint ? errhint("%s", hint) : 0));
    pg_unreachable();
}

}  // namespace unlearn::pg
