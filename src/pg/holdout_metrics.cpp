// unlearn.refresh_metrics and unlearn.evaluate, and the figures train stores.
#include "holdout_metrics.hpp"

#include <unordered_set>

#include "args.hpp"
#include "error.hpp"
#include "evidence.hpp"
#include "model_change.hpp"
#include "model_owner.hpp"
#include "pg_memory.hpp"
#include "rows.hpp"
#include "source.hpp"

namespace unlearn::pg {

std::string quality_json(const Quality &q) {
    std::string out = "\"rows\": " + std::to_string(q.rows);
    if (q.classifier)
        return out + ", \"accuracy\": " + json_number(q.accuracy) + ", \"log_loss\": " + json_number(q.log_loss) +
               ", \"roc_auc\": " + json_number(q.roc_auc) + ", \"macro_f1\": " + json_number(q.macro_f1);
    return out + ", \"r2\": " + json_number(q.r2) + ", \"rmse\": " + json_number(q.rmse) + ", \"mae\": " + json_number(q.mae);
}

Quality holdout_quality(Spi &spi, const ModelMeta &m, const FittedModel &fit) {
    std::unordered_set<std::string> holdout;
    for (const auto &kv : load_all_blocks(spi, m))
        for (const auto &e : kv.second.entries())
            if (e.role == Role::Holdout) holdout.insert(e.key);
    QualityAccumulator acc(fit);
    if (holdout.empty()) return acc.result();
    scan_source(m.relation, m.key_columns, m.target, m.features, &m.categories, &m.classes, [&](const RowBatch &b) {
        for (int i = 0; i < b.rows; ++i)
            if (b.trainable[i] && holdout.count(b.keys[i])) acc.add(b.x.row(i).transpose(), b.y(i));
    });
    return acc.result();
}

std::string holdout_metrics_json(const ModelMeta &m, const Quality &q, const std::string &extra) {
    if (q.rows == 0) return "";
    return "{\"computed_on\": \"holdout\", \"fraction\": " + json_number(m.options.holdout) + ", " + quality_json(q) +
           (extra.empty() ? "" : ", " + extra) + "}";
}

std::string holdout_metrics(Spi &spi, const ModelMeta &m, const FittedModel &fit) {
    if (!(m.options.holdout > 0)) return "";
    return holdout_metrics_json(m, holdout_quality(spi, m, fit));
}

}  // namespace unlearn::pg

using namespace unlearn;
using namespace unlearn::pg;

namespace {

Datum jsonb_datum(Spi &spi, const std::string &json) {
    const PgMemoryContextSwitch to_caller(spi.outer());
    return pg_call([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(json.c_str())); });
}

}  // namespace

// Recomputes the stored figures on the holdout rows for the model as it is
// now, and records them in the audit (event "metrics", with the state hash
// they describe): the report draws the model's quality over time from there.
UNLEARN_FUNCTION(unlearn_refresh_metrics) {
    const auto started = Clock::now();
    const std::string name = text_arg(fcinfo, 0, "model name");
    Spi spi;
    // it locks the model row until the caller's transaction ends, and
    // writes the model's metrics and an audit event
    check_may_change_model(spi, name, "refresh its metrics");
    lock_model(spi, name);  // a DELETE must not change the state between reading and recording
    ModelMeta m = load_model(spi, name);
    std::vector<std::string> columns = m.features;
    columns.push_back(m.target);
    check_source(spi, m.relation, columns);
    std::vector<std::vector<uint8_t>> stored;  // the rows' bytes: the audit's hash is of them
    const std::vector<ShardState> states = load_states(spi, m, nullptr, &stored);
    const FittedModel fit = fit_meta(m, states);
    const std::string json = holdout_metrics(spi, m, fit);
    if (json.empty())
        throw Error(ErrorKind::InvalidParameter, "model \"" + name + "\" has no holdout rows to measure it on",
                    "Train it with options.holdout, e.g. '{\"holdout\": 0.2}', or use unlearn.evaluate with a test table.");
    write_metrics(spi, m, json);
    AuditEvent e;
    e.event = "metrics";
    e.method = "holdout rows";
    e.rows = 0;
    e.hash_before = e.hash_after = state_hash(m, states, stored);
    e.details = "\"metrics\": " + json;
    e.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    write_audit(spi, m, e);
    return jsonb_datum(spi, read_metrics(spi, m));
}

// The figures on any table with the model's target and feature columns (by
// name), read as the caller: its privileges on the columns are checked, and
// a table under row-level security for the caller is refused as train
// refuses it. Rows with a NULL or non-finite value are counted, not scored.
UNLEARN_FUNCTION(unlearn_evaluate) {
    const std::string name = text_arg(fcinfo, 0, "model name");
    require_arg(fcinfo, 1, "relation");
    const Oid relid = PG_GETARG_OID(1);
    Spi spi;
    ModelMeta m = load_model(spi, name);
    const FittedModel fit = fit_meta(m, load_states(spi, m, nullptr, nullptr, StatesFor::Predicting));
    const std::string rel_name = relation_name(relid);
    char kind = pg_call([&] { return get_rel_relkind(relid); });
    if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
        throw Error(ErrorKind::WrongObjectType, "\"" + rel_name + "\" is not a table",
                    "unlearn.evaluate reads a table; CREATE TEMP TABLE ... AS a query to evaluate on its rows.");
    if (pg_call([&] { return check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED; }))
        throw Error(ErrorKind::FeatureNotSupported, "row-level security is enabled on \"" + rel_name + "\" for the current user",
                    "unlearn.evaluate reads every row of the table; evaluate as a role the policy does not apply to.");
    std::vector<std::string> columns = m.features;
    columns.push_back(m.target);
    for (const auto &c : columns)
        if (pg_call([&] { return get_attnum(relid, c.c_str()); }) == InvalidAttrNumber)
            throw Error(ErrorKind::UndefinedColumn, "column \"" + c + "\" of relation " + rel_name + " does not exist",
                        "The table needs the model's target and feature columns, by name.");
    require_select(relid, columns, "unlearn.evaluate reads the model's target and feature columns.");
    QualityAccumulator acc(fit);
    int64 skipped = 0;
    scan_source(relid, {}, m.target, m.features, &m.categories, &m.classes, [&](const RowBatch &b) {
        for (int i = 0; i < b.rows; ++i) {
            if (b.trainable[i]) acc.add(b.x.row(i).transpose(), b.y(i));
            else ++skipped;
        }
    });
    const Quality q = acc.result();
    const std::string json = "{\"computed_on\": " + json_string(rel_name) + ", \"rows_skipped\": " + std::to_string(skipped) +
                             ", \"model_version\": " + std::to_string(m.version) + ", " + quality_json(q) + "}";
    return jsonb_datum(spi, json);
}
