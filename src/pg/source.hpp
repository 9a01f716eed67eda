// The source relation of a model: what it must be to train on it and to
// read it again for verification.
#pragma once

#include <string>
#include <vector>

#include "spi.hpp"

namespace unlearn::pg {

// A partition alone (its root's triggers, not its own, see DELETEs made
// through the root): refused at train (0A000).
void refuse_partition(Oid relid);
std::string relation_name(Oid relid);  // schema-qualified if needed, for messages
std::string quoted(const std::string &identifier);  // quote_identifier, as a C++ string
// An ordinary table with a primary key, readable by the current user on the
// given columns, without row-level security in force. Returns the key columns.
std::vector<std::string> check_source(Spi &spi, Oid relid, const std::vector<std::string> &columns);
// A deferrable primary key lets a transaction hold two rows of one key
// until commit, and deleting the newcomer would forget the trained row:
// refused at train (0A000); the event triggers refuse making it deferrable.
void refuse_deferrable_key(Spi &spi, Oid relid);
// A temporary table is its session's alone: a model that the background
// worker must read it for (SISA, retrain in the background) is refused (0A000).
void refuse_temporary(Oid relid);
// Refuses (0A000) key columns whose equal values can be stored with other
// bytes (interval, a nondeterministic collation): lineage knows a row by its
// key's bytes, so trained_on would miss an equal key spelled otherwise.
void refuse_keys_equal_in_other_bytes(Oid relid, const std::vector<std::string> &key_columns);
// Refuses (42501) unless the current user may SELECT the table or each of
// the columns: what a model shows of a row (its key in lineage, its group)
// must not tell a role more than the table would.
void require_select(Oid relid, const std::vector<std::string> &columns, const std::string &why);
// Whether role may SELECT the column, by the table's privilege or the
// column's own (as has_column_privilege); false for a column that is not there.
bool may_select_column(Oid relid, const std::string &column, Oid role);

}  // namespace unlearn::pg
