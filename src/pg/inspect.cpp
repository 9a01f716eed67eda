// Evidence that a model holds what lineage says and nothing else:
// unlearn.verify (retrain from scratch and compare), unlearn.trained_on and
// the rows behind the unlearn.lineage view.
#include <cmath>
#include <set>
#include <unordered_map>

#include "args.hpp"
#include "key_codec.hpp"
#include "error.hpp"
#include "interrupt.hpp"
#include "model_cache.hpp"
#include "rows.hpp"
#include "sisa.hpp"
#include "source.hpp"

using namespace unlearn;
using namespace unlearn::pg;

namespace {

struct Check {
    std::string name;
    double value;
    double tolerance;
};

constexpr double kParameterTolerance = 1e-9;
constexpr Eigen::Index kPredictionSample = 10000;

double max_rel_diff(const Vector &a, const Vector &b) {
    if (a.size() != b.size()) return INFINITY;
    if (a.size() == 0) return 0.0;
    double scale = std::max(b.cwiseAbs().maxCoeff(), 1e-300);
    return (a - b).cwiseAbs().maxCoeff() / scale;
}

struct Retrained {
    std::vector<ShardState> states;
    int64 lineage_missing = 0;
    RowMatrix sample_x;
};

// Reads the table again and fits only the rows lineage says the model holds,
// each in its recorded shard.
Retrained retrain(Spi &spi, const ModelMeta &m) {
    std::unordered_map<std::string, int32> held;
    for (const auto &kv : load_all_blocks(spi, m)) {
        check_interrupts();
        for (const auto &e : kv.second.entries())
            if (e.role == Role::Train) held.emplace(e.key, e.shard);
    }

    const int p = width(m);
    Retrained r;
    r.sample_x.resize(0, p);
    std::vector<std::string> columns = m.features;
    columns.push_back(m.target);
    check_source(spi, m.relation, columns);
    int64 found = 0;
    scan_source(m.relation, m.key_columns, m.target, m.features, &m.categories, [&](const RowBatch &b) {
        std::vector<std::vector<Eigen::Index>> by_shard(static_cast<size_t>(m.shards));
        for (int i = 0; i < b.rows; ++i) {
            auto it = b.trainable[i] ? held.find(b.keys[i]) : held.end();
            if (it == held.end()) continue;
            if (r.states.empty()) {
                for (int s = 0; s < m.shards; ++s) r.states.push_back(empty_state(m.algorithm, p));
            }
            by_shard[static_cast<size_t>(it->second)].push_back(i);
            ++found;
            if (r.sample_x.rows() < kPredictionSample) {
                r.sample_x.conservativeResize(r.sample_x.rows() + 1, Eigen::NoChange);
                r.sample_x.bottomRows(1) = b.x.row(i);
            }
        }
        for (size_t s = 0; s < by_shard.size(); ++s)
            if (!by_shard[s].empty()) {
                RowMatrix x = b.x(by_shard[s], Eigen::all);
                Vector y = b.y(by_shard[s]);
                add_rows(r.states[s], x, y, +1);
            }
    });
    r.lineage_missing = static_cast<int64>(held.size()) - found;
    return r;
}

std::vector<Check> verify_model(Spi &spi, const ModelMeta &m) {
    std::vector<Check> checks;
    std::vector<ShardState> states = load_states(spi, m);
    int64 state_rows_total = 0;
    for (const auto &s : states) state_rows_total += state_rows(s);
    Retrained fresh = retrain(spi, m);
    int64 retrained_rows = 0;
    for (const auto &s : fresh.states) retrained_rows += state_rows(s);

    checks.push_back({"lineage_rows_missing_from_table", static_cast<double>(fresh.lineage_missing), 0});
    checks.push_back({"state_rows_minus_retrain_rows", static_cast<double>(state_rows_total - retrained_rows), 0});
    if (fresh.states.empty() || state_rows_total == 0) {
        checks.push_back({"model_is_empty", state_rows_total == 0 && retrained_rows == 0 ? 0.0 : 1.0, 0});
        return checks;
    }
    // Exact sums: each shard's state must be the retrain's, byte for byte.
    std::string first_difference;
    for (size_t s = 0; s < states.size() && s < fresh.states.size() && first_difference.empty(); ++s)
        first_difference = state_difference(m.algorithm, states[s], fresh.states[s]);
    checks.push_back({"state_digest_mismatch", first_difference.empty() ? 0.0 : 1.0, 0});
    if (!first_difference.empty()) checks.push_back({"state_differs_in " + first_difference, 1.0, 0});
    FittedModel ours = fit_meta(m, states);
    FittedModel theirs = fit_meta(m, fresh.states);
    checks.push_back({"parameters_max_rel_diff", max_rel_diff(ours.parameters(), theirs.parameters()), kParameterTolerance});

    Vector a(fresh.sample_x.rows()), b(fresh.sample_x.rows());
    for (Eigen::Index i = 0; i < fresh.sample_x.rows(); ++i) {
        Vector x = fresh.sample_x.row(i).transpose();
        a(i) = ours.predict(x);
        b(i) = theirs.predict(x);
    }
    if (is_classifier(m.algorithm))
        checks.push_back({"predictions_disagreeing", static_cast<double>((a.array() != b.array()).count()), 0});
    else
        checks.push_back({"predictions_max_rel_diff", max_rel_diff(a, b), kParameterTolerance});
    return checks;
}

// Every shard's rows as lineage holds them, read again from the source.
ShardSet reread_shards(Spi &spi, const ModelMeta &m, const ClassLabels &classes) {
    std::vector<std::string> columns = m.features;
    columns.push_back(m.target);
    check_source(spi, m.relation, columns);
    std::set<int32> all;
    for (int32 s = 0; s < m.shards; ++s) all.insert(s);
    return read_shards(spi, m, classes, all);
}

// SISA: every shard is trained again from scratch, slice by slice, over the
// rows lineage holds, with the same seed; the stored checkpoints' digests
// must match the rows lineage assigns to each slice.
std::vector<Check> verify_sisa(Spi &spi, const ModelMeta &m) {
    std::vector<Check> checks;
    std::vector<ShardState> states = load_states(spi, m);
    const ClassLabels classes = std::get<SisaShard>(states.at(0)).classes;
    ShardSet fresh = reread_shards(spi, m, classes);
    const auto stored = checkpoint_digests(spi, m);
    std::unique_ptr<Learner> learner = make_learner(m.algorithm, m.options, width(m), classes.size());
    // an mlp retrains bit for bit; Newton's answer depends on its start within its tolerance
    const double tolerance = m.algorithm == Algorithm::Mlp ? 1e-12 : 1e-8;
    int64 digests_wrong = static_cast<int64>(stored.size()) - static_cast<int64>(m.shards) * m.slices;
    int64 rows_differ = 0;
    double worst = 0;
    std::vector<ConstituentPtr> retrained;
    RowMatrix sample;
    std::vector<Check> per_shard;
    for (int32 s = 0; s < m.shards; ++s) {
        const ShardRows &rows = fresh.shards[s];
        std::vector<Checkpoint> cps = train_slices(*learner, rows, m.slices, 0, nullptr, static_cast<uint64_t>(s));
        for (const Checkpoint &c : cps) {
            auto it = stored.find({s, c.slice});
            if (it == stored.end() || it->second.first != c.rows || it->second.second != digest_text(c.digest))
                ++digests_wrong;
        }
        const Checkpoint &ours = std::get<SisaShard>(states[static_cast<size_t>(s)]).last;
        rows_differ += std::llabs(ours.rows - cps.back().rows);
        double diff = 0;
        if (ours.model && cps.back().model)
            diff = max_rel_diff(ours.model->parameters(), cps.back().model->parameters());
        else if (static_cast<bool>(ours.model) != static_cast<bool>(cps.back().model))
            diff = INFINITY;
        worst = std::max(worst, diff);
        per_shard.push_back({"shard " + std::to_string(s) + " parameters_max_rel_diff", diff, tolerance});
        retrained.push_back(cps.back().rows > 0 ? cps.back().model : nullptr);
        const Eigen::Index take = std::min<Eigen::Index>(rows.x.rows(), kPredictionSample / m.shards + 1);
        sample.conservativeResize(sample.rows() + take, width(m));
        sample.bottomRows(take) = rows.x.topRows(take);
    }
    checks.push_back({"lineage_rows_missing_from_table", static_cast<double>(fresh.missing), 0});
    checks.push_back({"state_rows_minus_retrain_rows", static_cast<double>(rows_differ), 0});
    checks.push_back({"checkpoint_digests_mismatched", static_cast<double>(digests_wrong), 0});
    checks.push_back({"parameters_max_rel_diff", worst, tolerance});
    if (sample.rows() > 0) {
        FittedModel ours = fit_meta(m, states);
        const auto &fit = std::get<SisaFit>(ours.fit);
        Matrix a = fit.proba(sample);
        Matrix b = aggregate(retrained, sample, classes.size(), fit.vote);
        int64 disagree = 0;
        for (Eigen::Index i = 0; i < a.rows(); ++i) {
            Eigen::Index ia, ib;
            a.row(i).maxCoeff(&ia);
            b.row(i).maxCoeff(&ib);
            disagree += ia != ib;
        }
        checks.push_back({"predictions_disagreeing", static_cast<double>(disagree), 0});
    }
    checks.insert(checks.end(), per_shard.begin(), per_shard.end());
    return checks;
}

// Certified: per shard, the true gradient residual of the model over the
// rows lineage holds must stay within the running bound, and the distance to
// an exact retrain (same noise) within what the bound promises (bound / μ).
// Values are the excess over the promise: 0 passes.
std::vector<Check> verify_certified(Spi &spi, const ModelMeta &m) {
    std::vector<Check> checks;
    std::vector<ShardState> states = load_states(spi, m);
    const ClassLabels classes = std::get<CertifiedShard>(states.at(0)).classes;
    ShardSet fresh = reread_shards(spi, m, classes);
    const CertifiedOptions o = certified_options(m.options);
    int64 rows_differ = 0, over_budget = 0;
    double residual_excess = 0, distance_excess = 0;
    std::vector<Check> per_shard;
    for (int32 s = 0; s < m.shards; ++s) {
        const CertifiedState &st = std::get<CertifiedShard>(states[static_cast<size_t>(s)]).state;
        const ShardRows &rows = fresh.shards[s];
        rows_differ += std::llabs(st.rows - static_cast<int64>(rows.y.size()));
        if (rows.y.empty() || st.rows == 0) continue;
        // a shard left with one class carries no certificate: it is an exact refit, judged by its distance
        over_budget += !single_class(rows.y) && st.bound > certified_budget(o);
        const double residual = certified_gradient_norm(st, rows.x, rows.y, o, s);
        const CertifiedState exact = certified_refit(rows.x, rows.y, o, s);
        const double mu = certified_min_curvature(rows.x, st.theta, exact.theta, o.l2);
        const double distance = (st.theta - exact.theta).norm();
        // the exact solve's own residual is part of the promise
        const double promise = mu > 0 ? (st.bound + exact.bound) / mu : INFINITY;
        const double r_excess = std::max(0.0, residual - st.bound - 1e-12);
        const double d_excess = std::max(0.0, distance - promise - 1e-12);
        residual_excess = std::max(residual_excess, r_excess);
        distance_excess = std::max(distance_excess, d_excess);
        per_shard.push_back({"shard " + std::to_string(s) + " gradient_residual_over_bound", r_excess, 0});
        per_shard.push_back({"shard " + std::to_string(s) + " distance_to_retrain_over_promise", d_excess, 0});
    }
    checks.push_back({"lineage_rows_missing_from_table", static_cast<double>(fresh.missing), 0});
    checks.push_back({"state_rows_minus_retrain_rows", static_cast<double>(rows_differ), 0});
    checks.push_back({"shards_over_budget", static_cast<double>(over_budget), 0});
    checks.push_back({"gradient_residual_over_bound", residual_excess, 0});
    checks.push_back({"distance_to_retrain_over_promise", distance_excess, 0});
    checks.insert(checks.end(), per_shard.begin(), per_shard.end());
    return checks;
}

// Lineage names rows by the primary key the model was trained with. When the
// table lost it (or it moved to other columns), keys may repeat and no retrain
// can be matched row for row: verify reports a failed check instead of failing.
bool key_is_primary(Spi &spi, const ModelMeta &m) {
    SpiResult pk = spi.exec(
        "SELECT a.attname::text FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attnum = k.attnum WHERE i.indrelid = $1 AND i.indisprimary "
        "AND a.attrelid = i.indrelid ORDER BY k.ord",
        {oid_param(m.relation)});
    std::vector<std::string> keys;
    for (uint64 i = 0; i < pk.rows(); ++i) keys.push_back(pk.str(i, 1));
    return keys == m.key_columns;
}

}  // namespace

UNLEARN_FUNCTION(unlearn_verify) {
    const std::string name = text_arg(fcinfo, 0, "model name");
    Spi spi;
    ModelMeta m = load_model(spi, name);
    std::vector<Check> checks = !key_is_primary(spi, m)             ? std::vector<Check>{{"source_primary_key_missing", 1, 0}}
                                : m.strategy == Strategy::Sisa        ? verify_sisa(spi, m)
                                : m.strategy == Strategy::Certified ? verify_certified(spi, m)
                                                                    : verify_model(spi, m);
    pg_call([&] {
        MemoryContextSwitchTo(spi.outer());
        InitMaterializedSRF(fcinfo, 0);
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        for (const auto &c : checks) {
            Datum values[4] = {CStringGetTextDatum(c.name.c_str()), Float8GetDatum(c.value), Float8GetDatum(c.tolerance),
                               BoolGetDatum(std::fabs(c.value) <= c.tolerance)};
            bool nulls[4] = {false, false, false, false};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
    return static_cast<Datum>(0);
}

// trained_on(model, key text) and trained_on(model, key anyelement): the key
// is parsed (or taken) as the key column's base type, as the caller (these
// functions are not SECURITY DEFINER), and looked up by its encoding.
UNLEARN_FUNCTION(unlearn_trained_on) {
    const std::string name = text_arg(fcinfo, 0, "model name");
    require_arg(fcinfo, 1, "key");
    const Oid type = pg_call([&] { return get_fn_expr_argtype(fcinfo->flinfo, 1); });
    if (type == InvalidOid) throw Error(ErrorKind::Internal, "unlearn.trained_on: cannot determine the key's type");
    Spi spi;
    ModelMeta m = load_model(spi, name);
    require_select(m.relation, m.key_columns, "trained_on tells whether a row is in the table: GRANT SELECT on its key.");
    const std::string key = key_from_datum(key_columns(m.relation, m.key_columns), type, PG_GETARG_DATUM(1));
    auto blocks = load_blocks(spi, m, {lineage_bucket(m, key)});
    bool held = false;
    for (const auto &kv : blocks)
        if (const LineageEntry *e = kv.second.find(key)) held = e->role == Role::Train;
    return BoolGetDatum(held);
}

// (key, shard, slice, role) of every row a model's lineage holds; the key
// rendered by its type's output function in the reader's session (display
// only: lineage identifies it by its stored value).
UNLEARN_FUNCTION(unlearn_lineage_entries) {
    require_arg(fcinfo, 0, "model id");
    ModelMeta m;
    m.id = PG_GETARG_INT32(0);
    Spi spi;
    SpiResult meta = spi.exec("SELECT relation::oid, key_columns FROM unlearn.models WHERE model_id = $1", {int4_param(m.id)});
    std::vector<KeyColumn> cols;
    if (meta.rows() == 1) {
        try {
            cols = key_columns(DatumGetObjectId(meta.datum(0, 1)), meta.text_array(0, 2));
        } catch (const Error &) {  // a key column dropped or retyped since: keys show as bytes
        }
    }
    auto blocks = load_all_blocks(spi, m);
    pg_call([&] {
        MemoryContextSwitchTo(spi.outer());
        InitMaterializedSRF(fcinfo, 0);
    });
    auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
    for (const auto &kv : blocks)
        for (const auto &e : kv.second.entries()) {
            const std::string key = key_display(cols, e.key);
            pg_call([&] {
                Datum values[4] = {PointerGetDatum(cstring_to_text_with_len(key.data(), static_cast<int>(key.size()))),
                                   Int32GetDatum(e.shard), Int32GetDatum(e.slice),
                                   CStringGetTextDatum(e.role == Role::Train ? "train" : "holdout")};
                bool nulls[4] = {false, false, false, false};
                tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
            });
        }
    return static_cast<Datum>(0);
}
