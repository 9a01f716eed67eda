// The extension's own tables, read and written through SPI: every statement
// against unlearn.* lives behind this header, grouped by what it holds —
// models and their vocabulary (catalog_models.cpp), shard state and SISA
// checkpoints (catalog_state.cpp), lineage blocks (catalog_lineage.cpp) and
// audit events (catalog_audit.cpp). Nothing here does arithmetic.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lineage.hpp"
#include "model_meta.hpp"
#include "model_owner.hpp"
#include "spi.hpp"
#include "state_cache.hpp"

namespace unlearn::pg {

// The kind of pg_unlearn's own advisory locks (pg_locks: locktype advisory,
// objsubid 30062, "un"): SQL's pg_advisory_lock takes kinds 1 and 2 only, so
// no role can take a writers' turn or the worker lock from SQL and stall
// writers or catch-ups (unlearn.hold_worker is the superuser's way).
constexpr uint16 kOwnLockKind = 0x756e;

// ---- models (catalog_models.cpp)

// Loads by name; missing model is an error naming it.
ModelMeta load_model(Spi &spi, const std::string &name);
// By id, for the background worker's queue: none when dropped since.
std::optional<ModelMeta> load_model_by_id(Spi &spi, int32 id);
// Every model trained on the relation or on a partitioned table it is a
// partition of. With lock, FOR KEY SHARE in id order: writers of the table
// do not wait for each other here, while a change of the model itself
// (drop_model, resync, forget_feature: FOR UPDATE or DELETE) waits for them
// and they for it. A model whose writers must still take turns (see
// takes_turns) is then locked for the transaction by an advisory lock.
// Under REPEATABLE READ or SERIALIZABLE, a model committed after the
// transaction's snapshot fails the statement with 40001 instead of being missed.
std::vector<ModelMeta> models_of(Spi &spi, Oid relation, bool lock);
void refuse_models_after_snapshot(Spi &spi, Oid relation, const std::vector<ModelMeta> &seen);
// The ids of the models on these tables (an oid[] datum), on their
// partitions and on the tables they are partitions of, as this
// transaction's snapshot sees them or (latest) as committed now.
std::vector<int32> models_on_trees(Spi &spi, Datum relations, bool latest);
bool model_exists(Spi &spi, const std::string &name);
// The model's owner (InvalidOid before 0.7.0: its table's owner then) and
// table, for the check of who may change it; none when there is no such model.
std::optional<std::pair<Oid, Oid>> owner_and_relation(Spi &spi, const std::string &name);
// Locks the model row: a concurrent DELETE must not write a state with the old layout.
void lock_model(Spi &spi, const std::string &name);
// A new model's row (version 0); returns its id.
int32 insert_model(Spi &spi, const ModelMeta &m, const std::string &options_json, int64 rows_held, int64 rows_skipped);
// Whether the model's writers take turns (an advisory lock per model, held
// to commit): a categorical model's vocabulary (its layout) can change with
// any row. Other writers meet only on the shards they change: SISA and
// certified shards are locked (lock_shard_states) before they are read.
bool takes_turns(const ModelMeta &m);
// The writers' turn of a model that takes turns (an advisory lock to commit).
void take_turn(const ModelMeta &m);
// Bumps the version and adds to the held/forgotten counters after a change
// of state. The model row is updated only if no other writer holds it; else
// the counts wait in unlearn.state_delta, folded by the next writer that
// gets the row, or by unlearn.compact.
// Marks stored metrics stale (with the time) when it updates the row.
// Returns false when the counts wait for a fold.
bool touch_model(Spi &spi, const ModelMeta &m, int64 held_change, int64 forgotten);
// The counts a writer could not add to the model row, left in
// unlearn.state_delta for the next fold; true when there were none.
bool count_later(Spi &spi, const ModelMeta &m, int64 held_change, int64 forgotten);
// touch_model's statement after a CTE `locked` (the model row, if this
// writer got it): folds the waiting counts, adds held and forgotten (the
// parameters' names) and marks metrics stale; CTE `touched` has a row when
// the model row was updated. A macro: the plan cache keys on literals.
#define UNLEARN_TOUCH_LOCKED(held, forgotten)                                                                      \
    "folded AS (DELETE FROM unlearn.state_delta d USING locked WHERE d.model_id = locked.model_id "               \
    "AND d.state IS NULL RETURNING d.rows_held, d.rows_forgotten), "                                              \
    "touched AS (UPDATE unlearn.models m SET version = version + 1, "                                             \
    "rows_held = rows_held + " held " + f.held, rows_forgotten = rows_forgotten + " forgotten " + f.forgotten, "    \
    "updated_at = clock_timestamp(), "                                                                            \
    "metrics = CASE WHEN metrics IS NULL OR metrics ? 'stale' THEN metrics "                                      \
    "ELSE metrics || jsonb_build_object('stale', true, 'stale_since', clock_timestamp()) END "                    \
    "FROM locked, (SELECT coalesce(sum(rows_held), 0) AS held, coalesce(sum(rows_forgotten), 0) AS forgotten "    \
    "FROM folded) f WHERE m.model_id = locked.model_id RETURNING 1) "
// A shard's base rewritten whole (state) when its row is still the version
// read (xmin, as text) and no other transaction holds it (SKIP LOCKED: it
// never waits); returns the version written as x, c. Parameters by name, a
// macro for the same reason as UNLEARN_TOUCH_LOCKED: change_shard runs it
// alone, rewrite_shard_touch_and_audit as a CTE.
#define UNLEARN_REWRITE_SHARD(model, shard, state, xmin)                                                           \
    "UPDATE unlearn.state SET state = " state " WHERE model_id = " model " AND shard = " shard                      \
    " AND xmin = " xmin "::text::xid AND ctid = (SELECT ctid FROM unlearn.state WHERE model_id = " model            \
    " AND shard = " shard " FOR NO KEY UPDATE SKIP LOCKED) RETURNING xmin::text AS x, ctid::text AS c"
// The rewrite of one lineage block this transaction has locked.
#define UNLEARN_REWRITE_BLOCK(model, bucket, block)                                                                \
    "UPDATE unlearn.lineage_blocks SET block = " block " WHERE model_id = " model " AND bucket = " bucket
// Locks the model row for a change of its layout (FOR UPDATE) if no writer
// holds it; false when another transaction does.
bool try_lock_model_layout(Spi &spi, const ModelMeta &m);
// unlearn.models.metrics: the figures (a JSON object) with the time and the
// model version they describe; read back as stored.
void write_metrics(Spi &spi, const ModelMeta &m, const std::string &json);
std::string read_metrics(Spi &spi, const ModelMeta &m);
void write_features(Spi &spi, const ModelMeta &m);
void write_bucket_count(Spi &spi, const ModelMeta &m);
void write_categories(Spi &spi, const ModelMeta &m);
// a text or enum target's classes, written once with the model
void write_classes(Spi &spi, const ModelMeta &m);
void delete_categories(Spi &spi, const ModelMeta &m, const std::string &feature);
// What the backend's model cache checks once per statement: the row's id
// and version, and the version (xmin, ctid, relfilenode) of every state row
// (found false: no such model).
struct ModelVersion {
    bool found = false;
    int32 id = 0;
    int64 version = 0;
    std::string state_fingerprint;
};
ModelVersion model_version(Spi &spi, const std::string &name);
// The source and key columns of a model by id (false: no such model).
bool model_source(Spi &spi, int32 id, Oid *relation, std::vector<std::string> *key_columns);
// What decides who may read a model by id (none: no such model).
std::optional<ModelReaders> model_readers(Spi &spi, int32 id);
void install_triggers(Spi &spi, Oid relation);
// TRUNCATE of a partition: the model is retrained from what remains.
void resync_or_drop(Spi &spi, const ModelMeta &m);

// ---- SISA shards catching up after commit (catalog_catchup.cpp)
//
// A shard a DELETE (or a learned INSERT) reached serves the checkpoint of
// the slice before the earliest slice it changed, and keeps only the
// checkpoints before it; a background worker trains the rest after commit.
// Its row in unlearn.catchup says from which slice; each change of the
// shard's rows bumps the generation, so that a retrain of rows that changed
// meanwhile is not kept. The generation starts again at 1 when the row is
// deleted (TRUNCATE, an inline retrain) and a later change in the same
// transaction notes the shard again, so the work is the row version read:
// its xmin too, which every later write of the row has another of (a
// catch-up reads only committed versions; catchup_generation_reset.spec).
struct CatchUp {
    int32 from_slice;  // the model's slices when the shard is caught up
    int64 generation;
    std::string xmin;  // of the row read, as text; empty: no row
};
CatchUp load_catchup(Spi &spi, const ModelMeta &m, int32 shard);
// shard -> the slices it serves, for the shards catching up
std::map<int32, int32> served_slices(Spi &spi, const ModelMeta &m);
void note_catchup(Spi &spi, const ModelMeta &m, int32 shard, int32 from_slice);
// Removes the row if it is still the one read (false: it changed).
bool finish_catchup(Spi &spi, const ModelMeta &m, int32 shard, const CatchUp &read);
void drop_catchup(Spi &spi, const ModelMeta &m, int32 shard);  // an inline retrain caught it up
void delete_catchups(Spi &spi, const ModelMeta &m);
// Whether unlearn.catchup exists (0.6.0 on): before, shards retrain inline.
bool catchup_installed();
// Whether the extension's schema has this table (a table a later version
// added): the library runs against every catalog version until ALTER
// EXTENSION UPDATE.
bool catalog_table_exists(const char *table);
// That table's OID (InvalidOid when the schema has no such table).
Oid catalog_relid(const char *table);

// ---- shard state and checkpoints (catalog_state.cpp)

// Whether unlearn.state_delta exists (0.6.0 on): before ALTER EXTENSION
// UPDATE, writers wait for each other as they did.
bool deltas_installed();
// The shards' base states with every delta this snapshot sees folded in;
// with seen, which base row versions those were and whether deltas were.
struct StateSeen {
    std::string xmin, ctid;  // of the base row
    bool deltas = false;
    // the row version the state is exactly: none when deltas were folded in
    StateVersion version() const { return deltas ? StateVersion{} : StateVersion{xmin, ctid}; }
};
// What states are read for: a change takes a base this backend kept
// (state_cache.hpp) as the very row version read instead of decoding it
// again (and gives its states back when it has written them); a prediction
// reads a forest without its statistics (Forest::decode).
enum class StatesFor { Reading, Changing, Predicting };
// stored: per shard, the base's bytes when no delta was folded into it (else
// empty; a kept state's are not read).
std::vector<ShardState> load_states(Spi &spi, const ModelMeta &m, std::vector<StateSeen> *seen = nullptr,
                                    std::vector<std::vector<uint8_t>> *stored = nullptr,
                                    StatesFor use = StatesFor::Reading);
// Writes whole shard states, which load_states read with their deltas: the
// deltas of those shards go (the caller excludes other writers). Returns
// the bytes written, one blob per shard given.
// written: when given, the row versions written, one per shard given.
std::vector<std::vector<uint8_t>> write_states(Spi &spi, const ModelMeta &m, const std::vector<ShardState> &states,
                                               const std::vector<int32> &shards,
                                               std::vector<StateSeen> *written = nullptr);
// Locks the shards' state rows in shard order until commit and returns
// their states as committed now: a writer of a SISA or certified shard
// computes from these, after the writers before it have committed.
// seen: the versions already read (load_states); a shard still at its version
// is locked but not read again (a forest's state is megabytes).
std::map<int32, ShardState> lock_shard_states(Spi &spi, const ModelMeta &m, const std::vector<int32> &shards,
                                              const std::vector<StateSeen> &seen);
// A concurrent writer's change of one summation-form shard: the rows'
// own state (delta) added (sign +1) or taken away (-1). If the shard's base
// row is free, it is locked and rewritten with the committed deltas and this
// one folded in (true); else the change is appended as a delta (false).
// whole: the shard as this writer sees it after its change; seen: what it
// was read as. When that base had no deltas and is unchanged and free, it
// is rewritten as whole in one statement (the common, uncontended case);
// written then says which row version holds whole (else it is unknown).
bool change_shard(Spi &spi, const ModelMeta &m, int32 shard, const ShardState &delta, int sign, const ShardState &whole,
                  const StateSeen &seen, StateSeen *written = nullptr);
// change_shard's way when the shard cannot be rewritten as whole: the base
// locked (if free) and rewritten with the deltas folded (true), else delta
// appended (false).
bool fold_or_append_delta(Spi &spi, const ModelMeta &m, int32 shard, const ShardState &delta, int sign);
// Whether change_shard tries to rewrite a shard read as seen as whole: it
// had no deltas, its version is known, and the transaction may lock a row
// changed since its snapshot.
bool rewrites_whole(const ModelMeta &m, const StateSeen &seen);
// The deltas of the shards no other transaction holds, folded (never waits);
// returns how many shards were.
int64 fold_free_deltas(Spi &spi, const ModelMeta &m);
// unlearn.compact: under the model's layout lock, every delta folded.
int64 fold_all_deltas(Spi &spi, const ModelMeta &m);
// The stored checkpoint of one slice of a SISA shard.
Checkpoint load_checkpoint(Spi &spi, const ModelMeta &m, int32 shard, int32 slice);
// Replaces the shard's checkpoints from the first one given on.
void write_checkpoints(Spi &spi, const ModelMeta &m, int32 shard, const ClassLabels &classes,
                       const std::vector<Checkpoint> &checkpoints);
void delete_checkpoints(Spi &spi, const ModelMeta &m);
// A shard's checkpoints from slice from on: they saw a row that is gone.
void drop_checkpoints(Spi &spi, const ModelMeta &m, int32 shard, int32 from);
// (shard, slice) -> (rows, digest) of every stored checkpoint
std::map<std::pair<int32, int32>, std::pair<int64, std::string>> checkpoint_digests(Spi &spi, const ModelMeta &m);
std::string digest_text(uint64_t digest);

// ---- lineage blocks (catalog_lineage.cpp)

std::map<int32, LineageBlock> load_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets);
// The blocks a statement will rewrite, locked in bucket order until commit
// (concurrent writers of other blocks do not wait); with create, missing
// blocks are made first, empty, so that two writers of a new block take turns.
std::map<int32, LineageBlock> lock_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets,
                                          bool create = false);
// lock_blocks for a statement that rewrites what it locks: visit(bucket,
// block) sees each block in bucket order, decoded one at a time (a 10%
// DELETE visits every block; holding them all decoded cost more than the
// rewrite).
void lock_blocks_each(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets,
                      const std::function<void(int32, LineageBlock &)> &visit);
std::map<int32, LineageBlock> load_all_blocks(Spi &spi, const ModelMeta &m);
// The first blocks in bucket order: a sample of the model's keys.
std::map<int32, LineageBlock> load_first_blocks(Spi &spi, const ModelMeta &m, int64 blocks);
// Blocks to write back, encoded as they are added (the decoded block can go).
struct BlockWrites {
    std::vector<int32> buckets;
    std::vector<std::vector<uint8_t>> blobs;
    std::vector<int32> gone;  // emptied: deleted
    void add(int32 bucket, const LineageBlock &block);
};
// Writes back blocks this transaction locked (lock_blocks, lock_blocks_each);
// an empty block is deleted.
void write_blocks(Spi &spi, const ModelMeta &m, const BlockWrites &writes);
void write_blocks(Spi &spi, const ModelMeta &m, const std::map<int32, LineageBlock> &blocks);
// Inserts new blocks, or replaces them (training, redistribution).
void write_encoded_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets,
                          const std::vector<std::vector<uint8_t>> &blobs);
// The first blocks of a model just inserted (train): no block of it exists yet.
void insert_new_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets,
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
    // a DELETE, UPDATE or INSERT: the rows the statement touched, whether the
    // model held them or not (rows counts those it held); -1: not such an event
    int64 rows_requested = -1;
};
void write_audit(Spi &spi, const ModelMeta &m, const AuditEvent &e);
// touch_model then write_audit, in one statement where the schema allows
// (a change's last two steps; a single-row DELETE makes a handful of
// statements, so each one counts). Returns what touch_model returns.
bool touch_model_and_audit(Spi &spi, const ModelMeta &m, int64 held_change, int64 forgotten, const AuditEvent &e);
// A change of one summation-form shard that is all a statement changed (a
// single-row DELETE's): change_shard's rewrite of the shard as whole and
// touch_model_and_audit, in one statement, when rewrites_in_one(m, seen)
// (else the caller takes the way of two); with block, the rewrite of one
// lineage block this transaction locked (write_blocks) too. Says whether the shard was
// rewritten (written: its row version) and the model row touched. A shard
// not rewritten is the caller's to fold or append (fold_or_append_delta);
// a model row not touched has its counts counted later (count_later).
bool rewrites_in_one(const ModelMeta &m, const StateSeen &seen);
struct ShardTouched {
    bool rewritten = false;
    StateSeen written;
    bool touched = false;
};
ShardTouched rewrite_shard_touch_and_audit(Spi &spi, const ModelMeta &m, int32 shard, const ShardState &whole,
                                           const StateSeen &seen, int64 held_change, int64 forgotten,
                                           const AuditEvent &e, const BlockWrites *block = nullptr);

}  // namespace unlearn::pg
