// Strategy certified (Guo et al., ICML 2020): two-class logistic regression
// per shard, trained exactly on a perturbed objective; forgetting rows is one
// Newton step per touched shard (no row is read), and a shard whose bound
// passes its budget is retrained exactly. The arithmetic lives in
// src/core/certified.
#include <cmath>
#include <cstdio>

#include "error.hpp"
#include "evidence.hpp"
#include "shard_rows.hpp"
#include "strategy.hpp"

namespace unlearn::pg {
namespace {

// The two class labels as 0/1 indices; rows of another label are an error.
std::vector<int> binary_labels(const ClassLabels &classes, const Vector &y) {
    std::vector<int> out;
    out.reserve(static_cast<size_t>(y.size()));
    for (Eigen::Index i = 0; i < y.size(); ++i) {
        const int c = classes.index(y(i));
        if (c < 0) throw Error(ErrorKind::CorruptState, "a certified model holds a row of a class it does not know");
        out.push_back(c);
    }
    return out;
}

// Trains the given shards exactly over the rows lineage holds now (a
// retrain keeps counting: retrains + 1).
void certified_retrain(Spi &spi, const ModelMeta &m, const std::set<int32> &shards, std::vector<ShardState> &states) {
    if (shards.empty()) return;
    const ClassLabels classes = std::get<CertifiedShard>(states.at(0)).classes;
    ShardSet rows = read_retrained_shards(spi, m, classes, shards);
    const CertifiedOptions o = certified_options(m.options);
    for (int32 s : shards) {
        auto &shard = std::get<CertifiedShard>(states.at(static_cast<size_t>(s)));
        const ShardRows &r = rows.shards[s];
        const int64 retrains = shard.state.retrains + 1;
        shard.state = r.y.empty() ? certified_empty(width(m) + 1, retrains)  // every row of the shard left
                                  : certified_refit(r.x, r.y, o, s);
        shard.state.retrains = retrains;
    }
}

// Removes the rows (x, y as deleted) from each shard of states by one Newton
// step per shard; shards whose bound passes the budget are retrained exactly.
// Returns the audit figures (members of a JSON object) and sets *method.
std::string certified_forget(Spi &spi, const ModelMeta &m, const std::map<int32, std::vector<Eigen::Index>> &by_shard,
                             const RowMatrix &x, const Vector &y, std::vector<ShardState> &states, std::string *method) {
    const CertifiedOptions o = certified_options(m.options);
    if (by_shard.empty()) {  // only holdout rows left: no shard changes
        *method = "holdout rows only";
        return "\"path\": \"none\"";
    }
    std::set<int32> over;
    double before = 0, reached = 0;  // reached: the largest bound a step led to, before any retrain
    for (const auto &kv : by_shard) {
        auto &shard = std::get<CertifiedShard>(states.at(static_cast<size_t>(kv.first)));
        if (shard.state.rows == 0) continue;
        const CertifiedRemoval r =
            certified_remove(shard.state, x(kv.second, Eigen::all), binary_labels(shard.classes, y(kv.second)), o);
        before = std::max(before, r.bound_before);
        reached = std::max(reached, r.bound_after);
        if (r.over_budget) over.insert(kv.first);
    }
    certified_retrain(spi, m, over, states);
    double after = 0;  // the largest bound of a touched shard, after its step or its retrain
    for (const auto &kv : by_shard)
        after = std::max(after, std::get<CertifiedShard>(states.at(static_cast<size_t>(kv.first))).state.bound);
    *method = over.empty() ? "newton step" : "newton step, shard retrain (budget spent)";
    std::string out = std::string("\"path\": \"") + (over.empty() ? "newton" : "retrain") +
                      "\", \"bound_before\": " + json_number(before) + ", \"bound_after\": " + json_number(after) +
                      ", \"budget\": " + json_number(certified_budget(o)) +
                      ", \"shards_retrained\": " + std::to_string(over.size());
    // why the shard was retrained: what the bound would have become (null: no step was possible)
    if (!over.empty()) out += ", \"bound_reached\": " + json_number(reached);
    return out;
}

// Per feature, the spread of the training rows: the certified objective adds
// the same noise to every weight, so features far from unit scale make the
// model either noise (small-scale features, whose weights must be large) or
// fragile (large-scale ones: one removal near the boundary moves θ far and
// spends the budget at once). Sums in double: this only decides a WARNING.
struct FeatureScales {
    Eigen::Index n = 0;
    Vector sum, squares;
    void add(const RowMatrix &x) {
        if (x.rows() == 0) return;
        if (n == 0) {
            sum = Vector::Zero(x.cols());
            squares = Vector::Zero(x.cols());
        }
        n += x.rows();
        sum += x.colwise().sum().transpose();
        squares += x.colwise().squaredNorm().transpose();
    }
    double sd(Eigen::Index j) const {
        const double mean = sum(j) / static_cast<double>(n);
        return std::sqrt(std::max(0.0, squares(j) / static_cast<double>(n) - mean * mean));
    }
};

constexpr double kScaleLow = 0.01, kScaleHigh = 100, kScaleRatio = 100;

std::string rounded(double v) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%.3g", v);
    return buf;
}

void warn_if_unscaled(const TrainRequest &req, const FeatureScales &scales) {
    if (scales.n < 2) return;
    Eigen::Index lo = -1, hi = -1;
    for (Eigen::Index j = 0; j < scales.sum.size(); ++j) {
        if (!(scales.sd(j) > 0)) continue;  // a constant column: no scale to judge
        if (lo < 0 || scales.sd(j) < scales.sd(lo)) lo = j;
        if (hi < 0 || scales.sd(j) > scales.sd(hi)) hi = j;
    }
    if (lo < 0) return;
    const double small = scales.sd(lo), large = scales.sd(hi);
    if (small >= kScaleLow && large <= kScaleHigh && large / small <= kScaleRatio) return;
    const std::string msg = "the features of certified model \"" + req.name +
                            "\" are far from unit scale: standard deviations from " + rounded(small) + " (" +
                            req.features.at(static_cast<size_t>(lo)) + ") to " + rounded(large) + " (" +
                            req.features.at(static_cast<size_t>(hi)) + ")";
    pg_call([&] {
        ereport(WARNING,
                (errmsg("%s", msg.c_str()),
                 errdetail("The certified objective adds the same noise to every weight: it swamps the weights of "
                           "small-scale features, and removing a row near the boundary moves the weights of "
                           "large-scale ones far, which spends the removal budget at once."),
                 errhint("Train on standardised features (each column minus its mean, divided by its standard "
                         "deviation), all within %g to %g.", kScaleLow, kScaleHigh)));
    });
}

class Certified final : public ForgettingStrategy {
public:
    bool shard_major() const override { return true; }

    void check_request(const TrainRequest &req) const override {
        if (req.slices != 1)
            throw Error(req.slices < 1 ? ErrorKind::InvalidParameter : ErrorKind::FeatureNotSupported,
                        "slices must be 1 for strategy certified",
                        "Certified removal takes a Newton step instead of retraining from a checkpoint.");
        if (req.options.learn_inserts)
            throw Error(ErrorKind::FeatureNotSupported, "strategy certified does not learn inserted rows",
                        "Leave options.on_insert at \"ignore\", or use strategy sisa.");
    }

    Trained train(const TrainRequest &req, const std::vector<std::string> &keys,
                  const std::string &rel_name) const override {
        FeatureScales scales;
        Trained t = train_by_shard(
            req, keys, rel_name,
            [&](const ClassLabels &classes) {
                if (classes.size() != 2)
                    throw Error(ErrorKind::FeatureNotSupported,
                                "strategy certified is for two classes; target \"" + req.target + "\" has " +
                                    std::to_string(classes.size()),
                                "Use strategy sisa for more classes.");
            },
            [&](Trained &t, size_t s, const ShardRows &rows) {
                scales.add(rows.x);
                t.states.push_back(CertifiedShard{t.classes, certified_train(rows.x, rows.y, certified_options(req.options),
                                                                             static_cast<int32_t>(s))});
            });
        if (!req.reference) warn_if_unscaled(req, scales);
        return t;
    }
    std::string train_method() const override { return "full scan, certified"; }

    // One Newton step per touched shard, an exact retrain of the shards whose
    // bound passed the budget (lineage is written first: a retrain reads the
    // rows it holds now); the audit records the path and the bound before and after.
    const char *forget_method() const override { return "newton step"; }
    void forget(ModelChange &c, const StatementRows &rows, const std::vector<RowEntry> &removed) const override {
        const std::map<int32, std::vector<Eigen::Index>> touched = rows_by_shard(c.model, rows, removed);
        for (const auto &kv : touched) c.audit.shards.push_back(kv.first);
        c.lock_shards(c.audit.shards);  // a Newton step starts from the shard's current θ
        c.audit.details = certified_forget(c.spi, c.model, touched, rows.x, rows.y, c.states, &c.audit.method);
    }

    // refused at training (check_request): a certified model never learns
    const char *learn_method() const override { return "increment"; }
    bool learns_label(const ModelChange &, double) const override { return false; }
    bool learn(ModelChange &, const StatementRows &, const std::vector<RowEntry> &) const override {
        throw Error(ErrorKind::FeatureNotSupported, "strategy certified does not learn inserted rows");
    }

    void reset(ModelChange &c) const override {
        for (auto &st : c.states) {
            auto &cert = std::get<CertifiedShard>(st);
            cert.state = certified_empty(cert.state.theta.size(), cert.state.retrains);
        }
        c.change_all_shards();
    }

    void drop_feature(ModelChange &c, int, int) const override {
        c.audit.method = "shard retrain";
        c.change_all_shards();
        certified_retrain(c.spi, c.model, std::set<int32>(c.audit.shards.begin(), c.audit.shards.end()), c.states);
    }

    // Per shard, the true gradient residual of the model over the rows
    // lineage holds must stay within the running bound, and the distance to
    // an exact retrain (same noise) within what the bound promises (bound / μ).
    // Values are the excess over the promise: 0 passes.
    std::vector<Check> verify(Spi &spi, const ModelMeta &m) const override;
};

std::vector<Check> Certified::verify(Spi &spi, const ModelMeta &m) const {
    std::vector<Check> checks;
    std::vector<ShardState> states = load_states(spi, m);
    const ClassLabels classes = std::get<CertifiedShard>(states.at(0)).classes;
    ShardSet fresh = reread_all_shards(spi, m, classes);
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

}  // namespace

const ForgettingStrategy &certified_strategy() { static const Certified strategy; return strategy; }

}  // namespace unlearn::pg
