// A model's quality where the rows it never trained on are: its holdout rows
// (options.holdout, chosen by key hash; stored in unlearn.models.metrics at
// train and by unlearn.refresh_metrics) or any table with its target and
// feature columns (unlearn.evaluate). A change of state marks the stored
// figures stale (touch_model) rather than recomputing them inside the DELETE.
#pragma once

#include <string>

#include "catalog.hpp"
#include "quality.hpp"

namespace unlearn::pg {

// The figures as members of a JSON object (undefined ones as null).
std::string quality_json(const Quality &q);

// The model's quality on the holdout rows lineage holds and the table still
// has; rows == 0 when there are none.
Quality holdout_quality(Spi &spi, const ModelMeta &m, const FittedModel &fit);

// unlearn.models.metrics as a JSON object: the figures and what they were
// computed on ("" when the model has no holdout rows); extra: more members.
std::string holdout_metrics_json(const ModelMeta &m, const Quality &q, const std::string &extra = "");
std::string holdout_metrics(Spi &spi, const ModelMeta &m, const FittedModel &fit);

}  // namespace unlearn::pg
