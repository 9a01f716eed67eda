// Strategy sisa (Bourtoule et al., IEEE S&P 2021): a model per shard, each
// trained slice by slice with a checkpoint per slice. Forgetting a row
// retrains its shard from the checkpoint of the slice before the row's; a
// learned row likewise. The arithmetic lives in src/core/sisa.
#include <algorithm>
#include <cmath>

#include "error.hpp"
#include "progress.hpp"
#include "shard_rows.hpp"
#include "strategy.hpp"

namespace unlearn::pg {
namespace {

// Trains slices from..slices-1 of one shard; from > 0 resumes from the
// stored checkpoint of slice from-1.
std::vector<Checkpoint> train_shard(Spi &spi, const ModelMeta &m, const ClassLabels &classes, int32 shard,
                                    const ShardRows &rows, int32 from) {
    std::unique_ptr<Learner> learner = make_learner(m.algorithm, m.options, width(m), classes.size());
    Checkpoint resume;
    if (from > 0) resume = load_checkpoint(spi, m, shard, from - 1);
    return train_slices(*learner, rows, m.slices, from, from > 0 ? &resume : nullptr, static_cast<uint64_t>(shard));
}

// Retrains each shard in from (shard -> first affected slice) over the rows
// lineage holds now, once, writing its checkpoints; the change's states get
// the new last checkpoints, and its audit the shards.
void retrain_shards(ModelChange &c, const std::map<int32, int32> &from) {
    for (const auto &kv : from) c.audit.shards.push_back(kv.first);
    if (from.empty()) return;
    const ModelMeta &m = c.model;
    const ClassLabels classes = std::get<SisaShard>(c.states.at(0)).classes;
    std::set<int32> wanted;
    for (const auto &kv : from) wanted.insert(kv.first);
    const ProgressScope progress(m.name, "retrain", static_cast<int32>(from.size()));
    ShardSet rows = read_retrained_shards(c.spi, m, classes, wanted);
    int32 done = 0;
    for (const auto &kv : from) {
        progress_shard(done++);
        // a shard emptied by TRUNCATE kept no checkpoint: it starts over
        const int32 start = std::get<SisaShard>(c.states.at(static_cast<size_t>(kv.first))).last.rows == 0 ? 0 : kv.second;
        std::vector<Checkpoint> cps = train_shard(c.spi, m, classes, kv.first, rows.shards[kv.first], start);
        write_checkpoints(c.spi, m, kv.first, classes, cps);
        c.states.at(static_cast<size_t>(kv.first)) = SisaShard{classes, cps.back()};
    }
}

// shard -> the earliest slice a row of the shard sat in
void note_slice(std::map<int32, int32> &from, const LineageEntry &e) {
    auto at = from.emplace(e.shard, e.slice).first;
    at->second = std::min(at->second, e.slice);
}

class Sisa final : public ForgettingStrategy {
public:
    bool shard_major() const override { return true; }

    void check_request(const TrainRequest &req) const override {
        if (req.slices < 1 || req.slices > 1000)
            throw Error(ErrorKind::InvalidParameter, "slices must be between 1 and 1000",
                        "Each slice of each shard stores a checkpoint.");
    }

    // Every trainable row goes to the shard and slice its key hashes to;
    // each shard then trains slice by slice over its rows in canonical order.
    Trained train(const TrainRequest &req, const std::vector<std::string> &keys,
                  const std::string &rel_name) const override {
        std::unique_ptr<Learner> learner;
        return train_by_shard(
            req, keys, rel_name,
            [&](const ClassLabels &classes) {
                learner = make_learner(req.algorithm, req.options, static_cast<int>(req.features.size()), classes.size());
            },
            [&](Trained &t, size_t s, const ShardRows &rows) {
                t.checkpoints.push_back(train_slices(*learner, rows, req.slices, 0, nullptr, s));
                t.states.push_back(SisaShard{t.classes, t.checkpoints.back().back()});
            });
    }
    std::string train_method() const override { return "full scan, sisa"; }

    // The changed lineage blocks are written first, so that retraining reads
    // the rows lineage holds now; each affected shard then trains again,
    // once, from the checkpoint before its earliest affected slice.
    const char *forget_method() const override { return "shard retrain"; }
    void forget(ModelChange &c, const StatementRows &, const std::vector<RowEntry> &removed) const override {
        std::map<int32, int32> from;
        for (const RowEntry &r : removed) {
            if (r.entry.shard < 0 || r.entry.shard >= c.model.shards || r.entry.slice < 0 || r.entry.slice >= c.model.slices)
                throw Error(ErrorKind::CorruptState, "model \"" + c.model.name + "\" has a lineage entry outside its shards");
            note_slice(from, r.entry);
        }
        retrain_shards(c, from);
    }

    const char *learn_method() const override { return "shard retrain"; }
    // a label the classifier does not know is not learned: its classes are fixed at training
    bool learns_label(const ModelChange &c, double label) const override {
        return std::get<SisaShard>(c.states.at(0)).classes.index(label) >= 0;
    }
    bool learn(ModelChange &c, const StatementRows &, const std::vector<RowEntry> &added) const override {
        std::map<int32, int32> from;
        for (const RowEntry &r : added) note_slice(from, r.entry);
        if (from.empty()) return false;  // only holdout rows, or labels it does not know: lineage changes, no shard
        retrain_shards(c, from);
        return true;
    }

    // keep the layout, drop every checkpoint: the state a train on no rows would have
    void reset(ModelChange &c) const override {
        for (auto &st : c.states) std::get<SisaShard>(st).last = Checkpoint{c.model.slices - 1, 0, digest_keys({}, 0), nullptr};
        c.change_all_shards();
    }

    // no summation form to drop a statistic from: every shard trains again
    // from its first slice, reading the table without the column
    void drop_feature(ModelChange &c, int, int) const override {
        c.audit.method = "shard retrain";
        std::map<int32, int32> from;
        for (int32 s = 0; s < c.model.shards; ++s) from[s] = 0;
        retrain_shards(c, from);
    }

    // Every shard is trained again from scratch, slice by slice, over the
    // rows lineage holds, with the same seed; the stored checkpoints' digests
    // must match the rows lineage assigns to each slice.
    std::vector<Check> verify(Spi &spi, const ModelMeta &m) const override;
};

std::vector<Check> Sisa::verify(Spi &spi, const ModelMeta &m) const {
    std::vector<Check> checks;
    std::vector<ShardState> states = load_states(spi, m);
    const ClassLabels classes = std::get<SisaShard>(states.at(0)).classes;
    ShardSet fresh = reread_all_shards(spi, m, classes);
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
        progress_shard(s);
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

}  // namespace

const ForgettingStrategy &sisa_strategy() { static const Sisa strategy; return strategy; }

}  // namespace unlearn::pg
