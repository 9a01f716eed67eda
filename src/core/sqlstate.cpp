#include "sqlstate.hpp"

#include <new>

namespace unlearn {

const char *sqlstate_of(ErrorKind kind) noexcept {
    switch (kind) {
        case ErrorKind::InvalidParameter: return "22023";       // invalid_parameter_value
        case ErrorKind::DataException: return "22000";          // data_exception
        case ErrorKind::Singular: return "22023";               // invalid_parameter_value: the data, as asked
        case ErrorKind::CorruptState: return "XX001";           // data_corrupted
        case ErrorKind::Internal: return "XX000";               // internal_error
        case ErrorKind::ResourceLimit: return "54000";          // program_limit_exceeded
        case ErrorKind::UndefinedObject: return "42704";        // undefined_object
        case ErrorKind::UndefinedColumn: return "42703";        // undefined_column
        case ErrorKind::DuplicateObject: return "42710";        // duplicate_object
        case ErrorKind::WrongObjectType: return "42809";        // wrong_object_type
        case ErrorKind::InsufficientPrivilege: return "42501";  // insufficient_privilege
        case ErrorKind::FeatureNotSupported: return "0A000";    // feature_not_supported
        case ErrorKind::SerializationFailure: return "40001";   // serialization_failure
        case ErrorKind::UniqueViolation: return "23505";        // unique_violation
        case ErrorKind::ActiveTransaction: return "25001";      // active_sql_transaction
    }
    return "XX000";
}

const char *sqlstate_of(const std::exception_ptr &error) noexcept {
    try {
        std::rethrow_exception(error);
    } catch (const Error &e) {
        return sqlstate_of(e.kind());
    } catch (const std::bad_alloc &) {
        return "53200";  // out_of_memory: the client may retry with less
    } catch (...) {
        return "XX000";
    }
}

}  // namespace unlearn
