// The extension's own tables, read and written through SPI: models, shard
// state, lineage blocks and audit events. Nothing here does arithmetic.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lineage.hpp"
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
    bool learn_inserts = false;  // options.on_insert = 'learn'
    std::string monitor_group;   // options.monitor_group: a column whose groups' holdout metrics each DELETE reports
    double impact_warning = 0.05;
    int32 shards = 1;
    int32 buckets = 1;
    int64 version = 0;
    Categories categories;  // text and enum features: their categories
};

// The expanded layout: numeric features take one column, categorical ones a
// column per category, in feature order.
int width(const ModelMeta &m);
std::vector<std::string> column_names(const ModelMeta &m);  // x, color=red, ...
FittedModel fit_meta(const ModelMeta &m, const std::vector<ShardState> &states);
// A category no held row carries any more leaves the model and its
// vocabulary: the vocabulary is data too. Returns whether it changed.
bool prune_categories(ModelMeta &m, std::vector<ShardState> &states);
void write_categories(Spi &spi, const ModelMeta &m);

// options jsonb (as text), validated: the algorithm's numeric options, and
// on_insert ('learn' or 'ignore', the default), which the boundary handles.
struct ParsedOptions {
    Options options;
    bool learn_inserts = false;
    std::string monitor_group;
    double impact_warning = 0.05;  // a group whose metric worsens by more than this raises a WARNING
};
ParsedOptions parse_model_options(Spi &spi, Algorithm algorithm, const std::string &json);

// Loads by name; missing model is an error naming it.
ModelMeta load_model(Spi &spi, const std::string &name);
// Every model trained on the relation or on a partitioned table it is a
// partition of; with lock, FOR UPDATE in id order so
// that concurrent statements forgetting rows serialise on them without deadlock.
// Under REPEATABLE READ or SERIALIZABLE, a model committed after the
// transaction's snapshot fails the statement with 40001 instead of being missed.
std::vector<ModelMeta> models_of(Spi &spi, Oid relation, bool lock);
void refuse_models_after_snapshot(Spi &spi, Oid relation, const std::vector<ModelMeta> &seen);

std::vector<ShardState> load_states(Spi &spi, const ModelMeta &m);
void write_states(Spi &spi, const ModelMeta &m, const std::vector<ShardState> &states, const std::vector<int32> &shards);
std::string state_hash(const ModelMeta &m, const std::vector<ShardState> &states);

// The lineage bucket that holds key: by hash, or shard-major for SISA and
// certified models (buckets is then per shard).
int32 lineage_bucket(const ModelMeta &m, const std::string &key);
int32 lineage_bucket(const ModelMeta &m, const LineageEntry &e);
// Buckets the model's lineage is spread over, and for SISA a shard's run of them.
int32 total_buckets(const ModelMeta &m);
std::vector<int32> shard_buckets(const ModelMeta &m, int32 shard);

std::map<int32, LineageBlock> load_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets);
std::map<int32, LineageBlock> load_all_blocks(Spi &spi, const ModelMeta &m);
void write_blocks(Spi &spi, const ModelMeta &m, const std::map<int32, LineageBlock> &blocks);
void write_encoded_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets,
                          const std::vector<std::vector<uint8_t>> &blobs);

struct AuditEvent {
    std::string event;   // train, unlearn, truncate
    std::string method;  // full scan, decrement, shard retrain, reset
    int64 rows = 0;
    std::vector<int32> shards;
    double duration_ms = 0;
    std::string hash_before;
    std::string hash_after;
    std::string details;  // members of a JSON object: method-specific figures (never a value or key of a row)
};
void write_audit(Spi &spi, const ModelMeta &m, const AuditEvent &e);

// Bumps the version and the held/forgotten counters after a change of state.
void touch_model(Spi &spi, const ModelMeta &m, int64 rows_held, int64 forgotten);

}  // namespace unlearn::pg
