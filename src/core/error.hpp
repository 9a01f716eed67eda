// Errors raised by the core. The core knows nothing of PostgreSQL, so it names
// the kind of failure; src/pg/guard maps each kind to a SQLSTATE.
#pragma once
#include <stdexcept>
#include <string>

namespace unlearn {

enum class ErrorKind {
    InvalidParameter,  // bad option, algorithm, strategy, argument
    DataException,     // the data cannot be fitted as asked (one class, ...)
    Singular,          // the normal equations have no unique solution
    CorruptState,      // a state or lineage blob failed validation
    Internal,          // a bug: an invariant did not hold
    ResourceLimit,     // the operation would need more memory than it may use
    // kinds raised by src/pg about database objects, kept here so that one
    // exception type crosses the guard
    UndefinedObject,        // no such model
    UndefinedColumn,        // no such column
    DuplicateObject,        // model name taken
    WrongObjectType,        // not a table, not a numeric column
    InsufficientPrivilege,  // cannot read the source
    FeatureNotSupported,    // valid request we do not handle yet
    SerializationFailure,   // a snapshot older than a model: retry the transaction
    UniqueViolation,        // two rows with one key
    ActiveTransaction,      // must run after COMMIT (unlearn.wait)
};

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string &message, std::string hint = {})
        : std::runtime_error(message), kind_(kind), hint_(std::move(hint)) {}
    ErrorKind kind() const { return kind_; }
    const std::string &hint() const { return hint_; }

private:
    ErrorKind kind_;
    std::string hint_;
};

}  // namespace unlearn
