#include "sisa.hpp"

#include <cstdio>

#include "error.hpp"
#include "rows.hpp"
#include "fetch.hpp"
#include "interrupt.hpp"
#include "memory.hpp"
#include "source.hpp"

namespace unlearn::pg {

HeldRows held_rows(Spi &spi, const ModelMeta &m, const std::set<int32> &shards) {
    std::vector<int32> buckets;
    for (int32 s : shards) {
        std::vector<int32> run = shard_buckets(m, s);
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

Placement place(const std::string &key, int32 shards, int32 slices, int64 seed) {
    return {shards == 1 ? 0 : shard_of(key, shards, seed), slices == 1 ? 0 : slice_of(key, slices, seed)};
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
        pg_call([] {
            CommandCounterIncrement();
            PushActiveSnapshot(GetLatestSnapshot());
        });
        scan_source(m.relation, m.key_columns, m.target, m.features, &m.categories, take);
        pg_call([] { PopActiveSnapshot(); });
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

namespace {
Checkpoint load_checkpoint(Spi &spi, const ModelMeta &m, int32 shard, int32 slice) {
    SpiResult r = spi.exec("SELECT state FROM unlearn.checkpoints WHERE model_id = $1 AND shard = $2 AND slice = $3",
                           {int4_param(m.id), int4_param(shard), int4_param(slice)});
    if (r.rows() != 1)
        throw Error(ErrorKind::CorruptState, "model \"" + m.name + "\" is missing a checkpoint",
                    "unlearn.resync('" + m.name + "') retrains the model from its table.");
    std::vector<uint8_t> blob = r.bytes(0, 1);
    ShardState st = decode_state(m.algorithm, width(m), blob.data(), blob.size(), m.options);
    Checkpoint c = std::get<SisaShard>(st).last;
    if (c.slice != slice) ByteReader::fail("checkpoint stored under another slice");
    return c;
}
}  // namespace

std::vector<Checkpoint> train_shard(Spi &spi, const ModelMeta &m, const ClassLabels &classes, int32 shard,
                                    const ShardRows &rows, int32 from) {
    std::unique_ptr<Learner> learner = make_learner(m.algorithm, m.options, width(m), classes.size());
    Checkpoint resume;
    if (from > 0) resume = load_checkpoint(spi, m, shard, from - 1);
    return train_slices(*learner, rows, m.slices, from, from > 0 ? &resume : nullptr, static_cast<uint64_t>(shard));
}

std::string digest_text(uint64_t digest) {
    char hex[17];
    snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(digest));
    return hex;
}

void write_checkpoints(Spi &spi, const ModelMeta &m, int32 shard, const ClassLabels &classes,
                       const std::vector<Checkpoint> &checkpoints) {
    if (checkpoints.empty()) return;
    // the discarded checkpoints saw the forgotten rows: no copy may remain
    spi.exec("DELETE FROM unlearn.checkpoints WHERE model_id = $1 AND shard = $2 AND slice >= $3",
             {int4_param(m.id), int4_param(shard), int4_param(checkpoints.front().slice)});
    std::vector<int32> slices;
    std::vector<int64> rows;
    std::vector<std::string> digests;
    std::vector<std::vector<uint8_t>> blobs;
    for (const Checkpoint &c : checkpoints) {
        slices.push_back(c.slice);
        rows.push_back(c.rows);
        digests.push_back(digest_text(c.digest));
        blobs.push_back(encode_checkpoint(m.algorithm, classes, c));
    }
    spi.exec(
        "INSERT INTO unlearn.checkpoints (model_id, shard, slice, rows, digest, state) "
        "SELECT $1, $2, s, r, d, b FROM unnest($3::int4[], $4::int8[], $5::text[], $6::bytea[]) AS u(s, r, d, b)",
        {int4_param(m.id), int4_param(shard), int4_array_param(slices), int8_array_param(rows),
         text_array_param(digests), bytea_array_param(blobs)});
}

void retrain_shards(Spi &spi, const ModelMeta &m, const std::map<int32, int32> &from, std::vector<ShardState> &states) {
    if (from.empty()) return;
    const ClassLabels classes = std::get<SisaShard>(states.at(0)).classes;
    std::set<int32> wanted;
    for (const auto &kv : from) wanted.insert(kv.first);
    ShardSet rows = read_shards(spi, m, classes, wanted);
    if (rows.missing != 0)
        throw Error(ErrorKind::CorruptState,
                    "model \"" + m.name + "\" holds rows its table no longer has",
                    "The table was changed with triggers disabled; unlearn.resync('" + m.name + "') retrains the model.");
    std::vector<int32> written;
    for (const auto &kv : from) {
        // a shard emptied by TRUNCATE kept no checkpoint: it starts over
        const int32 start = std::get<SisaShard>(states.at(static_cast<size_t>(kv.first))).last.rows == 0 ? 0 : kv.second;
        std::vector<Checkpoint> cps = train_shard(spi, m, classes, kv.first, rows.shards[kv.first], start);
        write_checkpoints(spi, m, kv.first, classes, cps);
        states.at(static_cast<size_t>(kv.first)) = SisaShard{classes, cps.back()};
        written.push_back(kv.first);
    }
    write_states(spi, m, states, written);
}

std::map<std::pair<int32, int32>, std::pair<int64, std::string>> checkpoint_digests(Spi &spi, const ModelMeta &m) {
    SpiResult r = spi.exec("SELECT shard, slice, rows, digest FROM unlearn.checkpoints WHERE model_id = $1",
                           {int4_param(m.id)});
    std::map<std::pair<int32, int32>, std::pair<int64, std::string>> out;
    for (uint64 i = 0; i < r.rows(); ++i) out[{r.int4(i, 1), r.int4(i, 2)}] = {r.int8(i, 3), r.str(i, 4)};
    return out;
}

}  // namespace unlearn::pg
