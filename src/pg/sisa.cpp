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
#include "worker.hpp"

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
void retrain_shards(ModelChange &c, std::map<int32, int32> from) {
    for (const auto &kv : from) c.audit.shards.push_back(kv.first);
    if (from.empty()) return;
    const ModelMeta &m = c.model;
    // a shard catching up kept no checkpoint from its first changed slice on
    for (const auto &kv : served_slices(c.spi, m)) {
        auto at = from.find(kv.first);
        if (at != from.end()) at->second = std::min(at->second, kv.second);
    }
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
        drop_catchup(c.spi, m, kv.first);
    }
}

// A shard that holds no row: what TRUNCATE leaves, and what a shard serves
// while its first slice catches up.
Checkpoint no_rows(const ModelMeta &m) { return Checkpoint{m.slices - 1, 0, digest_keys({}, 0), nullptr}; }

// Whether shards retrain inside the statement (options.retrain = 'inline',
// or a catalog from before 0.6.0) rather than after commit.
bool retrains_inline(const ModelMeta &m) { return m.options.retrain_inline || !catchup_installed(); }

// The change after commit: each shard in from (shard -> first slice whose
// rows changed) drops its checkpoints from that slice on and serves the one
// before it — a model that never saw the changed rows — or no model when
// slice 0 changed; the background worker trains the rest (prepare_catch_up,
// keep_catch_up).
void serve_clean_checkpoints(ModelChange &c, const std::map<int32, int32> &from) {
    const ModelMeta &m = c.model;
    for (const auto &kv : from) {
        const int32 shard = kv.first;
        c.audit.shards.push_back(shard);
        SisaShard &served = std::get<SisaShard>(c.states.at(static_cast<size_t>(shard)));
        // a shard emptied by TRUNCATE kept no checkpoint: it starts over
        const int32 slice = served.last.rows == 0 ? 0 : kv.second;
        const CatchUp pending = load_catchup(c.spi, m, shard);
        if (slice < pending.from_slice) {
            drop_checkpoints(c.spi, m, shard, slice);
            served.last = slice > 0 ? load_checkpoint(c.spi, m, shard, slice - 1) : no_rows(m);
        }
        note_catchup(c.spi, m, shard, slice);
    }
    if (!from.empty()) request_worker(c.spi);
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
    // once, from the checkpoint before its earliest affected slice: after
    // commit, serving that checkpoint until then, or inline.
    const char *forget_method() const override { return "shard retrain"; }
    static void change_shards(ModelChange &c, const std::map<int32, int32> &from) {
        std::vector<int32> shards;
        for (const auto &kv : from) shards.push_back(kv.first);
        c.lock_shards(shards);
        if (retrains_inline(c.model)) {
            retrain_shards(c, from);
        } else {
            c.audit.method = "clean checkpoint served, shard retrain after commit";
            serve_clean_checkpoints(c, from);
        }
    }
    void forget(ModelChange &c, const StatementRows &, const std::vector<RowEntry> &removed) const override {
        std::map<int32, int32> from;
        for (const RowEntry &r : removed) {
            if (r.entry.shard < 0 || r.entry.shard >= c.model.shards || r.entry.slice < 0 || r.entry.slice >= c.model.slices)
                throw Error(ErrorKind::CorruptState, "model \"" + c.model.name + "\" has a lineage entry outside its shards");
            note_slice(from, r.entry);
        }
        change_shards(c, from);
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
        change_shards(c, from);
        return true;
    }

    // keep the layout, drop every checkpoint: the state a train on no rows would have
    void reset(ModelChange &c) const override {
        for (auto &st : c.states) std::get<SisaShard>(st).last = no_rows(c.model);
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
    // a shard catching up serves, and keeps checkpoints of, its first slices only
    const std::map<int32, int32> catching_up = served_slices(spi, m);
    const auto served_of = [&](int32 s) {
        auto at = catching_up.find(s);
        return at == catching_up.end() ? m.slices : at->second;
    };
    // a stored checkpoint no shard should keep is wrong, and so is one missing or differing
    int64 digests_wrong = 0;
    for (const auto &kv : stored)
        digests_wrong += kv.first.first < 0 || kv.first.first >= m.shards || kv.first.second < 0 ||
                         kv.first.second >= served_of(kv.first.first);
    int64 rows_differ = 0;
    double worst = 0;
    std::vector<ConstituentPtr> retrained;
    RowMatrix sample;
    std::vector<Check> per_shard;
    for (int32 s = 0; s < m.shards; ++s) {
        progress_shard(s);
        const ShardRows &rows = fresh.shards[s];
        std::vector<Checkpoint> cps = train_slices(*learner, rows, m.slices, 0, nullptr, static_cast<uint64_t>(s));
        const int32 served = served_of(s);
        for (const Checkpoint &c : cps) {
            if (c.slice >= served) break;
            auto it = stored.find({s, c.slice});
            // TRUNCATE drops every checkpoint of the model: a slice of no
            // rows holds nothing to keep, and none is missing
            if (it == stored.end()) {
                digests_wrong += c.rows != 0;
                continue;
            }
            if (it->second.first != c.rows || it->second.second != digest_text(c.digest)) ++digests_wrong;
        }
        const Checkpoint &ours = std::get<SisaShard>(states[static_cast<size_t>(s)]).last;
        const Checkpoint theirs = served > 0 ? cps.at(static_cast<size_t>(served - 1)) : no_rows(m);
        rows_differ += std::llabs(ours.rows - theirs.rows);
        double diff = 0;
        if (ours.model && theirs.model)
            diff = max_rel_diff(ours.model->parameters(), theirs.model->parameters());
        else if (static_cast<bool>(ours.model) != static_cast<bool>(theirs.model))
            diff = INFINITY;
        worst = std::max(worst, diff);
        per_shard.push_back({"shard " + std::to_string(s) + " parameters_max_rel_diff", diff, tolerance});
        retrained.push_back(theirs.rows > 0 ? theirs.model : nullptr);
        const Eigen::Index take = std::min<Eigen::Index>(rows.x.rows(), kPredictionSample / m.shards + 1);
        sample.conservativeResize(sample.rows() + take, width(m));
        sample.bottomRows(take) = rows.x.topRows(take);
    }
    checks.push_back({"lineage_rows_missing_from_table", static_cast<double>(fresh.missing), 0});
    checks.push_back({"state_rows_minus_retrain_rows", static_cast<double>(rows_differ), 0});
    checks.push_back({"checkpoint_digests_mismatched", static_cast<double>(digests_wrong), 0});
    checks.push_back({"parameters_max_rel_diff", worst, tolerance});
    const auto serving = [](const auto &models, auto model_of) {
        return std::any_of(models.begin(), models.end(), [&](const auto &x) { return static_cast<bool>(model_of(x)); });
    };
    const bool ours_serves = serving(states, [](const ShardState &st) { return std::get<SisaShard>(st).last.model; });
    const bool theirs_serves = serving(retrained, [](const ConstituentPtr &c) { return c; });
    if (sample.rows() > 0 && ours_serves != theirs_serves) {
        // every shard of one side is catching up from its first slice: no prediction to compare
        checks.push_back({"predictions_disagreeing", static_cast<double>(sample.rows()), 0});
    } else if (sample.rows() > 0 && ours_serves) {
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

std::optional<ShardRetrain> prepare_catch_up(Spi &spi, int32 model_id, int32 shard) {
    std::optional<ModelMeta> model = load_model_by_id(spi, model_id);
    if (!model) return std::nullopt;  // dropped since: its rows went with it
    ShardRetrain r{std::move(*model), shard, {}, {}, {}};
    const CatchUp todo = load_catchup(spi, r.model, shard);
    if (todo.from_slice >= r.model.slices || shard >= r.model.shards) return std::nullopt;
    r.catchup = todo;
    std::vector<ShardState> states = load_states(spi, r.model);
    r.classes = std::get<SisaShard>(states.at(0)).classes;
    // the worker's progress: an entry in unlearn.progress (its NOTICEs reach no client)
    const ProgressScope progress(r.model.name, "catch-up", 1);
    progress_shard(0);
    ShardSet rows = read_retrained_shards(spi, r.model, r.classes, {shard});
    r.checkpoints = train_shard(spi, r.model, r.classes, shard, rows.shards[shard], todo.from_slice);
    return r;
}

bool keep_catch_up(Spi &spi, const ShardRetrain &r) {
    const auto started = Clock::now();
    // as a writer would: the model row shared, then the shard
    if (spi.exec("SELECT 1 FROM unlearn.models WHERE model_id = $1 FOR KEY SHARE", {int4_param(r.model.id)}).rows() == 0)
        return true;
    ModelChange c(spi, r.model, "catch-up", "shard retrain after commit", started);
    c.lock_shards({r.shard});
    if (!finish_catchup(spi, r.model, r.shard, r.catchup)) return false;  // rows changed meanwhile
    write_checkpoints(spi, r.model, r.shard, r.classes, r.checkpoints);
    c.states.at(static_cast<size_t>(r.shard)) = SisaShard{r.classes, r.checkpoints.back()};
    c.audit.shards.push_back(r.shard);
    c.audit.rows = c.held();
    c.commit();
    return true;
}

const ForgettingStrategy &sisa_strategy() { static const Sisa strategy; return strategy; }

}  // namespace unlearn::pg
