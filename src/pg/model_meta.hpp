// One definition of a model at the boundary: what unlearn.models holds,
// with its options parsed once into the core's one Options shape, and the
// layout arithmetic its expanded feature columns and its lineage follow.
#pragma once

#include <string>
#include <vector>

#include "lineage_layout.hpp"
#include "model.hpp"
#include "rows.hpp"
#include "spi.hpp"

namespace unlearn::pg {

struct ModelMeta {
    int32 id = 0;
    std::string name;
    Oid relation = InvalidOid;
    std::vector<std::string> key_columns;
    std::string target;
    std::vector<std::string> features;
    Algorithm algorithm = Algorithm::LinearRegression;
    Strategy strategy = Strategy::Incremental;
    int32 slices = 1;
    Options options;
    int32 shards = 1;
    int32 buckets = 1;
    int64 version = 0;
    Categories categories;  // text and enum features: their categories
    // a classifier with a text or enum target: its classes, fixed at training
    // (unlearn.vocabulary's row for the target); empty for a numeric target
    ClassList classes;
    // trained by this transaction (train applying what its scan missed): no
    // other transaction sees its rows, so they are changed in place at any
    // isolation level
    bool created_here = false;
};

// Whether a change to m must go through deltas because the transaction's
// snapshot is fixed (REPEATABLE READ, SERIALIZABLE): a model row changed
// since that snapshot cannot be locked without a serialization failure.
bool snapshot_bound(const ModelMeta &m);

// Where its rows and their lineage entries live, with lineage shard-major or
// not as its strategy keeps it (lineage_of in strategy.hpp asks the strategy).
LineageLayout lineage_layout(const ModelMeta &m, bool shard_major);

// The expanded layout: numeric features take one column, categorical ones a
// column per category, in feature order.
int width(const ModelMeta &m);
std::vector<std::string> column_names(const ModelMeta &m);  // x, color=red, ...
FittedModel fit_meta(const ModelMeta &m, const std::vector<ShardState> &states);
FittedModel fit_meta(const ModelMeta &m, std::vector<ShardState> &&states);  // a forest moved, not copied
// A category no held row carries any more leaves the model and its
// vocabulary: the vocabulary is data too. Returns whether it changed.
bool prune_categories(ModelMeta &m, std::vector<ShardState> &states);
// Whether a feature of relid is of a text or enum type (one-hot encoded).
bool has_categorical_feature(Oid relid, const std::vector<std::string> &features);

// options jsonb (as text), validated: the algorithm's numeric options, and
// on_insert ('learn' or 'ignore', the default), monitor_group and
// impact_warning, which the boundary handles.
Options parse_model_options(Spi &spi, Algorithm algorithm, const std::string &json);
// The same for options stored with a model: they were valid when it was
// trained, and are parsed once per backend.
const Options &stored_options(Spi &spi, Algorithm algorithm, const std::string &json);

}  // namespace unlearn::pg
