// Forgetting evidence, computed inside the DELETE trigger while the deleted
// rows are still at hand: under the updated model, the loss-threshold attack
// of the forgotten rows against a sample of holdout rows (forget vs unseen,
// as the NeurIPS 2023 unlearning challenge scores it). Near 0.5 the model
// treats the forgotten rows like rows it never saw. Only the aggregate is
// kept: no value or key of a forgotten row.
#pragma once

#include <string>
#include <vector>

#include "catalog.hpp"

namespace unlearn::pg {

// The figures as a JSON object's members ("" when the model has no
// holdout rows or the rows cannot be fetched by a one-column key).
std::string forgetting_evidence(Spi &spi, const ModelMeta &m, const std::vector<ShardState> &after, const RowMatrix &x,
                                const Vector &y);

}  // namespace unlearn::pg
