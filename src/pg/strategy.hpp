// A way of forgetting, as a table of what it does (pgvector's index access
// method handler is the model): each strategy is one file —
// incremental.cpp (summation form: subtract the rows), sisa.cpp (retrain a
// shard from its last clean checkpoint), certified.cpp (a Newton step within
// a certified budget), dare.cpp (update a forest's trees) — over shared services: the catalog, a change of
// state (model_change.hpp), the rows of shards (shard_rows.hpp). Callers
// choose a strategy only through strategy_of; adding one means a new .cpp,
// its accessor in strategy_of (strategy.cpp) and its state in src/core.
//
// A method given a ModelChange changes c.states (and c.model's vocabulary)
// and names the shards it changed in c.audit.shards; the caller commits.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "model_change.hpp"
#include "train_request.hpp"

namespace unlearn::pg {

// The rows of one statement (a transition table) as one model reads them.
struct StatementRows {
    std::vector<std::string> keys;
    RowMatrix x;
    Vector y;
    std::vector<char> trainable;
};

// One line of unlearn.verify: a value and the tolerance it must stay within.
struct Check {
    std::string name;
    double value;
    double tolerance;
};
constexpr Eigen::Index kPredictionSample = 10000;  // rows verify predicts with, at most
// max |a - b| relative to max |b|; infinite when the sizes differ
double max_rel_diff(const Vector &a, const Vector &b);

// The removed rows by shard, for the strategies that subtract their values
// (a summation form, a Newton step): those values must be at hand.
std::map<int32, std::vector<Eigen::Index>> rows_by_shard(const ModelMeta &m, const StatementRows &rows,
                                                         const std::vector<RowEntry> &removed);

class ForgettingStrategy {
public:
    virtual ~ForgettingStrategy() = default;

    // Lineage is shard-major: each shard's keys fill their own run of buckets.
    virtual bool shard_major() const = 0;

    // Train: what the request must satisfy (slices, options), then one scan
    // of the source under the caller's snapshot; the audit method.
    virtual void check_request(const TrainRequest &req) const = 0;
    virtual Trained train(const TrainRequest &req, const std::vector<std::string> &keys,
                          const std::string &rel_name) const = 0;
    virtual std::string train_method() const = 0;

    // DELETE or UPDATE: removed holds the training rows lineage gave up (row
    // numbers into rows); their lineage blocks are already written, unless
    // the strategy's forgetting does not read lineage: then they are written
    // with the change (ModelChange::write_blocks_with).
    virtual bool forget_reads_lineage() const { return true; }
    virtual const char *forget_method() const = 0;
    virtual void forget(ModelChange &c, const StatementRows &rows, const std::vector<RowEntry> &removed) const = 0;

    // options.on_insert = 'learn': whether a row of this label can join the
    // model, then the rows added to lineage (blocks already written).
    // Returns false when no state changed and there is nothing to record.
    virtual const char *learn_method() const = 0;
    virtual bool learns_label(const ModelChange &c, double label) const = 0;
    virtual bool learn(ModelChange &c, const StatementRows &rows, const std::vector<RowEntry> &added) const = 0;

    // TRUNCATE: every shard keeps its layout and holds no row.
    virtual void reset(ModelChange &c) const = 0;

    // unlearn.forget_feature: c.model no longer has the feature, which took
    // columns first..first+count-1 of the states' layout.
    virtual void drop_feature(ModelChange &c, int first, int count) const = 0;

    // unlearn.verify: retrain from the table and compare.
    virtual std::vector<Check> verify(Spi &spi, const ModelMeta &m) const = 0;
};

// The registry: the one place a strategy is chosen by name.
const ForgettingStrategy &strategy_of(Strategy s);

// Where a model's rows and their lineage entries live.
inline LineageLayout lineage_of(const ModelMeta &m) { return lineage_layout(m, strategy_of(m.strategy).shard_major()); }

}  // namespace unlearn::pg
