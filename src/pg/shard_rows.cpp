#include "shard_rows.hpp"

#include "error.hpp"
#include "fetch.hpp"
#include "interrupt.hpp"
#include "memory.hpp"
#include "pg_snapshot.hpp"
#include "source.hpp"

namespace unlearn::pg {

HeldRows held_rows(Spi &spi, const ModelMeta &m, const std::set<int32> &shards) {
    std::vector<int32> buckets;
    for (int32 s : shards) {
        std::vector<int32> run = lineage_layout(m, true).shard_run(s);
        buckets.insert(buckets.end(), run.begin(), run.end());
    }
    HeldRows held;
    for (const auto &kv : load_blocks(spi, m, buckets)) {
        check_interrupts();
        for (const auto &e : kv.second.entries())
            if (e.role == Role::Train && shards.count(e.shard)) held.emplace(e.key, Placement{e.shard, e.slice});
    }
    return held;
}

ShardSet read_shards(Spi &spi, const ModelMeta &m, const ClassLabels &classes, const std::set<int32> &wanted) {
    const HeldRows held = held_rows(spi, m, wanted);
    ShardSet out;
    const int p = width(m);
    // Refused before a row is read: the rows held (three copies of the values
    // at the peak, as at training), the index of held keys (a hash node and
    // the key: 64 bytes and the text), and one shard's training.
    double key_bytes = 0;
    for (const auto &kv : held) key_bytes += static_cast<double>(kv.first.size());
    const double rows = static_cast<double>(held.size());
    check_memory(rows_bytes(rows, p, key_bytes, 3) + 64 * rows + key_bytes +
                     learner_bytes(m.algorithm, m.options, p, classes.size(), rows, m.slices, m.slices),
                 "retraining " + std::to_string(wanted.size()) + " shard(s) of model \"" + m.name + "\"",
                 "use more shards, so that each holds fewer rows");
    std::map<int32, std::vector<double>> xs;
    int64 found = 0;
    auto take = [&](const RowBatch &b) {
        for (int i = 0; i < b.rows; ++i) {
            if (!b.trainable[i]) continue;
            auto it = held.find(b.keys[i]);
            if (it == held.end()) continue;
            const int label = classes.index(b.y(i));
            if (label < 0) continue;  // counted as missing: the model never held this value
            ShardRows &rows = out.shards[it->second.shard];
            std::vector<double> &x = xs[it->second.shard];
            x.insert(x.end(), b.x.row(i).data(), b.x.row(i).data() + p);
            rows.y.push_back(label);
            rows.slice.push_back(it->second.slice);
            rows.hash.push_back(key_hash(b.keys[i]));
            rows.keys.push_back(b.keys[i]);
            ++found;
        }
    };
    if (m.key_columns.size() == 1 && wanted.size() * 4 <= static_cast<size_t>(m.shards)) {
        std::vector<std::string> keys;
        keys.reserve(held.size());
        for (const auto &kv : held) keys.push_back(kv.first);
        fetch_by_key(spi, m, keys, take);
    } else {
        // Inside a trigger the active snapshot is the statement's, which
        // still shows the rows it deleted and not those it inserted; read
        // what the transaction sees now (lineage decides which rows count).
        const PgActiveSnapshot now = PgActiveSnapshot::of_table();
        scan_source(m.relation, m.key_columns, m.target, m.features, &m.categories, &m.classes, take);
    }
    for (int32 s : wanted) {
        ShardRows &rows = out.shards[s];
        std::vector<double> &x = xs[s];
        rows.x = Eigen::Map<RowMatrix>(x.data(), static_cast<Eigen::Index>(rows.y.size()), p);
        std::vector<double>().swap(x);
        rows.sort_canonical();
    }
    out.missing = static_cast<int64>(held.size()) - found;
    return out;
}

ShardSet reread_all_shards(Spi &spi, const ModelMeta &m, const ClassLabels &classes) {
    std::vector<std::string> columns = m.features;
    columns.push_back(m.target);
    check_source(spi, m.relation, columns);
    std::set<int32> all;
    for (int32 s = 0; s < m.shards; ++s) all.insert(s);
    return read_shards(spi, m, classes, all);
}

ShardSet read_retrained_shards(Spi &spi, const ModelMeta &m, const ClassLabels &classes, const std::set<int32> &wanted) {
    ShardSet rows = read_shards(spi, m, classes, wanted);
    if (rows.missing != 0)
        throw rows_missing(m.name);
    return rows;
}

Error rows_missing(const std::string &model) {
    return Error(ErrorKind::CorruptState, "model \"" + model + "\" holds rows its table no longer has",
                 "A statement that both deletes rows and changes others (MERGE, a data-modifying WITH) cannot change "
                 "this model: run its parts as separate statements. Otherwise the table was changed with triggers "
                 "disabled, and unlearn.resync('" + model + "') retrains the model.");
}

ShardedScan::ShardedScan(const TrainRequest &req, const std::vector<std::string> &keys, Trained &t)
    : req_(req), t_(t), p_(static_cast<int>(req.features.size())), shards_(static_cast<size_t>(req.shards)),
      xs_(shards_.size()) {
    if (has_categorical_feature(req.relation, req.features))
        throw Error(ErrorKind::FeatureNotSupported,
                    std::string("strategy ") + strategy_name(req.strategy) + " does not take categorical features",
                    "Encode text features as numeric columns, or use naive_bayes.");
    // a network that cannot fit in memory is refused before the scan
    if (req.algorithm == Algorithm::Mlp)
        check_memory(learner_bytes(req.algorithm, req.options, p_, 2, 0, static_cast<double>(req.shards) * req.slices,
                                   req.slices),
                     "training mlp \"" + req.name + "\"", "use fewer hidden units, fewer features or a smaller batch_size");
    const LineageLayout layout = lineage_layout(req, true);  // these strategies keep lineage shard-major
    const std::string operation = "training model \"" + req.name + "\"";
    scan_source(req.relation, keys, req.target, req.features, nullptr, &req.classes, [&](const RowBatch &b) {
        t.rows_seen += b.rows;
        for (int i = 0; i < b.rows; ++i) key_bytes_ += b.trainable[i] ? static_cast<double>(b.keys[i].size()) : 0.0;
        check_memory(held_bytes(2) + rows_bytes(b.rows, p_, 0, 3), operation, "train on a smaller table, with fewer features", true);
        for (int i = 0; i < b.rows; ++i) {
            if (!b.trainable[i]) {
                ++t.rows_skipped;
                continue;
            }
            const Placement at = layout.place(b.keys[i]);
            if (is_holdout(b.keys[i], req.options.holdout, req.options.seed)) {
                t.lineage.add(b.keys[i], at.shard, 0, Role::Holdout);  // its shard's run of buckets, never trained
                ++t.rows_holdout;
                continue;
            }
            ShardRows &rows = shards_[static_cast<size_t>(at.shard)];
            std::vector<double> &x = xs_[static_cast<size_t>(at.shard)];
            x.insert(x.end(), b.x.row(i).data(), b.x.row(i).data() + p_);
            labels_.push_back(b.y(i));
            rows.y.push_back(static_cast<int>(labels_.size() - 1));  // a row number until the classes are known
            rows.slice.push_back(at.slice);
            rows.hash.push_back(key_hash(b.keys[i]));
            rows.keys.push_back(b.keys[i]);
            t.lineage.add(b.keys[i], at.shard, at.slice);
        }
    });
}

// every shard's rows are held until its turn to train: three copies of
// the values at the peak (collected, sorted, and the fit's own)
double ShardedScan::held_bytes(int classes) const {
    return rows_bytes(static_cast<double>(labels_.size()), p_, key_bytes_, 3) +
           learner_bytes(req_.algorithm, req_.options, p_, classes, static_cast<double>(labels_.size()),
                         static_cast<double>(req_.shards) * req_.slices, req_.slices);
}

ClassLabels ShardedScan::classes(const std::string &rel_name) {
    const int64 held = static_cast<int64>(labels_.size());
    if (req_.shards > held || req_.slices > held)
        throw Error(ErrorKind::InvalidParameter,
                    std::string(req_.shards > held ? "shards" : "slices") + " (" +
                        std::to_string(req_.shards > held ? req_.shards : req_.slices) + ") exceed the " +
                        std::to_string(held) + " trainable rows of " + rel_name,
                    "Every shard and slice needs rows to train on; use fewer.");
    const ClassLabels classes = ClassLabels::of(Eigen::Map<const Vector>(labels_.data(), held));
    if (classes.size() < 2)
        throw Error(ErrorKind::DataException, "target \"" + req_.target + "\" has only one class",
                    std::string(algorithm_name(req_.algorithm)) + " needs at least two distinct target values.");
    check_memory(held_bytes(classes.size()), "training model \"" + req_.name + "\"",
                 "train on a smaller table, with fewer features");
    return classes;
}

ShardRows ShardedScan::take(size_t shard, const ClassLabels &classes) {
    ShardRows rows = std::move(shards_[shard]);
    shards_[shard] = ShardRows{};
    for (int &y : rows.y) y = classes.index(labels_[static_cast<size_t>(y)]);
    rows.x = Eigen::Map<RowMatrix>(xs_[shard].data(), static_cast<Eigen::Index>(rows.y.size()), p_);
    std::vector<double>().swap(xs_[shard]);
    rows.sort_canonical();
    return rows;
}

}  // namespace unlearn::pg
