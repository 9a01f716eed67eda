// Strategy dare: random forests that forget exactly (Brophy & Lowd, ICML
// 2021; the forest is src/core/forest). A DELETE walks each forgotten row's
// path with the row's old values (the transition table has them), updates
// the nodes' statistics and retrains only subtrees whose split changes; an
// INSERT learned with on_insert = 'learn' does the same with +1. Rows for a
// retrained subtree are the rows lineage holds after the change, read from
// the table once per statement (only when some subtree retrains): the scan
// keeps the rows that reach a retrained subtree (the core's filter) and asks
// lineage about those alone. The model has one shard; its state is
// the whole forest.
#include <map>
#include <set>

#include "error.hpp"
#include "interrupt.hpp"
#include "memory.hpp"
#include "pg_snapshot.hpp"
#include "shard_rows.hpp"
#include "source.hpp"
#include "strategy.hpp"

namespace unlearn::pg {
namespace {

ForestShard &forest_of(ShardState &s) { return std::get<ForestShard>(s); }

int class_count(const ClassLabels &classes) { return classes.size(); }

// The target as the forest takes it: a class index, or the value.
double forest_target(const ClassLabels &classes, double y) {
    if (classes.size() == 0) return y;
    const int c = classes.index(y);
    if (c < 0) throw Error(ErrorKind::CorruptState, "a forest was asked to change a row of a class it does not know");
    return c;
}

// The rows lineage holds now, read from the table (what the transaction
// sees now: inside a trigger the statement's snapshot still shows the rows
// it deleted; lineage decides which rows count). missing: held rows the
// table no longer has, or has with values the model cannot use.
struct HeldForestRows {
    ForestRows rows;
    int64 missing = 0;
};

HeldForestRows read_held(Spi &spi, const ModelMeta &m, const ClassLabels &classes) {
    const HeldRows held = held_rows(spi, m, {0});
    const int p = width(m);
    double key_bytes = 0;
    for (const auto &kv : held) key_bytes += static_cast<double>(kv.first.size());
    const double n = static_cast<double>(held.size());
    check_memory(rows_bytes(n, p, key_bytes, 2) + 64 * n + key_bytes,
                 "reading the rows of model \"" + m.name + "\"", "train with fewer rows or features");
    std::vector<double> xs, ys;
    int64 found = 0;
    {
        const PgActiveSnapshot now = PgActiveSnapshot::of_table();
        scan_source(m.relation, m.key_columns, m.target, m.features, &m.categories, &m.classes, [&](const RowBatch &b) {
            for (int i = 0; i < b.rows; ++i) {
                if (!b.trainable[i] || !held.count(b.keys[i])) continue;
                if (classes.size() > 0 && classes.index(b.y(i)) < 0) continue;  // counted as missing
                xs.insert(xs.end(), b.x.row(i).data(), b.x.row(i).data() + p);
                ys.push_back(forest_target(classes, b.y(i)));
                ++found;
            }
        });
    }
    HeldForestRows out;
    out.rows.x = Eigen::Map<RowMatrix>(xs.data(), static_cast<Eigen::Index>(ys.size()), p);
    out.rows.y = Eigen::Map<Vector>(ys.data(), static_cast<Eigen::Index>(ys.size()));
    out.missing = static_cast<int64>(held.size()) - found;
    return out;
}

// The rows lineage holds now that the forest needs (the filter: rows that
// reach a subtree it retrains, a few of the table's), read from the table
// as the transaction sees it now; lineage is asked only about those rows,
// since the table also has rows the model does not hold (holdout rows,
// rows inserted but not learned).
ForestRows read_needed(Spi &spi, const ModelMeta &m, const ClassLabels &classes, const ForestRowFilter &needed) {
    const int p = width(m);
    std::vector<double> xs, ys;
    std::vector<std::string> keys;
    double key_bytes = 0;
    const std::string operation = "reading the rows of model \"" + m.name + "\"";
    {
        const PgActiveSnapshot now = PgActiveSnapshot::of_table();
        std::vector<char> keep;
        scan_source(m.relation, m.key_columns, m.target, m.features, &m.categories, &m.classes, [&](const RowBatch &b) {
            check_memory(rows_bytes(static_cast<double>(ys.size()) + b.rows, p, key_bytes, 2), operation,
                         "train with fewer rows or features", true);
            keep.assign(static_cast<size_t>(b.rows), 0);
            needed.mark(b.x.data(), static_cast<size_t>(b.rows), static_cast<size_t>(b.x.cols()), keep.data());
            for (int i = 0; i < b.rows; ++i) {
                if (!b.trainable[i] || !keep[static_cast<size_t>(i)]) continue;
                if (classes.size() > 0 && classes.index(b.y(i)) < 0) continue;  // not a row the forest holds
                xs.insert(xs.end(), b.x.row(i).data(), b.x.row(i).data() + p);
                ys.push_back(forest_target(classes, b.y(i)));
                keys.push_back(b.keys[i]);
                key_bytes += static_cast<double>(keys.back().size());
            }
        });
    }
    const LineageLayout layout = lineage_of(m);
    std::set<int32> buckets;
    for (const auto &k : keys) buckets.insert(layout.bucket(k));
    const std::map<int32, LineageBlock> blocks = load_blocks(spi, m, std::vector<int32>(buckets.begin(), buckets.end()));
    std::vector<Eigen::Index> held;
    for (size_t i = 0; i < keys.size(); ++i) {
        const auto block = blocks.find(layout.bucket(keys[i]));
        const LineageEntry *e = block == blocks.end() ? nullptr : block->second.find(keys[i]);
        if (e && e->role == Role::Train) held.push_back(static_cast<Eigen::Index>(i));
    }
    const Eigen::Map<const RowMatrix> x(xs.data(), static_cast<Eigen::Index>(ys.size()), p);
    const Eigen::Map<const Vector> y(ys.data(), static_cast<Eigen::Index>(ys.size()));
    return ForestRows{x(held, Eigen::all), y(held)};
}

// Forgets (-1) or learns (+1) the rows; a retrain reads the rows it needs
// from the table once, for every tree.
int64 update_forest(ModelChange &c, const StatementRows &rows, const std::vector<Eigen::Index> &idx, int sign) {
    c.lock_shards({0});  // the forest as the writers before this one left it; the next waits for commit
    ForestShard &fs = forest_of(c.states.at(0));
    RowMatrix x = rows.x(idx, Eigen::all);
    Vector y(static_cast<Eigen::Index>(idx.size()));
    for (size_t i = 0; i < idx.size(); ++i) y(static_cast<Eigen::Index>(i)) = forest_target(fs.classes, rows.y(idx[i]));
    ForestRows needed_rows;
    ForestUpdate done;
    try {
        done = fs.forest.update(x, y, sign, [&](const ForestRowFilter &needed) -> const ForestRows & {
            needed_rows = read_needed(c.spi, c.model, fs.classes, needed);
            return needed_rows;
        });
    } catch (const ForestRowsMissing &) {
        throw rows_missing(c.model.name);
    }
    c.audit.shards.push_back(0);
    c.audit.details = "\"subtrees_retrained\": " + std::to_string(done.retrained) +
                      ", \"nodes_recounted\": " + std::to_string(done.recounted);
    return done.retrained;
}

// A forest of the model's layout trained on rows (none: the forest a train
// on no rows builds), refused when it would not fit in unlearn.max_memory.
// A model's forest keeps the rules it was trained with (`like`) where a
// default has changed since: its threshold cells (one stored before cells,
// encoding 1, keeps every value its own cell) and its random levels (0
// before 0.7.0); the model's options name them only when the user did.
Forest grow(const ModelMeta &m, const ClassLabels &classes, const ForestRows &rows, const Forest *like = nullptr) {
    const int p = width(m);
    ForestOptions o = forest_options(m.options, p);
    if (like) {
        o.cell_bits = like->options().cell_bits;
        o.random_depth = like->options().random_depth;
    }
    // the rows twice (as read, and as given), and their cells while the forest trains
    check_memory(rows_bytes(static_cast<double>(rows.x.rows()), p, 0, 3) +
                     forest_bytes_bound(o, p, class_count(classes), static_cast<double>(rows.x.rows())),
                 "training random forest \"" + m.name + "\"",
                 "limit max_depth, raise min_samples_leaf, or use fewer trees (n_estimators) or candidates (k)");
    Forest f(o, p, class_count(classes));
    f.fit(rows.x, rows.y);
    return f;
}

class Dare final : public ForgettingStrategy {
public:
    bool shard_major() const override { return true; }

    void check_request(const TrainRequest &req) const override {
        if (req.slices != 1)
            throw Error(req.slices < 1 ? ErrorKind::InvalidParameter : ErrorKind::FeatureNotSupported,
                        "slices must be 1 for strategy dare",
                        "Slices are SISA checkpoints; a forest forgets exactly by updating its trees.");
        if (req.shards != 1)
            throw Error(ErrorKind::FeatureNotSupported, "shards must be 1 for strategy dare",
                        "A forest forgets a row by updating its trees; use n_estimators for more trees.");
    }

    // One scan: trainable rows to lineage and the forest's rows, holdout
    // rows to lineage only; then the classes (the class-label rule) or a
    // check that a regression target varies, and the forest.
    Trained train(const TrainRequest &req, const std::vector<std::string> &keys,
                  const std::string &rel_name) const override {
        if (has_categorical_feature(req.relation, req.features))
            throw Error(ErrorKind::FeatureNotSupported, "strategy dare does not take categorical features",
                        "Encode text features as numeric columns.");
        Trained t;
        const int p = static_cast<int>(req.features.size());
        const LineageLayout layout = lineage_of(req);
        std::vector<double> xs, ys;
        double key_bytes = 0;
        const std::string operation = "training model \"" + req.name + "\"";
        scan_source(req.relation, keys, req.target, req.features, nullptr, &req.classes, [&](const RowBatch &b) {
            t.rows_seen += b.rows;
            for (int i = 0; i < b.rows; ++i) key_bytes += b.trainable[i] ? static_cast<double>(b.keys[i].size()) : 0.0;
            check_memory(rows_bytes(static_cast<double>(ys.size()) + b.rows, p, key_bytes, 2), operation,
                         "train on a smaller table, with fewer features", true);
            for (int i = 0; i < b.rows; ++i) {
                if (!b.trainable[i]) {
                    ++t.rows_skipped;
                    continue;
                }
                const Placement at = layout.place(b.keys[i]);
                if (is_holdout(b.keys[i], req.options.holdout, req.options.seed)) {
                    t.lineage.add(b.keys[i], at.shard, 0, Role::Holdout);
                    ++t.rows_holdout;
                    continue;
                }
                xs.insert(xs.end(), b.x.row(i).data(), b.x.row(i).data() + p);
                ys.push_back(b.y(i));
                t.lineage.add(b.keys[i], at.shard, at.slice);
            }
        });
        if (ys.empty()) return t;  // the train request explains
        ForestRows rows;
        rows.x = Eigen::Map<RowMatrix>(xs.data(), static_cast<Eigen::Index>(ys.size()), p);
        std::vector<double>().swap(xs);
        rows.y = Eigen::Map<Vector>(ys.data(), static_cast<Eigen::Index>(ys.size()));
        if (req.algorithm == Algorithm::RandomForest) {
            t.classes = ClassLabels::of(rows.y);
            if (t.classes.size() < 2)
                throw Error(ErrorKind::DataException, "target \"" + req.target + "\" has only one class",
                            "random_forest needs at least two distinct target values.");
            for (Eigen::Index i = 0; i < rows.y.size(); ++i) rows.y(i) = t.classes.index(rows.y(i));
        } else if ((rows.y.array() == rows.y(0)).all()) {
            throw Error(ErrorKind::DataException, "target \"" + req.target + "\" of " + rel_name + " is constant",
                        "random_forest_regressor needs a target that varies.");
        }
        t.states.push_back(ForestShard{t.classes, grow(req, t.classes, rows)});
        return t;
    }
    std::string train_method() const override { return "full scan, forest"; }

    const char *forget_method() const override { return "subtree retrain"; }
    void forget(ModelChange &c, const StatementRows &rows, const std::vector<RowEntry> &removed) const override {
        const auto by_shard = rows_by_shard(c.model, rows, removed);
        if (by_shard.empty()) return;
        update_forest(c, rows, by_shard.begin()->second, -1);
    }

    const char *learn_method() const override { return "subtree retrain"; }
    // a label the classifier does not know is not learned: its classes are fixed at training
    bool learns_label(const ModelChange &c, double label) const override {
        const ClassLabels &classes = std::get<ForestShard>(c.states.at(0)).classes;
        return classes.size() == 0 || classes.index(label) >= 0;
    }
    bool learn(ModelChange &c, const StatementRows &rows, const std::vector<RowEntry> &added) const override {
        std::vector<Eigen::Index> idx;
        for (const RowEntry &r : added) idx.push_back(static_cast<Eigen::Index>(r.row));
        if (idx.empty()) return false;
        update_forest(c, rows, idx, +1);
        return true;
    }

    // the forest a train on no rows builds
    void reset(ModelChange &c) const override {
        ForestShard &fs = forest_of(c.states.at(0));
        fs.forest = grow(c.model, fs.classes, ForestRows{RowMatrix(0, width(c.model)), Vector(0)}, &fs.forest);
        c.change_all_shards();
    }

    // a forest never given the column: trained again from the table without it
    void drop_feature(ModelChange &c, int, int) const override {
        c.audit.method = "forest retrain";
        ForestShard &fs = forest_of(c.states.at(0));
        HeldForestRows h = read_held(c.spi, c.model, fs.classes);
        if (h.missing != 0)
            throw Error(ErrorKind::CorruptState, "model \"" + c.model.name + "\" holds rows its table no longer has",
                        "unlearn.resync('" + c.model.name + "') retrains the model.");
        fs.forest = grow(c.model, fs.classes, h.rows, &fs.forest);
        c.change_all_shards();
    }

    // The forest trained again from the rows lineage holds, with the same
    // seed, must be the stored one node for node, and predict the same bits.
    std::vector<Check> verify(Spi &spi, const ModelMeta &m) const override;
};

std::vector<Check> Dare::verify(Spi &spi, const ModelMeta &m) const {
    std::vector<ShardState> states = load_states(spi, m);
    const ForestShard &ours = forest_of(states.at(0));
    std::vector<std::string> columns = m.features;
    columns.push_back(m.target);
    check_source(spi, m.relation, columns);
    const HeldForestRows h = read_held(spi, m, ours.classes);
    const Forest fresh = grow(m, ours.classes, h.rows, &ours.forest);
    std::vector<Check> checks;
    checks.push_back({"lineage_rows_missing_from_table", static_cast<double>(h.missing), 0});
    checks.push_back({"state_rows_minus_retrain_rows", static_cast<double>(ours.forest.rows() - fresh.rows()), 0});
    const std::string difference = ours.forest.difference(fresh);
    checks.push_back({"forest_structure_mismatch", difference.empty() ? 0.0 : 1.0, 0});
    if (!difference.empty()) checks.push_back({"forest_differs_in " + difference, 1.0, 0});
    int64 differ = 0;
    const Eigen::Index sample = std::min<Eigen::Index>(h.rows.x.rows(), kPredictionSample);
    for (Eigen::Index i = 0; i < sample; ++i) {
        check_interrupts();
        const double *x = h.rows.x.row(i).data();
        if (ours.classes.size() > 0) differ += (ours.forest.predict_proba(x).array() != fresh.predict_proba(x).array()).any();
        else differ += ours.forest.predict_value(x) != fresh.predict_value(x);
    }
    checks.push_back({"predictions_differing", static_cast<double>(differ), 0});
    return checks;
}

}  // namespace

const ForgettingStrategy &dare_strategy() { static const Dare strategy; return strategy; }

}  // namespace unlearn::pg
