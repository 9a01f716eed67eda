// Certified removal at the boundary: Newton steps on the shards a DELETE
// touches, and the exact shard retrain when a shard's bound passes its
// budget. The arithmetic lives in src/core/certified.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "catalog.hpp"

namespace unlearn::pg {

// Trains the given shards exactly over the rows lineage holds now (a
// retrain keeps counting: retrains + 1).
void certified_retrain(Spi &spi, const ModelMeta &m, const std::set<int32> &shards, std::vector<ShardState> &states);

// Removes the rows (x, y as deleted) from each shard of states by one Newton
// step per shard; shards whose bound passes the budget are retrained exactly.
// Returns the audit figures (members of a JSON object) and sets *method.
std::string certified_forget(Spi &spi, const ModelMeta &m, const std::map<int32, std::vector<Eigen::Index>> &by_shard,
                             const RowMatrix &x, const Vector &y, std::vector<ShardState> &states, std::string *method);

// The two class labels as 0/1 indices; rows of another label are an error.
std::vector<int> binary_labels(const ClassLabels &classes, const Vector &y);

}  // namespace unlearn::pg
