// The source relation of a model: what it must be to train on it and to
// read it again for verification.
#pragma once

#include <string>
#include <vector>

#include "spi.hpp"

namespace unlearn::pg {

std::string relation_name(Oid relid);  // schema-qualified if needed, for messages
std::string quoted(const std::string &identifier);  // quote_identifier, as a C++ string
// An ordinary table with a primary key, readable by the current user on the
// given columns, without row-level security in force. Returns the key columns.
std::vector<std::string> check_source(Spi &spi, Oid relid, const std::vector<std::string> &columns);

}  // namespace unlearn::pg
