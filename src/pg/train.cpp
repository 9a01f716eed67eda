// unlearn.train: one pass over the source, state per shard, lineage blocks,
// an audit event, and the triggers that make the table's deletions reach it.
#include <chrono>
#include <set>


#include "args.hpp"
#include "catalog.hpp"
#include "error.hpp"
#include "memory.hpp"
#include "model_cache.hpp"
#include "rows.hpp"
#include "sisa.hpp"
#include "source.hpp"

namespace unlearn::pg {
namespace {

struct TrainRequest {
    std::string name;
    Oid relid;
    std::string target;
    std::vector<std::string> features;
    Algorithm algorithm;
    Strategy strategy;
    int32 shards;
    int32 slices;
    std::string options_json;
    Options options;
    std::string monitor_group;
};

TrainRequest read_request(Spi &spi, FunctionCallInfo fcinfo) {
    TrainRequest r;
    r.name = text_arg(fcinfo, 0, "model name");
    require_arg(fcinfo, 1, "relation");
    r.relid = PG_GETARG_OID(1);
    r.target = text_arg(fcinfo, 2, "target");
    r.features = text_array_arg(fcinfo, 3, "features");
    r.algorithm = parse_algorithm(text_arg(fcinfo, 4, "algorithm"));
    r.strategy = parse_strategy(text_arg(fcinfo, 5, "strategy"), r.algorithm);
    r.shards = int4_arg(fcinfo, 6, "shards");
    r.slices = int4_arg(fcinfo, 7, "slices");
    r.options_json = jsonb_arg_text(fcinfo, 8, "options");
    const ParsedOptions parsed = parse_model_options(spi, r.algorithm, r.options_json);
    r.options = parsed.options;
    r.monitor_group = parsed.monitor_group;

    if (r.name.empty() || r.name.size() > 200)
        throw Error(ErrorKind::InvalidParameter, "model name must have between 1 and 200 characters");
    if (r.features.empty())
        throw Error(ErrorKind::InvalidParameter, "features must name at least one column");
    std::set<std::string> seen;
    for (const auto &f : r.features) {
        if (!seen.insert(f).second)
            throw Error(ErrorKind::InvalidParameter, "feature \"" + f + "\" is listed twice");
        if (f == r.target)
            throw Error(ErrorKind::InvalidParameter, "column \"" + f + "\" is both the target and a feature");
    }
    if (r.shards < 1 || r.shards > 4096)
        throw Error(ErrorKind::InvalidParameter, "shards must be between 1 and 4096");
    if (r.strategy == Strategy::Certified && r.slices != 1)
        throw Error(r.slices < 1 ? ErrorKind::InvalidParameter : ErrorKind::FeatureNotSupported,
                    "slices must be 1 for strategy certified",
                    "Certified removal takes a Newton step instead of retraining from a checkpoint.");
    if (r.strategy == Strategy::Certified && parsed.learn_inserts)
        throw Error(ErrorKind::FeatureNotSupported, "strategy certified does not learn inserted rows",
                    "Leave options.on_insert at \"ignore\", or use strategy sisa.");
    if (r.strategy == Strategy::Sisa && (r.slices < 1 || r.slices > 1000))
        throw Error(ErrorKind::InvalidParameter, "slices must be between 1 and 1000",
                    "Each slice of each shard stores a checkpoint.");
    if (r.strategy == Strategy::Incremental && r.slices != 1)
        throw Error(r.slices < 1 ? ErrorKind::InvalidParameter : ErrorKind::FeatureNotSupported,
                    "slices must be 1 for strategy incremental",
                    "Slices are SISA checkpoints; summation-form models forget exactly without them.");
    if (spi.exec("SELECT 1 FROM unlearn.models WHERE name = $1", {text_param(r.name)}).rows() > 0)
        throw Error(ErrorKind::DuplicateObject, "model \"" + r.name + "\" already exists",
                    "Choose another name, or unlearn.drop_model('" + r.name + "') first.");
    return r;
}

struct Trained {
    Categories categories;
    std::vector<ShardState> states;
    std::vector<std::vector<Checkpoint>> checkpoints;  // sisa: per shard, one per slice
    KeyArena lineage;
    int64 rows_seen = 0;
    int64 rows_skipped = 0;
    int64 rows_holdout = 0;  // in lineage with role holdout, never trained on
};

// The categories of each text or enum feature, byte-ordered; categories seen
// only on rows that are not trainable are pruned after the scan. Read in
// binary (no cast a table owner could define runs here).
Categories read_categories(const TrainRequest &req) { return distinct_categories(req.relid, req.features, 1000); }

bool has_categorical_feature(const TrainRequest &req) {
    for (const auto &f : req.features)
        if (pg_call([&] {
                AttrNumber att = get_attnum(req.relid, f.c_str());
                return att != InvalidAttrNumber && is_category_type(getBaseType(get_atttype(req.relid, att)));
            }))
            return true;
    return false;
}

Trained scan_and_fit(Spi &, const TrainRequest &req, const std::vector<std::string> &keys) {
    Trained t;
    t.categories = read_categories(req);
    // columns are checked against the source itself first, so errors name it
    Relation rel = pg_call([&] { return table_open(req.relid, NoLock); });
    const int p = plan_columns(RelationGetDescr(rel), relation_name(req.relid), keys, req.target, req.features,
                               &t.categories).width;
    // room for the rows the planner statistics expect, with a margin for
    // their error, an 8-byte key each, when that fits in unlearn.max_memory:
    // the lineage then does not regrow (which copies it) on its way
    const double expected = rel->rd_rel->reltuples > 0 ? 1.1 * rel->rd_rel->reltuples + 1024 : 0;
    pg_call([&] { table_close(rel, NoLock); });
    if (expected > 0 && rows_bytes(expected, 0, 8 * expected, 0) <= max_memory_bytes())
        t.lineage.reserve(static_cast<size_t>(expected), static_cast<size_t>(8 * expected));

    std::vector<std::vector<Eigen::Index>> by_shard(static_cast<size_t>(req.shards));
    double key_bytes = 0;
    scan_source(req.relid, keys, req.target, req.features, &t.categories, [&](const RowBatch &b) {
        t.rows_seen += b.rows;
        // the states stream; only lineage grows with the rows
        for (int i = 0; i < b.rows; ++i) key_bytes += b.trainable[i] ? static_cast<double>(b.keys[i].size()) : 0.0;
        check_memory(rows_bytes(static_cast<double>(t.lineage.refs.size()) + b.rows, 0, key_bytes, 0),
                     "training model \"" + req.name + "\"", "train on a smaller table", true);
        for (auto &v : by_shard) v.clear();
        for (int i = 0; i < b.rows; ++i) {
            if (!b.trainable[i]) {
                ++t.rows_skipped;
                continue;
            }
            if (is_holdout(b.keys[i], req.options.holdout, req.options.seed)) {
                t.lineage.add(b.keys[i], req.shards == 1 ? 0 : shard_of(b.keys[i], req.shards, req.options.seed), 0,
                              Role::Holdout);
                ++t.rows_holdout;
                continue;
            }
            if (t.states.empty()) {
                for (int s = 0; s < req.shards; ++s) t.states.push_back(empty_state(req.algorithm, p));
            }
            int32 shard = req.shards == 1 ? 0 : shard_of(b.keys[i], req.shards, req.options.seed);
            by_shard[static_cast<size_t>(shard)].push_back(i);
            t.lineage.add(b.keys[i], shard);
        }
        for (size_t s = 0; s < by_shard.size(); ++s) {
            const auto &idx = by_shard[s];
            if (idx.empty()) continue;
            // a full batch wholly in one shard (the usual case) needs no copy
            if (static_cast<Eigen::Index>(idx.size()) == b.x.rows()) {
                add_rows(t.states[s], b.x, b.y, +1);
                continue;
            }
            RowMatrix x = b.x(idx, Eigen::all);
            Vector y = b.y(idx);
            add_rows(t.states[s], x, y, +1);
        }
    });
    return t;
}

// SISA: every trainable row goes to the shard and slice its key hashes to;
// each shard then trains slice by slice over its rows in canonical order.
Trained scan_and_fit_sisa(const TrainRequest &req, const std::vector<std::string> &keys, const ModelMeta &m,
                          const std::string &rel_name) {
    Trained t;
    const int p = static_cast<int>(req.features.size());
    std::vector<ShardRows> shards(static_cast<size_t>(req.shards));
    std::vector<std::vector<double>> xs(shards.size());
    std::vector<double> labels;
    double key_bytes = 0;
    const std::string operation = "training model \"" + req.name + "\"";
    const std::string fewer = "train on a smaller table, with fewer features";
    // every shard's rows are held until its turn to train: three copies of
    // the values at the peak (collected, sorted, and the fit's own)
    const auto held_bytes = [&](int classes) {
        return rows_bytes(static_cast<double>(labels.size()), p, key_bytes, 3) +
               learner_bytes(req.algorithm, req.options, p, classes, static_cast<double>(labels.size()),
                             static_cast<double>(req.shards) * req.slices, req.slices);
    };
    scan_source(req.relid, keys, req.target, req.features, nullptr, [&](const RowBatch &b) {
        t.rows_seen += b.rows;
        for (int i = 0; i < b.rows; ++i) key_bytes += b.trainable[i] ? static_cast<double>(b.keys[i].size()) : 0.0;
        check_memory(held_bytes(2) + rows_bytes(b.rows, p, 0, 3), operation, fewer, true);
        for (int i = 0; i < b.rows; ++i) {
            if (!b.trainable[i]) {
                ++t.rows_skipped;
                continue;
            }
            const Placement at = place(b.keys[i], req.shards, req.slices, req.options.seed);
            if (is_holdout(b.keys[i], req.options.holdout, req.options.seed)) {
                t.lineage.add(b.keys[i], at.shard, 0, Role::Holdout);  // its shard's run of buckets, never trained
                ++t.rows_holdout;
                continue;
            }
            ShardRows &rows = shards[static_cast<size_t>(at.shard)];
            xs[static_cast<size_t>(at.shard)].insert(xs[static_cast<size_t>(at.shard)].end(), b.x.row(i).data(),
                                                     b.x.row(i).data() + p);
            labels.push_back(b.y(i));
            rows.y.push_back(static_cast<int>(labels.size() - 1));  // a row number until the classes are known
            rows.slice.push_back(at.slice);
            rows.hash.push_back(key_hash(b.keys[i]));
            rows.keys.push_back(b.keys[i]);
            t.lineage.add(b.keys[i], at.shard, at.slice);
        }
    });
    const int64 held = static_cast<int64>(labels.size());
    if (t.rows_seen == 0 || held == 0) return t;  // check_fit explains
    if (req.shards > held || req.slices > held)
        throw Error(ErrorKind::InvalidParameter,
                    std::string(req.shards > held ? "shards" : "slices") + " (" +
                        std::to_string(req.shards > held ? req.shards : req.slices) + ") exceed the " +
                        std::to_string(held) + " trainable rows of " + rel_name,
                    "Every shard and slice needs rows to train on; use fewer.");
    const ClassLabels classes = ClassLabels::of(Eigen::Map<const Vector>(labels.data(), held));
    if (classes.size() < 2)
        throw Error(ErrorKind::DataException, "target \"" + req.target + "\" has only one class",
                    std::string(algorithm_name(req.algorithm)) + " needs at least two distinct target values.");
    check_memory(held_bytes(classes.size()), operation, fewer);
    const bool certified = req.strategy == Strategy::Certified;
    if (certified && classes.size() != 2)
        throw Error(ErrorKind::FeatureNotSupported, "strategy certified is for two classes; target \"" + req.target +
                                                        "\" has " + std::to_string(classes.size()),
                    "Use strategy sisa for more classes.");
    std::unique_ptr<Learner> learner = certified ? nullptr : make_learner(req.algorithm, m.options, p, classes.size());
    for (size_t s = 0; s < shards.size(); ++s) {
        ShardRows &rows = shards[s];
        for (int &y : rows.y) y = classes.index(labels[static_cast<size_t>(y)]);
        rows.x = Eigen::Map<RowMatrix>(xs[s].data(), static_cast<Eigen::Index>(rows.y.size()), p);
        std::vector<double>().swap(xs[s]);
        rows.sort_canonical();
        if (certified) {
            t.states.push_back(CertifiedShard{classes, certified_train(rows.x, rows.y, certified_options(m.options),
                                                                       static_cast<int32_t>(s))});
            rows = ShardRows{};
            continue;
        }
        t.checkpoints.push_back(train_slices(*learner, rows, req.slices, 0, nullptr, s));
        t.states.push_back(SisaShard{classes, t.checkpoints.back().back()});
        rows = ShardRows{};
    }
    return t;
}

void check_fit(const TrainRequest &req, const ModelMeta &m, const Trained &t, const std::string &rel_name) {
    if (t.rows_seen == 0)
        throw Error(ErrorKind::DataException, "table " + rel_name + " is empty", "Insert rows before training.");
    if (t.lineage.refs.size() > 0 && static_cast<int64>(t.lineage.refs.size()) == t.rows_holdout)
        throw Error(ErrorKind::DataException, "option \"holdout\" left no row of " + rel_name + " to train on",
                    "Use a smaller holdout fraction.");
    if (t.lineage.refs.empty())
        throw Error(ErrorKind::DataException,
                    "every row of " + rel_name + " has a NULL or non-finite feature or target",
                    "Rows with NULL, NaN or infinite values are skipped; " + std::to_string(t.rows_skipped) +
                        " were skipped.");
    // Fitting now turns a singular system or a one-class target into an error
    // before anything is written.
    FittedModel fit = fit_meta(m, t.states);
    if (req.algorithm == Algorithm::NaiveBayes && std::get<NaiveBayesFit>(fit.fit).classes.size() < 2)
        throw Error(ErrorKind::DataException, "target \"" + req.target + "\" has only one class",
                    "naive_bayes needs at least two distinct target values.");
}

}  // namespace
}  // namespace unlearn::pg

using namespace unlearn;
using namespace unlearn::pg;

UNLEARN_FUNCTION(unlearn_train) {
    auto started = std::chrono::steady_clock::now();
    Spi spi;
    TrainRequest req = read_request(spi, fcinfo);
    std::vector<std::string> columns = req.features;
    columns.push_back(req.target);
    // the group column is recorded in the audit and group figures: the caller
    // must be able to read it (check_source adds the key columns)
    if (!req.monitor_group.empty()) columns.push_back(req.monitor_group);
    // Writers wait while we read: a row deleted between our snapshot and the
    // trigger's creation would otherwise stay in the model.
    pg_call([&] { LockRelationOid(req.relid, ShareRowExclusiveLock); });
    std::vector<std::string> keys = check_source(spi, req.relid, columns);
    if (!req.monitor_group.empty() &&
        pg_call([&] { return get_attnum(req.relid, req.monitor_group.c_str()); }) == InvalidAttrNumber)
        throw Error(ErrorKind::UndefinedColumn,
                    "column \"" + req.monitor_group + "\" of option \"monitor_group\" does not exist in " +
                        relation_name(req.relid),
                    "Column names are case-sensitive; pass them as they appear in \\d.");
    if (!req.monitor_group.empty() && keys.size() != 1)
        throw Error(ErrorKind::FeatureNotSupported, "option \"monitor_group\" needs a table with a one-column primary key",
                    "The holdout rows of each group are fetched by their key.");
    // Scan what is committed now that writers are locked out, at every
    // isolation level: under REPEATABLE READ the transaction's snapshot may
    // predate a DELETE that committed before our lock, and the model would
    // hold rows that are gone (the transaction's own changes are seen too).
    pg_call([&] { PushActiveSnapshot(GetLatestSnapshot()); });
    const std::string rel_name = relation_name(req.relid);
    ModelMeta m;
    m.options = req.options;
    Trained t;
    if (req.strategy != Strategy::Incremental) {
        if (has_categorical_feature(req))
            throw Error(ErrorKind::FeatureNotSupported,
                        std::string("strategy ") + strategy_name(req.strategy) + " does not take categorical features",
                        "Encode text features as numeric columns, or use naive_bayes.");
        // a network that cannot fit in memory is refused before the scan
        if (req.algorithm == Algorithm::Mlp)
            check_memory(learner_bytes(req.algorithm, req.options, static_cast<int>(req.features.size()), 2, 0,
                                       static_cast<double>(req.shards) * req.slices, req.slices),
                         "training mlp \"" + req.name + "\"", "use fewer hidden units, fewer features or a smaller batch_size");
        t = scan_and_fit_sisa(req, keys, m, rel_name);
    } else {
        t = scan_and_fit(spi, req, keys);
    }
    pg_call([&] { PopActiveSnapshot(); });
    const int64 held = static_cast<int64>(t.lineage.refs.size()) - t.rows_holdout;
    const bool sisa = req.strategy != Strategy::Incremental;  // shard-major lineage
    const int64 keys_held = static_cast<int64>(t.lineage.refs.size());  // trained and holdout
    const int32 buckets = bucket_count(sisa ? keys_held / req.shards : keys_held);  // sisa: per shard
    m.categories = t.categories;
    if (!t.states.empty() && req.strategy == Strategy::Incremental) prune_categories(m, t.states);
    m.name = req.name;
    m.relation = req.relid;
    m.key_columns = keys;
    m.target = req.target;
    m.features = req.features;
    m.algorithm = req.algorithm;
    m.strategy = req.strategy;
    m.slices = req.slices;
    m.shards = req.shards;
    m.buckets = buckets;
    check_fit(req, m, t, rel_name);
    SpiResult ins = spi.exec(
        "INSERT INTO unlearn.models (name, relation, key_columns, target, features, algorithm, strategy, shards, "
        "slices, options, lineage_buckets, rows_trained, rows_skipped, rows_held) "
        "VALUES ($1, $2::oid::regclass, $3, $4, $5, $6, $7, $8, $13, $9::text::jsonb, $10, $11, $12, $11) "
        "RETURNING model_id",
        {text_param(req.name), oid_param(req.relid), text_array_param(keys), text_param(req.target),
         text_array_param(req.features), text_param(algorithm_name(req.algorithm)),
         text_param(strategy_name(req.strategy)), int4_param(req.shards), text_param(req.options_json),
         int4_param(buckets), int8_param(held), int8_param(t.rows_skipped), int4_param(req.slices)});
    m.id = ins.int4(0, 1);
    if (!m.categories.empty()) write_categories(spi, m);

    std::vector<int32> all_shards;
    for (int32 s = 0; s < req.shards; ++s) all_shards.push_back(s);
    write_states(spi, m, t.states, all_shards);
    for (size_t s = 0; s < t.checkpoints.size(); ++s)
        write_checkpoints(spi, m, static_cast<int32>(s), std::get<SisaShard>(t.states[s]).classes, t.checkpoints[s]);
    {
        std::vector<int32> numbers;
        std::vector<std::vector<uint8_t>> blobs;
        for (auto &kv : t.lineage.encode_blocks(buckets, sisa ? req.shards : 0)) {
            numbers.push_back(kv.first);
            blobs.push_back(std::move(kv.second));
        }
        write_encoded_blocks(spi, m, numbers, blobs);
    }
    spi.exec("SELECT unlearn.install_triggers($1::oid::regclass)", {oid_param(req.relid)});

    AuditEvent e;
    e.event = "train";
    e.method = req.strategy == Strategy::Incremental ? "full scan" : std::string("full scan, ") + strategy_name(req.strategy);
    e.rows = held;
    e.shards = all_shards;
    e.hash_after = state_hash(m, t.states);
    e.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    write_audit(spi, m, e);
    note_local_change();

    // one row describing the model
    Datum values[6] = {0};
    bool nulls[6] = {false};
    return pg_call([&] {
        MemoryContextSwitchTo(spi.outer());
        TupleDesc desc;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
            elog(ERROR, "unlearn.train must be declared to return a composite");
        values[0] = CStringGetTextDatum(req.name.c_str());
        values[1] = CStringGetTextDatum(algorithm_name(req.algorithm));
        values[2] = CStringGetTextDatum(strategy_name(req.strategy));
        values[3] = Int32GetDatum(req.shards);
        values[4] = Int64GetDatum(held);
        values[5] = Int64GetDatum(t.rows_skipped);
        return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
    });
}
