// The rows of shards, for the strategies that train a model per shard (SISA,
// certified): collected by the training scan, and read back from the source
// for the shards a change retrains or verify checks. Lineage says which rows
// a shard holds; the source gives their values now.
#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "catalog.hpp"
#include "progress.hpp"
#include "train_request.hpp"

namespace unlearn::pg {

// The training rows lineage holds in the given shards, by key.
using HeldRows = std::unordered_map<std::string, Placement>;
HeldRows held_rows(Spi &spi, const ModelMeta &m, const std::set<int32> &shards);

// The error for a model holding rows its table no longer has, when the rows
// a retrain needs are read: triggers disabled, or one statement that both
// deleted rows and changed others (MERGE, a data-modifying WITH), whose
// first action's change finds the other's rows gone.
Error rows_missing(const std::string &model);

// Rows of the wanted shards, read from the source, with their labels as
// class indices, each shard sorted canonically. missing counts held rows the
// source no longer has (or has with values the model cannot use).
struct ShardSet {
    std::map<int32, ShardRows> shards;
    int64 missing = 0;
};
ShardSet read_shards(Spi &spi, const ModelMeta &m, const ClassLabels &classes, const std::set<int32> &wanted);
// Every shard, the source checked first as training checks it (for verify).
ShardSet reread_all_shards(Spi &spi, const ModelMeta &m, const ClassLabels &classes);
// read_shards of shards a change retrains: a held row the source lost is an error.
ShardSet read_retrained_shards(Spi &spi, const ModelMeta &m, const ClassLabels &classes, const std::set<int32> &wanted);

// The training scan of a shard-trained model: every trainable row goes to
// the shard and slice its key hashes to (holdout rows only to lineage); the
// classes are then known and each shard's rows are handed out in turn,
// sorted canonically, so that only one shard is converted at a time.
class ShardedScan {
public:
    // Refuses categorical features and a network that cannot fit in memory,
    // then scans the source.
    ShardedScan(const TrainRequest &req, const std::vector<std::string> &keys, Trained &t);
    // false when there is nothing to train (no row, or holdout took them all)
    bool any() const { return t_.rows_seen > 0 && !labels_.empty(); }
    // Checks the rows against the shards and slices, finds the classes.
    ClassLabels classes(const std::string &rel_name);
    ShardRows take(size_t shard, const ClassLabels &classes);
    size_t shards() const { return shards_.size(); }

private:
    double held_bytes(int classes) const;
    const TrainRequest &req_;
    Trained &t_;
    int p_;
    std::vector<ShardRows> shards_;
    std::vector<std::vector<double>> xs_;
    std::vector<double> labels_;
    double key_bytes_ = 0;
};

// The training of a shard-trained model: one scan, then check_classes(classes)
// before any shard trains, then train_shard(t, shard, rows) for each shard's
// rows in turn.
template <typename CheckClasses, typename TrainShard>
Trained train_by_shard(const TrainRequest &req, const std::vector<std::string> &keys, const std::string &rel_name,
                       CheckClasses check_classes, TrainShard train_shard) {
    Trained t;
    ShardedScan scan(req, keys, t);
    if (!scan.any()) return t;  // the train request explains
    t.classes = scan.classes(rel_name);
    check_classes(t.classes);
    for (size_t s = 0; s < scan.shards(); ++s) {
        progress_shard(static_cast<int32>(s));
        train_shard(t, s, scan.take(s, t.classes));
    }
    return t;
}

}  // namespace unlearn::pg
