#include "catalog.hpp"

#include <algorithm>

#include "error.hpp"
#include "model_owner.hpp"
#include "source.hpp"

namespace unlearn::pg {

namespace {

// The advisory lock space of writers' turns (pg_locks: locktype advisory,
// classid this, objid the model id, objsubid kOwnLockKind): "unle".
constexpr uint32 kTurnLockSpace = 0x756e6c65;


ModelMeta meta_from(Spi &spi, const SpiResult &r, uint64 row) {
    ModelMeta m;
    m.id = r.int4(row, 1);
    m.name = r.str(row, 2);
    m.relation = DatumGetObjectId(r.datum(row, 3));
    m.key_columns = r.text_array(row, 4);
    m.target = r.str(row, 5);
    m.features = r.text_array(row, 6);
    m.algorithm = parse_algorithm(r.str(row, 7));
    std::string options = r.str(row, 8);
    m.shards = r.int4(row, 9);
    m.buckets = r.int4(row, 10);
    m.version = r.int8(row, 11);
    m.strategy = parse_strategy(r.str(row, 12), m.algorithm);
    m.slices = r.int4(row, 13);
    // only models with a text or enum feature or target have a vocabulary
    // (0.2.0 on); a target's row there is its class list (0.6.0 on)
    if (has_categorical_feature(m.relation, m.features) || has_categorical_feature(m.relation, {m.target})) {
        SpiResult v = spi.exec("SELECT feature, categories FROM unlearn.vocabulary WHERE model_id = $1",
                               {int4_param(m.id)});
        for (uint64 i = 0; i < v.rows(); ++i) {
            if (v.str(i, 1) == m.target)
                m.classes = v.text_array(i, 2);
            else
                m.categories[v.str(i, 1)] = v.text_array(i, 2);
        }
    }
    m.options = stored_options(spi, m.algorithm, options);
    if (m.shards < 1 || m.slices < 1 || m.buckets < 1 || (m.buckets & (m.buckets - 1)))
        throw Error(ErrorKind::CorruptState, "model \"" + m.name + "\" has an invalid shard or bucket count");
    return m;
}

}  // namespace

ModelMeta load_model(Spi &spi, const std::string &name) {
    SpiResult r = spi.exec(
        "SELECT model_id, name, relation::oid, key_columns, target, features, algorithm, options::text, shards, "
        "lineage_buckets, version, strategy, slices FROM unlearn.models WHERE name = $1",
        {text_param(name)});
    if (r.rows() == 0) {
        // the row-level security of unlearn.models hides the models a caller
        // may not read: say so rather than that it does not exist
        if (model_exists(spi, name))
            throw Error(ErrorKind::InsufficientPrivilege, "permission denied for model \"" + name + "\"",
                        "A model is data about its table's rows: it is read by its owner, its table's owner, and roles "
                        "that may SELECT its key, target and feature columns and whom no row-level security of the "
                        "table applies to.");
        throw Error(ErrorKind::UndefinedObject, "model \"" + name + "\" does not exist",
                    "SELECT name FROM unlearn.models lists the models you may read.");
    }
    return meta_from(spi, r, 0);
}

std::optional<ModelMeta> load_model_by_id(Spi &spi, int32 id) {
    SpiResult named = spi.exec("SELECT name FROM unlearn.models WHERE model_id = $1", {int4_param(id)});
    if (named.rows() == 0) return std::nullopt;
    return load_model(spi, named.str(0, 1));
}

std::vector<ModelMeta> models_of(Spi &spi, Oid relation, bool lock) {
    // a partition's rows are also its ancestors' models' rows; most tables are no partition,
    // and every DELETE asks: the plain lookup is the models_relation_idx probe alone
    const bool partition = pg_call([&] { return get_rel_relispartition(relation); });
#define UNLEARN_MODEL_COLUMNS                                                                                      \
    "SELECT model_id, name, relation::oid, key_columns, target, features, algorithm, options::text, shards, "      \
    "lineage_buckets, version, strategy, slices FROM unlearn.models "
#define UNLEARN_OF_PARTITION                                                                                       \
    "WHERE relation = $1::oid::regclass OR relation IN (SELECT relid FROM pg_partition_ancestors($1::oid::regclass)) "
    const std::vector<Param> params{oid_param(relation)};
    SpiResult r = partition ? (lock ? spi.exec(UNLEARN_MODEL_COLUMNS UNLEARN_OF_PARTITION "ORDER BY model_id FOR KEY SHARE", params)
                                    : spi.exec(UNLEARN_MODEL_COLUMNS UNLEARN_OF_PARTITION "ORDER BY model_id", params))
                            : (lock ? spi.exec(UNLEARN_MODEL_COLUMNS "WHERE relation = $1::oid::regclass ORDER BY model_id "
                                                                     "FOR KEY SHARE",
                                               params)
                                    : spi.exec(UNLEARN_MODEL_COLUMNS "WHERE relation = $1::oid::regclass ORDER BY model_id",
                                               params));
#undef UNLEARN_MODEL_COLUMNS
#undef UNLEARN_OF_PARTITION
    std::vector<ModelMeta> out;
    for (uint64 i = 0; i < r.rows(); ++i) out.push_back(meta_from(spi, r, i));
    if (!lock) return out;
    refuse_models_after_snapshot(spi, relation, out);
    for (const ModelMeta &m : out)  // in id order, as the rows were locked: no deadlock between writers
        if (takes_turns(m)) take_turn(m);
    return out;
}

std::optional<std::pair<Oid, Oid>> owner_and_relation(Spi &spi, const std::string &name) {
    // Read as the extension's owner: a caller who may not read the model
    // is told it may not change it, as for any other caller.
    // Before ALTER EXTENSION UPDATE to 0.7.0 a model has no owner column: it
    // belongs to its table's owner (as the upgrade records it), since this
    // library already writes the extension's tables as their owner for any
    // caller, a reader of a 0.6.0 catalog must not change models through it.
    SpiResult r = models_have_owner()
                      ? spi.exec_as_extension("SELECT owner::oid, relation::oid FROM unlearn.models WHERE name = $1",
                                              {text_param(name)})
                      : spi.exec_as_extension("SELECT 0::oid, relation::oid FROM unlearn.models WHERE name = $1",
                                              {text_param(name)});
    if (r.rows() == 0) return std::nullopt;
    return std::make_pair(DatumGetObjectId(r.datum(0, 1)), DatumGetObjectId(r.datum(0, 2)));
}

void take_turn(const ModelMeta &m) {
    pg_call([&] {
        LOCKTAG tag;
        SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, kTurnLockSpace, static_cast<uint32>(m.id), kOwnLockKind);
        (void)LockAcquire(&tag, ExclusiveLock, false, false);
    });
}

bool takes_turns(const ModelMeta &m) { return !m.categories.empty(); }

void refuse_models_after_snapshot(Spi &spi, Oid relation, const std::vector<ModelMeta> &seen) {
    // Read committed takes a new snapshot per query and FOR UPDATE waits for a
    // model being changed; under REPEATABLE READ and SERIALIZABLE a model
    // trained after the transaction's snapshot is invisible to it, and its
    // rows would stay in that model. (A model changed or dropped since the
    // snapshot already makes FOR UPDATE fail with 40001.)
    if (!pg_call([] { return IsolationUsesXactSnapshot(); })) return;
    SpiResult now = spi.exec_latest(
        "SELECT model_id FROM unlearn.models WHERE relation = $1::oid::regclass "
        "OR relation IN (SELECT relid FROM pg_partition_ancestors($1::oid::regclass))",
        {oid_param(relation)});
    for (uint64 i = 0; i < now.rows(); ++i) {
        const int32 id = now.int4(i, 1);
        if (std::none_of(seen.begin(), seen.end(), [&](const ModelMeta &m) { return m.id == id; }))
            throw Error(ErrorKind::SerializationFailure,
                        "could not serialize access due to a model trained on " + relation_name(relation) +
                            " after this transaction's snapshot",
                        "Retry the transaction: its rows must be forgotten by every model trained on them.");
    }
}

std::vector<int32> models_on_trees(Spi &spi, Datum relations, bool latest) {
    // the models of these tables, of their partitions, and of the tables
    // they are partitions of; a partition dropped since has no ancestors
    // any more, but its models recorded it (helper h3)
#define UNLEARN_MODELS_ON_TREES                                                                                    \
    "SELECT m.model_id FROM unlearn.models m WHERE m.relation::oid = ANY ($1) "                                   \
    "OR m.relation IN (SELECT a.relid FROM unnest($1) r(oid), pg_partition_ancestors(r.oid::regclass) a) "        \
    "OR m.relation IN (SELECT t.relid FROM unnest($1) r(oid), pg_partition_tree(r.oid::regclass) t) "             \
    "OR m.partitions::oid[] && $1 "                                                                              \
    "ORDER BY m.model_id"
    const std::vector<Param> params{Param{OIDARRAYOID, relations}};
    SpiResult r = latest ? spi.exec_latest(UNLEARN_MODELS_ON_TREES, params) : spi.exec(UNLEARN_MODELS_ON_TREES, params);
#undef UNLEARN_MODELS_ON_TREES
    std::vector<int32> ids;
    for (uint64 i = 0; i < r.rows(); ++i) ids.push_back(r.int4(i, 1));
    return ids;
}

bool model_exists(Spi &spi, const std::string &name) {
    // every model's name, not only those the caller may read: names are unique
    return spi.exec_as_extension("SELECT 1 FROM unlearn.models WHERE name = $1", {text_param(name)}).rows() > 0;
}

void lock_model(Spi &spi, const std::string &name) {
    spi.exec("SELECT 1 FROM unlearn.models WHERE name = $1 FOR UPDATE", {text_param(name)});
}

int32 insert_model(Spi &spi, const ModelMeta &m, const std::string &options_json, int64 rows_held, int64 rows_skipped) {
    // the caller owns the model it trains (the statement runs as the extension's owner)
    const Oid owner = pg_call([] { return GetUserId(); });
    const std::vector<Param> params{
        text_param(m.name), oid_param(m.relation), text_array_param(m.key_columns), text_param(m.target),
        text_array_param(m.features), text_param(algorithm_name(m.algorithm)), text_param(strategy_name(m.strategy)),
        int4_param(m.shards), text_param(options_json), int4_param(m.buckets), int8_param(rows_held),
        int8_param(rows_skipped), int4_param(m.slices), oid_param(owner)};
    SpiResult ins = models_have_owner()
                        ? spi.exec("INSERT INTO unlearn.models (name, relation, key_columns, target, features, algorithm, "
                                   "strategy, shards, slices, options, lineage_buckets, rows_trained, rows_skipped, "
                                   "rows_held, owner) VALUES ($1, $2::oid::regclass, $3, $4, $5, $6, $7, $8, $13, "
                                   "$9::text::jsonb, $10, $11, $12, $11, $14::oid::regrole) RETURNING model_id",
                                   params)
                        : spi.exec("INSERT INTO unlearn.models (name, relation, key_columns, target, features, algorithm, "
                                   "strategy, shards, slices, options, lineage_buckets, rows_trained, rows_skipped, "
                                   "rows_held) VALUES ($1, $2::oid::regclass, $3, $4, $5, $6, $7, $8, $13, "
                                   "$9::text::jsonb, $10, $11, $12, $11) RETURNING model_id",
                                   {params.begin(), params.end() - 1});
    return ins.int4(0, 1);
}

bool touch_model(Spi &spi, const ModelMeta &m, int64 held_change, int64 forgotten) {
    // Under REPEATABLE READ a row changed since the snapshot cannot be
    // locked without a serialization failure: the counts always wait.
    if (!deltas_installed()) {  // before 0.6.0: writers wait for each other
        spi.exec("UPDATE unlearn.models SET version = version + 1, rows_held = rows_held + $2, "
                 "rows_forgotten = rows_forgotten + $3, updated_at = clock_timestamp() WHERE model_id = $1",
                 {int4_param(m.id), int8_param(held_change), int8_param(forgotten)});
        return true;
    }
    if (!snapshot_bound(m)) {
        SpiResult r = spi.exec(
            "WITH locked AS (SELECT model_id FROM unlearn.models WHERE model_id = $1 FOR NO KEY UPDATE SKIP LOCKED), "
            UNLEARN_TOUCH_LOCKED("$2", "$3") "SELECT count(*) FROM touched",
            {int4_param(m.id), int8_param(held_change), int8_param(forgotten)});
        if (r.int8(0, 1) == 1) return true;
    }
    return count_later(spi, m, held_change, forgotten);
}

bool count_later(Spi &spi, const ModelMeta &m, int64 held_change, int64 forgotten) {
    if (held_change == 0 && forgotten == 0) return true;  // nothing to count
    spi.exec("INSERT INTO unlearn.state_delta (model_id, sign, rows_held, rows_forgotten) VALUES ($1, 1, $2, $3)",
             {int4_param(m.id), int8_param(held_change), int8_param(forgotten)});
    return false;
}

bool try_lock_model_layout(Spi &spi, const ModelMeta &m) {
    SpiResult r = spi.exec("SELECT lineage_buckets FROM unlearn.models WHERE model_id = $1 FOR UPDATE SKIP LOCKED",
                           {int4_param(m.id)});
    return r.rows() == 1 && r.int4(0, 1) == m.buckets;
}

void write_metrics(Spi &spi, const ModelMeta &m, const std::string &json) {
    spi.exec(
        "UPDATE unlearn.models SET metrics = $2::jsonb || jsonb_build_object('computed_at', clock_timestamp(), "
        "'model_version', version) WHERE model_id = $1",
        {int4_param(m.id), text_param(json)});
}

std::string read_metrics(Spi &spi, const ModelMeta &m) {
    SpiResult r = spi.exec("SELECT metrics::text FROM unlearn.models WHERE model_id = $1", {int4_param(m.id)});
    return r.rows() == 1 && !r.is_null(0, 1) ? r.str(0, 1) : "null";
}

void write_features(Spi &spi, const ModelMeta &m) {
    spi.exec("UPDATE unlearn.models SET features = $2 WHERE model_id = $1",
             {int4_param(m.id), text_array_param(m.features)});
}

void write_bucket_count(Spi &spi, const ModelMeta &m) {
    spi.exec("UPDATE unlearn.models SET lineage_buckets = $2 WHERE model_id = $1",
             {int4_param(m.id), int4_param(m.buckets)});
}

void write_classes(Spi &spi, const ModelMeta &m) {
    spi.exec("INSERT INTO unlearn.vocabulary (model_id, feature, categories) VALUES ($1, $2, $3)",
             {int4_param(m.id), text_param(m.target), text_array_param(m.classes)});
}

void write_categories(Spi &spi, const ModelMeta &m) {
    for (const auto &kv : m.categories)
        spi.exec(
            "INSERT INTO unlearn.vocabulary (model_id, feature, categories) VALUES ($1, $2, $3) "
            "ON CONFLICT (model_id, feature) DO UPDATE SET categories = excluded.categories",
            {int4_param(m.id), text_param(kv.first), text_array_param(kv.second)});
}

void delete_categories(Spi &spi, const ModelMeta &m, const std::string &feature) {
    spi.exec("DELETE FROM unlearn.vocabulary WHERE model_id = $1 AND feature = $2",
             {int4_param(m.id), text_param(feature)});
}

// Every state row's version as the state cache knows it (state_cache.hpp):
// (xmin, ctid) in unlearn.state's relfilenode. xmin alone is one for every
// version a transaction writes, and a model row another writer holds keeps
// the version from moving (cache_same_xmin.spec).
#define UNLEARN_STATE_VERSIONS                                                                                \
    "pg_relation_filenode('unlearn.state'::regclass)::text || '/' || (SELECT string_agg(s.xmin::text || "   \
    "'@' || s.ctid::text, ',' ORDER BY s.shard) FROM unlearn.state s WHERE s.model_id = m.model_id)"

ModelVersion model_version(Spi &spi, const std::string &name) {
    SpiResult r = !deltas_installed() ? spi.exec(
        "SELECT m.model_id, m.version, " UNLEARN_STATE_VERSIONS " FROM unlearn.models m WHERE m.name = $1",
        {text_param(name)}) : spi.exec(
        "SELECT m.model_id, m.version, " UNLEARN_STATE_VERSIONS " || ';' || "
        "coalesce((SELECT string_agg(d.delta_id::text, ',' ORDER BY d.delta_id) "
        "FROM unlearn.state_delta d WHERE d.model_id = m.model_id AND d.state IS NOT NULL), '') "
        "FROM unlearn.models m WHERE m.name = $1",
        {text_param(name)});
    ModelVersion v;
    if (r.rows() != 1) return v;
    v.found = true;
    v.id = r.int4(0, 1);
    v.version = r.int8(0, 2);
    if (!r.is_null(0, 3)) v.state_fingerprint = r.str(0, 3);
    return v;
}
#undef UNLEARN_STATE_VERSIONS

bool model_source(Spi &spi, int32 id, Oid *relation, std::vector<std::string> *key_columns) {
    SpiResult meta = spi.exec("SELECT relation::oid, key_columns FROM unlearn.models WHERE model_id = $1", {int4_param(id)});
    if (meta.rows() != 1) return false;
    *relation = DatumGetObjectId(meta.datum(0, 1));
    *key_columns = meta.text_array(0, 2);
    return true;
}

std::optional<ModelReaders> model_readers(Spi &spi, int32 id) {
    SpiResult r = models_have_owner()
                      ? spi.exec("SELECT owner::oid, relation::oid, column_attnums, key_columns || target || "
                                 "features FROM unlearn.models WHERE model_id = $1",
                                 {int4_param(id)})
                      : spi.exec("SELECT 0::oid, relation::oid, column_attnums, key_columns || target || "
                                 "features FROM unlearn.models WHERE model_id = $1",
                                 {int4_param(id)});
    if (r.rows() != 1) return std::nullopt;
    ModelReaders m;
    m.owner = DatumGetObjectId(r.datum(0, 1));
    m.relation = DatumGetObjectId(r.datum(0, 2));
    if (!r.is_null(0, 3)) m.attnums = r.int2_array(0, 3);
    m.columns = r.text_array(0, 4);
    return m;
}

void install_triggers(Spi &spi, Oid relation) {
    spi.exec_as_extension("SELECT unlearn.install_triggers($1::oid::regclass)", {oid_param(relation)});
}

void resync_or_drop(Spi &spi, const ModelMeta &m) {
    spi.exec_as_extension("SELECT unlearn.resync_or_drop($1)", {text_param(m.name)});
}

}  // namespace unlearn::pg
