// What unlearn.train hands a strategy and what the strategy's training scan
// hands back, before anything is written.
#pragma once

#include <string>
#include <vector>

#include "model_meta.hpp"

namespace unlearn::pg {

// unlearn.train's arguments, checked: the model as requested (its key
// columns, categories and bucket count are found by training), and its
// options as given.
struct TrainRequest : ModelMeta {
    std::string options_json;
    bool replace = false;  // drop a model of the same name first, in this transaction
    bool reference = false;  // a second training for comparison only: it warns about nothing
};

// What a training scan produced, before anything is written.
struct Trained {
    Categories categories;
    std::vector<ShardState> states;
    ClassLabels classes;                               // shard-trained models: their classes
    std::vector<std::vector<Checkpoint>> checkpoints;  // sisa: per shard, one per slice
    KeyArena lineage;
    int64 rows_seen = 0;
    int64 rows_skipped = 0;
    int64 rows_holdout = 0;  // in lineage with role holdout, never trained on
};

}  // namespace unlearn::pg
