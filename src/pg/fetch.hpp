// Rows fetched by primary key: a SISA shard or a holdout sample is a small
// part of the table, and an index probe per key beats reading all of it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "rows.hpp"

namespace unlearn::pg {

// "SELECT <columns> FROM <source> WHERE <key> OPERATOR(pg_catalog.=) ANY($1)",
// $1 an array of the key's base type (key_array_param): the model's source
// read by its one-column key with no cast to the column's declared type (a
// domain's CHECK is the table owner's code). *key: how the key is encoded.
std::string select_by_key(const ModelMeta &m, const std::string &columns, KeyColumn *key);

// The rows of the model's source whose one-column key is among keys
// (encoded), read with the transaction's current snapshot, in batches.
void fetch_by_key(Spi &spi, const ModelMeta &m, const std::vector<std::string> &keys,
                  const std::function<void(const RowBatch &)> &on_batch);

}  // namespace unlearn::pg
