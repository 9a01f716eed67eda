// Rows fetched by primary key: a SISA shard or a holdout sample is a small
// part of the table, and an index probe per key beats reading all of it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "rows.hpp"

namespace unlearn::pg {

// "SELECT <columns> FROM <source> WHERE <key> = ANY($1::text[]::<key type>[])":
// the model's source read by its one-column key. key_type: the key's base type.
std::string select_by_key(const ModelMeta &m, const std::string &columns, Oid *key_type = nullptr);

// The rows of the model's source whose one-column key is among keys (in
// their text form), read with the transaction's current snapshot, in batches.
void fetch_by_key(Spi &spi, const ModelMeta &m, const std::vector<std::string> &keys,
                  const std::function<void(const RowBatch &)> &on_batch);

}  // namespace unlearn::pg
