// What a DELETE reports about itself, computed inside the trigger while the
// deleted rows are still at hand, on a sample of the model's holdout rows:
// - forgetting evidence: under the updated model, the loss-threshold attack
//   of the forgotten rows against unseen rows (forget vs unseen, as the
//   NeurIPS 2023 unlearning challenge scores it); near 0.5 the model treats
//   them like rows it never saw. The unseen rows must come from the same
//   distribution: a DELETE chosen by a predicate (a district, a partner)
//   removes rows unlike the rest, whose loss differs for that reason alone.
//   So when the statement also deletes enough holdout rows (chosen by key
//   hash, hence by the same predicate and distribution) they are the
//   reference ("deleted_holdout"); otherwise a sample of the holdout rows
//   still in the table ("holdout_sample"), which matches a random deletion;
// - group impact (options.monitor_group): per group of the holdout rows,
//   accuracy (classifiers) or RMSE before and after, with a WARNING naming a
//   group that worsens by more than options.impact_warning.
// Only aggregates are kept: no value or key of a forgotten row.
#pragma once

#include <string>
#include <vector>

#include "catalog.hpp"

namespace unlearn::pg {

// The rows a DELETE still has at hand: those the model was trained on, and
// the holdout rows deleted with them.
struct DeletedRows {
    RowMatrix x;
    Vector y;
    RowMatrix holdout_x;
    Vector holdout_y;
};

// A JSON number, or null when not finite (jsonb refuses inf and nan).
std::string json_number(double v);
// A JSON string literal, quotes and escapes included.
std::string json_string(const std::string &s);

// Whether a change of this model has figures: it has holdout rows, and its
// rows can be fetched by a one-column key. Without them the deleted rows
// need not be gathered.
bool has_event_figures(const ModelMeta &m);

// The figures as members of a JSON object ("" when !has_event_figures(m)). A figure never
// fails the DELETE: when the updated model cannot be fitted (no row left, a
// singular system) the figures say so instead.
std::string event_figures(Spi &spi, const ModelMeta &m, const std::vector<ShardState> &before,
                          const std::vector<ShardState> &after, const DeletedRows &deleted);

}  // namespace unlearn::pg
