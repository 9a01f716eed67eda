// Strategy incremental: summation-form models (least squares, ridge, naive
// Bayes; Cao & Yang's statistics, MADlib's accumulators). Shard states add
// up to the model; forgetting a row subtracts its terms exactly, learning
// one adds them, forgetting a feature drops its sums. Lineage is spread over
// buckets by key hash, not by shard.
#include <unordered_map>

#include "classifier.hpp"
#include "error.hpp"
#include "interrupt.hpp"
#include "memory.hpp"
#include "pg_relation.hpp"
#include "source.hpp"
#include "strategy.hpp"

namespace unlearn::pg {
namespace {

constexpr double kParameterTolerance = 1e-9;

// One pass over the source adding every row to the sums of its shard: the
// training scan, and verify's retrain. on_batch sees each batch first;
// shard_of_row(batch, i) names the row's shard, or -1 to leave it out.
template <typename OnBatch, typename ShardOfRow>
std::vector<ShardState> add_up(const ModelMeta &m, const Categories *categories, int width, OnBatch on_batch,
                               ShardOfRow shard_of_row) {
    std::vector<ShardState> states;
    std::vector<std::vector<Eigen::Index>> by_shard(static_cast<size_t>(m.shards));
    scan_source(m.relation, m.key_columns, m.target, m.features, categories, &m.classes, [&](const RowBatch &b) {
        on_batch(b);
        for (auto &v : by_shard) v.clear();
        for (int i = 0; i < b.rows; ++i) {
            const int32 shard = shard_of_row(b, i);
            if (shard < 0) continue;
            if (states.empty()) {
                for (int s = 0; s < m.shards; ++s) states.push_back(empty_state(m.algorithm, width));
            }
            by_shard[static_cast<size_t>(shard)].push_back(i);
        }
        for (size_t s = 0; s < by_shard.size(); ++s) {
            const auto &idx = by_shard[s];
            if (idx.empty()) continue;
            // a full batch wholly in one shard (the usual case) needs no copy
            if (static_cast<Eigen::Index>(idx.size()) == b.x.rows()) {
                summation(states[s]).add_rows(b.x, b.y, +1);
                continue;
            }
            RowMatrix x = b.x(idx, Eigen::all);
            Vector y = b.y(idx);
            summation(states[s]).add_rows(x, y, +1);
        }
    });
    return states;
}

// Whether the positions are each of 0 .. n-1 once, in any order: a
// statement's rows all in one shard (the usual DELETE of a one-shard
// model), summed then without gathering them.
bool every_row_once(const std::vector<Eigen::Index> &at, Eigen::Index n) {
    if (static_cast<Eigen::Index>(at.size()) != n) return false;
    std::vector<char> seen(static_cast<size_t>(n), 0);
    for (Eigen::Index i : at) {
        if (i < 0 || i >= n || seen[static_cast<size_t>(i)]) return false;
        seen[static_cast<size_t>(i)] = 1;
    }
    return true;
}

// Adds (sign +1) or subtracts (-1) the rows of each shard.
void add_by_shard(ModelChange &c, const StatementRows &rows, const std::map<int32, std::vector<Eigen::Index>> &by_shard,
                  int sign) {
    for (const auto &kv : by_shard) {
        if (every_row_once(kv.second, rows.x.rows())) {  // the sums are exact: their order does not matter
            c.add_rows(kv.first, rows.x, rows.y, sign);
            continue;
        }
        RowMatrix x = rows.x(kv.second, Eigen::all);
        Vector y = rows.y(kv.second);
        c.add_rows(kv.first, x, y, sign);
    }
    c.prune_categories();
}

class Incremental final : public ForgettingStrategy {
public:
    bool shard_major() const override { return false; }

    void check_request(const TrainRequest &req) const override {
        if (req.slices != 1)
            throw Error(req.slices < 1 ? ErrorKind::InvalidParameter : ErrorKind::FeatureNotSupported,
                        "slices must be 1 for strategy incremental",
                        "Slices are SISA checkpoints; summation-form models forget exactly without them.");
    }

    // The states stream: only lineage grows with the rows.
    Trained train(const TrainRequest &req, const std::vector<std::string> &keys, const std::string &) const override {
        Trained t;
        // The categories of each text or enum feature, byte-ordered, read in
        // binary (no cast a table owner could define runs here); categories
        // seen only on rows that are not trainable are pruned after the scan.
        t.categories = distinct_categories(req.relation, req.features, 1000);
        // columns are checked against the source itself first, so errors name it
        double expected = 0;  // rows, by the planner's statistics
        const int p = [&] {
            const PgRelation rel(req.relation, NoLock);
            expected = rel.get()->rd_rel->reltuples;
            return plan_columns(rel.desc(), relation_name(req.relation), keys, req.target, req.features, &t.categories, &req.classes)
                .width;
        }();
        // room for the rows expected, with a margin for the statistics' error,
        // an 8-byte key each, when that fits in unlearn.max_memory: the
        // lineage then does not regrow (which copies it) on its way
        const double room = 1.1 * expected + 1024;
        if (expected > 0 && rows_bytes(room, 0, 8 * room, 0) <= max_memory_bytes())
            t.lineage.reserve(static_cast<size_t>(room), static_cast<size_t>(8 * room));

        const LineageLayout layout = lineage_of(req);
        double key_bytes = 0;
        const auto count = [&](const RowBatch &b) {
            t.rows_seen += b.rows;
            for (int i = 0; i < b.rows; ++i) key_bytes += b.trainable[i] ? static_cast<double>(b.keys[i].size()) : 0.0;
            check_memory(rows_bytes(static_cast<double>(t.lineage.refs.size()) + b.rows, 0, key_bytes, 0),
                         "training model \"" + req.name + "\"", "train on a smaller table", true);
        };
        const auto place = [&](const RowBatch &b, int i) -> int32 {
            if (!b.trainable[i]) {
                ++t.rows_skipped;
                return -1;
            }
            const int32 shard = layout.shard(b.keys[i]);
            if (is_holdout(b.keys[i], req.options.holdout, req.options.seed)) {
                t.lineage.add(b.keys[i], shard, 0, Role::Holdout);
                ++t.rows_holdout;
                return -1;
            }
            t.lineage.add(b.keys[i], shard);
            return shard;
        };
        ModelMeta source = req;
        source.key_columns = keys;
        t.states = add_up(source, &t.categories, p, count, place);
        if (!t.states.empty()) {
            ModelMeta shape;
            shape.features = req.features;
            shape.categories = std::move(t.categories);
            prune_categories(shape, t.states);
            t.categories = std::move(shape.categories);
        }
        return t;
    }
    std::string train_method() const override { return "full scan"; }

    bool forget_reads_lineage() const override { return false; }  // the rows' own values are the change
    const char *forget_method() const override { return "decrement"; }
    void forget(ModelChange &c, const StatementRows &rows, const std::vector<RowEntry> &removed) const override {
        add_by_shard(c, rows, rows_by_shard(c.model, rows, removed), -1);
    }

    const char *learn_method() const override { return "increment"; }
    // A classifier's class list is fixed at training (as SISA's): a valid
    // label it does not know is not learned; an invalid one is refused.
    bool learns_label(const ModelChange &c, double label) const override {
        if (c.model.algorithm != Algorithm::NaiveBayes) return true;
        check_class_label(label);
        for (const auto &st : c.states)
            if (std::get<NaiveBayesStats>(st).classes().count(label)) return true;
        return false;
    }
    bool learn(ModelChange &c, const StatementRows &rows, const std::vector<RowEntry> &added) const override {
        std::map<int32, std::vector<Eigen::Index>> by_shard;
        for (const RowEntry &r : added) by_shard[r.entry.shard].push_back(static_cast<Eigen::Index>(r.row));
        add_by_shard(c, rows, by_shard, +1);
        return true;
    }

    // keep the layout, drop every sum: the same state a train on no rows would have
    void reset(ModelChange &c) const override {
        for (auto &st : c.states) st = empty_state(c.model.algorithm, summation(st).features());
        c.change_all_shards();
        c.prune_categories();  // every category leaves
    }

    // Summation-form statistics drop the feature's sums exactly, without
    // reading the table; a feature set that the remaining rows cannot fit is
    // refused before the state is written.
    void drop_feature(ModelChange &c, int first, int count) const override {
        c.audit.method = "drop statistic";
        for (auto &s : c.states)
            for (int j = first + count - 1; j >= first; --j) summation(s).drop_feature(j);
        c.change_all_shards();
        (void)fit_meta(c.model, c.states);
    }

    // Reads the table again and fits only the rows lineage says the model
    // holds, each in its recorded shard: each shard's state must be the
    // retrain's, byte for byte.
    std::vector<Check> verify(Spi &spi, const ModelMeta &m) const override;
};

struct Retrained {
    std::vector<ShardState> states;
    int64 lineage_missing = 0;
    RowMatrix sample_x;
};

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
    r.states = add_up(m, &m.categories, p, [](const RowBatch &) {},
                      [&](const RowBatch &b, int i) -> int32 {
                          auto it = b.trainable[i] ? held.find(b.keys[i]) : held.end();
                          if (it == held.end()) return -1;
                          ++found;
                          if (r.sample_x.rows() < kPredictionSample) {
                              r.sample_x.conservativeResize(r.sample_x.rows() + 1, Eigen::NoChange);
                              r.sample_x.bottomRows(1) = b.x.row(i);
                          }
                          return it->second;
                      });
    r.lineage_missing = static_cast<int64>(held.size()) - found;
    return r;
}

std::vector<Check> Incremental::verify(Spi &spi, const ModelMeta &m) const {
    std::vector<Check> checks;
    std::vector<ShardState> states = load_states(spi, m);
    int64 state_rows_total = 0;
    for (const auto &s : states) state_rows_total += state_rows(s);
    Retrained fresh = retrain(spi, m);
    // a class forgotten since training keeps its place in the model (no rows)
    for (size_t s = 0; s < states.size() && s < fresh.states.size(); ++s) {
        const auto *ours = std::get_if<NaiveBayesStats>(&states[s]);
        if (auto *theirs = std::get_if<NaiveBayesStats>(&fresh.states[s]); ours && theirs) theirs->keep_empty_classes_of(*ours);
    }
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

}  // namespace

const ForgettingStrategy &incremental_strategy() { static const Incremental strategy; return strategy; }

}  // namespace unlearn::pg
