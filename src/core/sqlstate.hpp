// The SQLSTATE of every C++ failure that crosses the guard, as the five
// characters of PostgreSQL's errcodes table. It lives in the core (no
// PostgreSQL header) so that a unit test asserts the whole mapping,
// out-of-memory included, which SQL can hardly provoke; src/pg/guard turns
// the text into PostgreSQL's code with MAKE_SQLSTATE.
#pragma once
#include <exception>

#include "error.hpp"

namespace unlearn {

const char *sqlstate_of(ErrorKind kind) noexcept;

// The SQLSTATE of a caught exception that is not a PostgreSQL error:
// unlearn::Error by its kind, std::bad_alloc 53200, anything else XX000.
const char *sqlstate_of(const std::exception_ptr &error) noexcept;

}  // namespace unlearn
