// What a DELETE reports about itself, computed inside the trigger while the
// deleted rows are still at hand, on a sample of the model's holdout rows:
// - forgetting evidence: under the updated model, the loss-threshold attack
//   of the forgotten rows against the holdout rows (forget vs unseen, as the
//   NeurIPS 2023 unlearning challenge scores it); near 0.5 the model treats
//   them like rows it never saw;
// - group impact (options.monitor_group): per group of the holdout rows,
//   accuracy (classifiers) or RMSE before and after, with a WARNING naming a
//   group that worsens by more than options.impact_warning.
// Only aggregates are kept: no value or key of a forgotten row.
#pragma once

#include <string>
#include <vector>

#include "catalog.hpp"

namespace unlearn::pg {

// The figures as members of a JSON object ("" when the model has no holdout
// rows or its rows cannot be fetched by a one-column key).
std::string event_figures(Spi &spi, const ModelMeta &m, const std::vector<ShardState> &before,
                          const std::vector<ShardState> &after, const RowMatrix &forgotten_x, const Vector &forgotten_y);

}  // namespace unlearn::pg
