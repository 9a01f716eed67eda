#include "guard.hpp"

#include <new>

#include "error.hpp"

namespace unlearn::pg {

namespace {

int sqlstate_of(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::InvalidParameter: return ERRCODE_INVALID_PARAMETER_VALUE;
        case ErrorKind::DataException: return ERRCODE_DATA_EXCEPTION;
        case ErrorKind::Singular: return ERRCODE_INVALID_PARAMETER_VALUE;
        case ErrorKind::CorruptState: return ERRCODE_DATA_CORRUPTED;
        case ErrorKind::Internal: return ERRCODE_INTERNAL_ERROR;
        case ErrorKind::ResourceLimit: return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
        case ErrorKind::UndefinedObject: return ERRCODE_UNDEFINED_OBJECT;
        case ErrorKind::UndefinedColumn: return ERRCODE_UNDEFINED_COLUMN;
        case ErrorKind::DuplicateObject: return ERRCODE_DUPLICATE_OBJECT;
        case ErrorKind::WrongObjectType: return ERRCODE_WRONG_OBJECT_TYPE;
        case ErrorKind::InsufficientPrivilege: return ERRCODE_INSUFFICIENT_PRIVILEGE;
        case ErrorKind::FeatureNotSupported: return ERRCODE_FEATURE_NOT_SUPPORTED;
        case ErrorKind::SerializationFailure: return ERRCODE_T_R_SERIALIZATION_FAILURE;
        case ErrorKind::UniqueViolation: return ERRCODE_UNIQUE_VIOLATION;
    }
    return ERRCODE_INTERNAL_ERROR;
}

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
        sqlstate = sqlstate_of(e.kind());
        message = copy_text(e.what());
        hint = e.hint().empty() ? nullptr : copy_text(e.hint().c_str());
    } catch (const std::bad_alloc &) {
        sqlstate = ERRCODE_OUT_OF_MEMORY;
        message = copy_text("out of memory in pg_unlearn");
    } catch (const std::exception &e) {
        sqlstate = ERRCODE_INTERNAL_ERROR;
        message = copy_text(e.what());
    } catch (...) {
        sqlstate = ERRCODE_INTERNAL_ERROR;
        message = copy_text("unknown C++ exception in pg_unlearn");
    }
    // No C++ object of the body is alive here: raising is safe.
    if (pg_error) ReThrowError(pg_error);
    ereport(ERROR, (errcode(sqlstate), errmsg("%s", message), hint ? errhint("%s", hint) : 0));
    pg_unreachable();
}

}  // namespace unlearn::pg
