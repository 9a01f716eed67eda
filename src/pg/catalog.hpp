// The extension's own tables, read and written through SPI: every statement
// against unlearn.* lives behind this header, grouped by what it holds —
// models and their vocabulary (catalog_models.cpp), shard state and SISA
// checkpoints (catalog_state.cpp), lineage blocks (catalog_lineage.cpp) and
// audit events (catalog_audit.cpp). Nothing here does arithmetic.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lineage.hpp"
#include "model_meta.hpp"
#include "spi.hpp"

namespace unlearn::pg {

// ---- models (catalog_models.cpp)

// Loads by name; missing model is an error naming it.
ModelMeta load_model(Spi &spi, const std::string &name);
// Every model trained on the relation or on a partitioned table it is a
// partition of; with lock, FOR UPDATE in id order so
// that concurrent statements forgetting rows serialise on them without deadlock.
// Under REPEATABLE READ or SERIALIZABLE, a model committed after the
// transaction's snapshot fails the statement with 40001 instead of being missed.
std::vector<ModelMeta> models_of(Spi &spi, Oid relation, bool lock);
void refuse_models_after_snapshot(Spi &spi, Oid relation, const std::vector<ModelMeta> &seen);
bool model_exists(Spi &spi, const std::string &name);
// Locks the model row: a concurrent DELETE must not write a state with the old layout.
void lock_model(Spi &spi, const std::string &name);
// A new model's row (version 0); returns its id.
int32 insert_model(Spi &spi, const ModelMeta &m, const std::string &options_json, int64 rows_held, int64 rows_skipped);
// Bumps the version and the held/forgotten counters after a change of state,
// and marks stored metrics stale (with the time): they describe the old state.
void touch_model(Spi &spi, const ModelMeta &m, int64 rows_held, int64 forgotten);
// unlearn.models.metrics: the figures (a JSON object) with the time and the
// model version they describe; read back as stored.
void write_metrics(Spi &spi, const ModelMeta &m, const std::string &json);
std::string read_metrics(Spi &spi, const ModelMeta &m);
void write_features(Spi &spi, const ModelMeta &m);
void write_bucket_count(Spi &spi, const ModelMeta &m);
void write_categories(Spi &spi, const ModelMeta &m);
void delete_categories(Spi &spi, const ModelMeta &m, const std::string &feature);
// What the backend's model cache checks once per statement: the row's id
// and version, and the xmin of every state row (found false: no such model).
struct ModelVersion {
    bool found = false;
    int32 id = 0;
    int64 version = 0;
    std::string state_fingerprint;
};
ModelVersion model_version(Spi &spi, const std::string &name);
// The source and key columns of a model by id (false: no such model).
bool model_source(Spi &spi, int32 id, Oid *relation, std::vector<std::string> *key_columns);
void install_triggers(Spi &spi, Oid relation);
// TRUNCATE of a partition: the model is retrained from what remains.
void resync_or_drop(Spi &spi, const ModelMeta &m);

// ---- shard state and checkpoints (catalog_state.cpp)

std::vector<ShardState> load_states(Spi &spi, const ModelMeta &m);
void write_states(Spi &spi, const ModelMeta &m, const std::vector<ShardState> &states, const std::vector<int32> &shards);
// The stored checkpoint of one slice of a SISA shard.
Checkpoint load_checkpoint(Spi &spi, const ModelMeta &m, int32 shard, int32 slice);
// Replaces the shard's checkpoints from the first one given on.
void write_checkpoints(Spi &spi, const ModelMeta &m, int32 shard, const ClassLabels &classes,
                       const std::vector<Checkpoint> &checkpoints);
void delete_checkpoints(Spi &spi, const ModelMeta &m);
// (shard, slice) -> (rows, digest) of every stored checkpoint
std::map<std::pair<int32, int32>, std::pair<int64, std::string>> checkpoint_digests(Spi &spi, const ModelMeta &m);
std::string digest_text(uint64_t digest);

// ---- lineage blocks (catalog_lineage.cpp)

std::map<int32, LineageBlock> load_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets);
std::map<int32, LineageBlock> load_all_blocks(Spi &spi, const ModelMeta &m);
// The first blocks in bucket order: a sample of the model's keys.
std::map<int32, LineageBlock> load_first_blocks(Spi &spi, const ModelMeta &m, int64 blocks);
// Writes the blocks given; an empty block is deleted.
void write_blocks(Spi &spi, const ModelMeta &m, const std::map<int32, LineageBlock> &blocks);
void write_encoded_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets,
                          const std::vector<std::vector<uint8_t>> &blobs);
void delete_lineage(Spi &spi, const ModelMeta &m);

// ---- audit (catalog_audit.cpp)

struct AuditEvent {
    std::string event;   // train, unlearn, learn, forget_feature
    std::string method;  // full scan, decrement, shard retrain, truncate, ...
    int64 rows = 0;
    std::vector<int32> shards;
    double duration_ms = 0;
    std::string hash_before;
    std::string hash_after;
    std::string details;  // members of a JSON object: method-specific figures (never a value or key of a row)
};
void write_audit(Spi &spi, const ModelMeta &m, const AuditEvent &e);

}  // namespace unlearn::pg
