// Rows fetched by primary key: a SISA shard or a holdout sample is a small
// part of the table, and an index probe per key beats reading all of it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "rows.hpp"

namespace unlearn::pg {

// The rows of the model's source whose one-column key is among keys (in
// their text form), read with the transaction's current snapshot, in batches.
void fetch_by_key(Spi &spi, const ModelMeta &m, const std::vector<std::string> &keys,
                  const std::function<void(const RowBatch &)> &on_batch);

}  // namespace unlearn::pg
