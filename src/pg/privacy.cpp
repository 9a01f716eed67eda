// unlearn.membership_inference: the loss-threshold attack of the rows a
// model holds against its holdout rows, computed from the table as it is.
#include <unordered_map>

#include "args.hpp"
#include "catalog.hpp"
#include "error.hpp"
#include "metrics.hpp"
#include "pg_memory.hpp"
#include "rows.hpp"
#include "source.hpp"

using namespace unlearn;
using namespace unlearn::pg;

namespace {

// Negated losses (higher: more member-like) of the rows lineage holds as
// train and as holdout.
std::pair<std::vector<double>, std::vector<double>> attack_scores(Spi &spi, const ModelMeta &m, const FittedModel &fit) {
    std::unordered_map<std::string, Role> roles;
    for (const auto &kv : load_all_blocks(spi, m))
        for (const auto &e : kv.second.entries()) roles.emplace(e.key, e.role);
    std::vector<std::string> columns = m.features;
    columns.push_back(m.target);
    check_source(spi, m.relation, columns);
    std::vector<double> members, nonmembers;
    scan_source(m.relation, m.key_columns, m.target, m.features, &m.categories, &m.classes, [&](const RowBatch &b) {
        for (int i = 0; i < b.rows; ++i) {
            if (!b.trainable[i]) continue;
            auto it = roles.find(b.keys[i]);
            if (it == roles.end()) continue;
            const double score = -fit.loss(b.x.row(i).transpose(), b.y(i));
            (it->second == Role::Train ? members : nonmembers).push_back(score);
        }
    });
    return {std::move(members), std::move(nonmembers)};
}

}  // namespace

UNLEARN_FUNCTION(unlearn_membership_inference) {
    const std::string name = text_arg(fcinfo, 0, "model name");
    Spi spi;
    ModelMeta m = load_model(spi, name);
    FittedModel fit = fit_meta(m, load_states(spi, m, nullptr, nullptr, StatesFor::Predicting));
    auto scores = attack_scores(spi, m, fit);
    if (scores.second.empty())
        throw Error(ErrorKind::InvalidParameter, "model \"" + name + "\" has no holdout rows to compare with",
                    "Train it with options.holdout, e.g. '{\"holdout\": 0.2}'.");
    const AttackFigures f = threshold_attack(scores.first, scores.second);
    const PgMemoryContextSwitch to_caller(spi.outer());
    return pg_call([&] {
        TupleDesc desc;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
            elog(ERROR, "unlearn.membership_inference must be declared to return a composite");
        Datum values[5] = {Float8GetDatum(f.auc), Float8GetDatum(f.tpr_at_1pct_fpr), Float8GetDatum(f.advantage),
                           Int64GetDatum(f.members), Int64GetDatum(f.nonmembers)};
        bool nulls[5] = {false, false, false, false, false};
        return HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls));
    });
}

// The attack's ROC curve, for unlearn.report: (FPR, TPR) points, thinned.
UNLEARN_FUNCTION(unlearn_membership_roc) {
    const std::string name = text_arg(fcinfo, 0, "model name");
    Spi spi;
    ModelMeta m = load_model(spi, name);
    FittedModel fit = fit_meta(m, load_states(spi, m, nullptr, nullptr, StatesFor::Predicting));
    auto scores = attack_scores(spi, m, fit);
    const std::vector<std::pair<double, double>> roc =
        scores.first.empty() || scores.second.empty() ? std::vector<std::pair<double, double>>{}
                                                      : threshold_attack(scores.first, scores.second).roc;
    const PgMemoryContextSwitch to_caller(spi.outer());
    pg_call([&] {
        InitMaterializedSRF(fcinfo, 0);
        auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
        for (const auto &p : roc) {
            Datum values[2] = {Float8GetDatum(p.first), Float8GetDatum(p.second)};
            bool nulls[2] = {false, false};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
    return static_cast<Datum>(0);
}
