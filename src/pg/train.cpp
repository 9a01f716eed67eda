// unlearn.train: one pass over the source, state per shard, lineage blocks,
// an audit event, and the triggers that make the table's deletions reach it.
#include <chrono>
#include <set>


#include "args.hpp"
#include "model_owner.hpp"
#include "error.hpp"
#include "pg_memory.hpp"
#include "pg_snapshot.hpp"
#include "progress.hpp"
#include "holdout_metrics.hpp"
#include "missed_changes.hpp"
#include "source.hpp"
#include "strategy.hpp"

namespace unlearn::pg {
namespace {

TrainRequest read_request(Spi &spi, FunctionCallInfo fcinfo) {
    TrainRequest r;
    r.name = text_arg(fcinfo, 0, "model name");
    require_arg(fcinfo, 1, "relation");
    r.relation = PG_GETARG_OID(1);
    r.target = text_arg(fcinfo, 2, "target");
    r.features = text_array_arg(fcinfo, 3, "features");
    r.algorithm = parse_algorithm(text_arg(fcinfo, 4, "algorithm"));
    r.strategy = parse_strategy(text_arg(fcinfo, 5, "strategy"), r.algorithm);
    r.shards = int4_arg(fcinfo, 6, "shards");
    r.slices = int4_arg(fcinfo, 7, "slices");
    r.options_json = jsonb_arg_text(fcinfo, 8, "options");
    r.options = parse_model_options(spi, r.algorithm, r.options_json);

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
    strategy_of(r.strategy).check_request(r);
    if (PG_NARGS() > 9) {  // a database not yet updated to 0.6.0 has no replace argument
        require_arg(fcinfo, 9, "replace");
        r.replace = PG_GETARG_BOOL(9);
    }
    if (!r.replace && model_exists(spi, r.name))
        throw Error(ErrorKind::DuplicateObject, "model \"" + r.name + "\" already exists",
                    "Choose another name, pass replace => true, or unlearn.drop_model('" + r.name + "') first.");
    return r;
}

// A trained model's lineage, written a few hundred blocks per statement as
// they are encoded: a million keys never sit encoded all at once, and each
// statement's arrays are freed before the next is built.
void write_lineage(Spi &spi, const ModelMeta &m, const KeyArena &keys) {
    constexpr size_t kBlocksPerWrite = 512;
    std::vector<int32> buckets;
    std::vector<std::vector<uint8_t>> blobs;
    const auto flush = [&] {
        const PgMemoryContext params("pg_unlearn lineage write");
        const PgMemoryContextSwitch to(params.get());
        insert_new_blocks(spi, m, buckets, blobs);
        buckets.clear();
        blobs.clear();
    };
    lineage_of(m).encode(keys, [&](int32 bucket, std::vector<uint8_t> &&blob) {
        buckets.push_back(bucket);
        blobs.push_back(std::move(blob));
        if (buckets.size() == kBlocksPerWrite) flush();
    });
    if (!buckets.empty()) flush();
}

// replace => true: the model of that name is dropped in this transaction (its
// drop audited with method 'replace'), so that the new one, trained on the
// table as it is now, takes its name at commit; a rollback keeps the old one.
// Until writers are locked out the old model goes on forgetting (writers
// never see the new one before commit) and the new one is stored under a
// name no model can have (longer than any name train accepts).
struct Replacement {
    int32 old_id = 0;  // 0: no model of that name
    std::string stored_name;
};

Replacement plan_replacement(Spi &spi, const TrainRequest &req) {
    Replacement r{0, req.name};
    if (!req.replace) return r;
    // every model of that name, not only one the caller may read: the check
    // below tells a caller who may not replace it so
    SpiResult found = spi.exec_as_extension("SELECT model_id FROM unlearn.models WHERE name = $1", {text_param(req.name)});
    if (found.rows() == 0) return r;
    check_may_change_model(spi, req.name, "replace it");
    r.old_id = found.int4(0, 1);
    r.stored_name = "pg_unlearn replacement of model " + std::to_string(r.old_id);
    r.stored_name.resize(201, '.');
    return r;
}

// With writers locked out: the old model goes, the new one takes its name.
// Returns the id of the model dropped (0 if it was dropped meanwhile).
int32 drop_replaced(Spi &spi, const std::string &name, int32 new_id) {
    SpiResult r = spi.exec("SELECT model_id FROM unlearn.models WHERE name = $1 FOR UPDATE", {text_param(name)});
    const int32 id = r.rows() == 0 ? 0 : r.int4(0, 1);
    if (id != 0) {
        // the model of that name now, locked: not necessarily the one checked
        // at the start (dropped meanwhile, and another role's trained under
        // its name), and it is dropped as the extension's owner
        check_may_change_model(spi, name, "replace it");
        // on the same table the new model takes the old one's audit with its
        // name (unlearn.audit's policy); a 0.6.0 catalog has no such column
        if (models_have_owner())
            spi.exec("UPDATE unlearn.models n SET replaces = coalesce(o.replaces, '{}') || o.model_id "
                     "FROM unlearn.models o WHERE n.model_id = $1 AND o.model_id = $2 AND o.relation = n.relation",
                     {int4_param(new_id), int4_param(id)});
        spi.exec_as_extension("SELECT unlearn.drop_model($1)", {text_param(name)});
        spi.exec("UPDATE unlearn.audit SET method = 'replace' WHERE event_id = currval('unlearn.audit_event_id_seq')");
    }
    spi.exec("UPDATE unlearn.models SET name = $2 WHERE model_id = $1", {int4_param(new_id), text_param(name)});
    return id;
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
    // each shard's sums kept to the class label rule; their union must too
    if (req.algorithm == Algorithm::NaiveBayes) check_class_count(std::get<NaiveBayesFit>(fit.fit).classes.size());
    if (req.algorithm == Algorithm::NaiveBayes && std::get<NaiveBayesFit>(fit.fit).classes.size() < 2)
        throw Error(ErrorKind::DataException, "target \"" + req.target + "\" has only one class",
                    "naive_bayes needs at least two distinct target values.");
}

// Above this many rows a shards > 1 model is not trained a second time, on
// one shard, to say what sharding cost: that would double a long training.
constexpr int64 kMaxRowsCompared = 50000;

// A model of S > 1 shards (SISA, certified) gives up accuracy for cheaper
// forgetting: each constituent sees 1/S of the rows. With holdout rows the
// cost is measurable: the same rows trained as one shard, scored on the
// same holdout rows, and the difference said in a NOTICE. Returns the
// figure for the stored metrics ("" when not measured).
std::string sharding_cost(Spi &spi, const TrainRequest &req, const ModelMeta &m, const std::vector<std::string> &keys,
                          const std::string &rel_name, int64 trained, const Quality &sharded, Snapshot scanned) {
    if (sharded.rows <= 0 || trained > kMaxRowsCompared) return "";
    char buf[256];
    TrainRequest one = req;
    one.shards = 1;
    one.reference = true;
    Trained t;
    {
        const PgActiveSnapshot reading = PgActiveSnapshot::of(scanned);
        t = strategy_of(one.strategy).train(one, keys, rel_name);
    }
    ModelMeta single = m;
    single.shards = 1;
    const Quality q = holdout_quality(spi, m, fit_meta(single, t.states));
    const double lost = q.accuracy - sharded.accuracy;
    snprintf(buf, sizeof(buf), "model \"%s\" (%d shards) reaches accuracy %.4f on its %lld holdout rows; one shard reaches %.4f",
             req.name.c_str(), req.shards, sharded.accuracy, static_cast<long long>(sharded.rows), q.accuracy);
    const std::string msg = buf;
    snprintf(buf, sizeof(buf), "%.4f", lost);
    const std::string detail = lost > 0 ? std::string("Sharding gave up ") + buf + " of accuracy for cheaper forgetting."
                                        : std::string("Sharding gave up no accuracy here.");
    pg_call([&] {
        ereport(NOTICE, (errmsg("%s", msg.c_str()), errdetail("%s", detail.c_str()),
                         errhint("Each shard trains on 1/%d of the rows; fewer shards keep more accuracy, and a "
                                 "DELETE then retrains more rows.",
                                 req.shards)));
    });
    return "\"one_shard_accuracy\": " + json_number(q.accuracy);
}

}  // namespace
}  // namespace unlearn::pg

using namespace unlearn;
using namespace unlearn::pg;

UNLEARN_FUNCTION(unlearn_train) {
    const auto started = Clock::now();
    Spi spi;
    TrainRequest req = read_request(spi, fcinfo);
    refuse_inside_owner_code("models");
    std::vector<std::string> columns = req.features;
    columns.push_back(req.target);
    // the group column is recorded in the audit and group figures: the caller
    // must be able to read it (check_source adds the key columns)
    if (!req.options.monitor_group.empty()) columns.push_back(req.options.monitor_group);
    // As CREATE INDEX CONCURRENTLY: DDL, DETACH PARTITION CONCURRENTLY
    // (whose rows would leave the table unseen by the model's triggers),
    // VACUUM and another training of the table wait while we read; writers
    // go on (missed_changes.hpp)
    pg_call([&] { LockRelationOid(req.relation, ShareUpdateExclusiveLock); });
    std::vector<std::string> keys = check_source(spi, req.relation, columns);
    check_may_train_on(req.relation);
    refuse_partition(req.relation);
    refuse_deferrable_key(spi, req.relation);
    refuse_keys_equal_in_other_bytes(req.relation, keys);
    if (req.strategy == Strategy::Sisa && !req.options.retrain_inline) refuse_temporary(req.relation);
    if (!req.options.monitor_group.empty() &&
        pg_call([&] { return get_attnum(req.relation, req.options.monitor_group.c_str()); }) == InvalidAttrNumber)
        throw Error(ErrorKind::UndefinedColumn,
                    "column \"" + req.options.monitor_group + "\" of option \"monitor_group\" does not exist in " +
                        relation_name(req.relation),
                    "Column names are case-sensitive; pass them as they appear in \\d.");
    if (!req.options.monitor_group.empty() && keys.size() != 1)
        throw Error(ErrorKind::FeatureNotSupported, "option \"monitor_group\" needs a table with a one-column primary key",
                    "The holdout rows of each group are fetched by their key.");
    const Replacement replacement = plan_replacement(spi, req);
    const std::string rel_name = relation_name(req.relation);
    const ForgettingStrategy &strategy = strategy_of(req.strategy);
    const ProgressScope progress(req.name, "train", req.shards, req.relation);
    // What has committed now, at every isolation level (the transaction's
    // own changes too): what changes after it is applied at the end.
    const PgRegisteredSnapshot scanned;
    Trained t;
    {
        const PgActiveSnapshot reading = PgActiveSnapshot::of(scanned.get());
        // a classifier's text or enum target: its classes, fixed from now on
        if (is_classifier(req.algorithm)) req.classes = distinct_classes(req.relation, req.target);
        t = strategy.train(req, keys, rel_name);
    }
    int64 held = static_cast<int64>(t.lineage.refs.size()) - t.rows_holdout;
    ModelMeta m = req;
    m.created_here = true;
    m.key_columns = keys;
    m.categories = t.categories;
    m.buckets = lineage_of(m).buckets_for(static_cast<int64>(t.lineage.refs.size()));  // keys held, trained and holdout
    check_fit(req, m, t, rel_name);
    {
        ModelMeta stored = m;
        stored.name = replacement.stored_name;
        m.id = insert_model(spi, stored, req.options_json, held, t.rows_skipped);
    }
    if (!m.categories.empty()) write_categories(spi, m);
    if (!m.classes.empty()) write_classes(spi, m);
    for (size_t s = 0; s < t.checkpoints.size(); ++s) write_checkpoints(spi, m, static_cast<int32>(s), t.classes, t.checkpoints[s]);
    write_lineage(spi, m, t.lineage);
    // the held-out rows' figures, once lineage says which rows they are
    std::string metrics;
    if (m.options.holdout > 0) {
        const Quality q = holdout_quality(spi, m, fit_meta(m, t.states));
        std::string extra;
        if (q.rows > 0 && req.shards > 1 && req.strategy != Strategy::Incremental)
            extra = sharding_cost(spi, req, m, keys, rel_name, held, q, scanned.get());
        metrics = holdout_metrics_json(m, q, extra);
    }
    ModelChange change(spi, m, std::move(t.states), strategy.train_method(), started);
    change.audit.rows = held;
    if (!metrics.empty())
        change.audit.details += (change.audit.details.empty() ? "" : ", ") + std::string("\"metrics\": ") + metrics;
    change.change_all_shards();
    auto store = [&] {
        change.commit();
        if (!metrics.empty()) write_metrics(spi, m, metrics);
    };
    // The changes since the scan are applied as the triggers would have
    // applied them: first while writers go on (a long training meets many),
    // in rounds until a round finds few, then with writers locked out.
    MissedChanges missed(scanned.get());
    if (replacement.old_id == 0) {
        store();
        held += missed.apply_while_writers_go_on(spi, m);
    }
    // From here to commit writers wait: at commit the model and its
    // triggers appear to them together.
    lock_out_writers(req.relation, scanned.get());
    if (replacement.old_id != 0) {
        const int32 replaced = drop_replaced(spi, req.name, m.id);
        if (replaced != 0)
            change.audit.details = "\"replaces_model_id\": " + std::to_string(replaced) +
                                   (change.audit.details.empty() ? "" : ", ") + change.audit.details;
        store();
    }
    held += missed.apply_rest(spi, m);
    // last: installing the first model's triggers is an ALTER TABLE, and the
    // event triggers it fires must find the model whole, its states written
    install_triggers(spi, req.relation);

    // one row describing the model
    Datum values[6] = {0};
    bool nulls[6] = {false};
    const PgMemoryContextSwitch to_caller(spi.outer());
    return pg_call([&] {
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
