#include "catalog.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "error.hpp"
#include "state_cache.hpp"

namespace unlearn::pg {

namespace {

ShardState decode_at(const ModelMeta &m, const SpiResult &r, uint64 row, int col) {
    std::vector<uint8_t> blob = r.bytes(row, col);
    return decode_state(m.algorithm, width(m), blob.data(), blob.size(), m.options);
}

// Folds deltas into states: rows from..end of r, columns (c) shard, (c+1)
// sign, (c+2) state, in the order they were written. With only_shard, states
// holds that one shard.
void fold(const ModelMeta &m, const SpiResult &r, uint64 from, int c, std::vector<ShardState> &states,
          int32 only_shard = -1) {
    for (uint64 i = from; i < r.rows(); ++i) {
        const int32 shard = r.int4(i, c);
        if (shard < 0 || shard >= m.shards || (only_shard >= 0 && shard != only_shard))
            throw Error(ErrorKind::CorruptState, "model \"" + m.name + "\" has a state delta outside its shards");
        merge_state(states[static_cast<size_t>(only_shard >= 0 ? 0 : shard)], decode_at(m, r, i, c + 2), r.int4(i, c + 1));
    }
}

bool is_summation_model(const ModelMeta &m) { return m.strategy == Strategy::Incremental; }

Error missing_state(const ModelMeta &m) {
    return Error(ErrorKind::CorruptState, "model \"" + m.name + "\" is missing shard state",
                 "Drop the model with unlearn.drop_model and train it again.");
}

}  // namespace

Oid catalog_relid(const char *table) {
    return pg_call([&] {
        const Oid ns = get_namespace_oid("unlearn", true);
        return OidIsValid(ns) ? get_relname_relid(table, ns) : InvalidOid;
    });
}

bool catalog_table_exists(const char *table) { return OidIsValid(catalog_relid(table)); }

bool deltas_installed() { return catalog_table_exists("state_delta"); }

std::vector<ShardState> load_states(Spi &spi, const ModelMeta &m, std::vector<StateSeen> *seen,
                                    std::vector<std::vector<uint8_t>> *stored, StatesFor use) {
    // the base rows in shard order, then the deltas this snapshot sees in
    // the order they were written; a state not read (kept) stays toasted
    SpiResult r = deltas_installed()
                      ? spi.exec("SELECT k, shard, sign, state, x, c FROM (SELECT 0 AS k, 0::bigint AS d, shard, 1 AS sign, "
                                 "state, xmin::text AS x, ctid::text AS c FROM unlearn.state WHERE model_id = $1 UNION ALL "
                                 "SELECT 1, delta_id, shard, sign, state, NULL, NULL FROM unlearn.state_delta WHERE "
                                 "model_id = $1 AND state IS NOT NULL) u ORDER BY k, d, shard",
                                 {int4_param(m.id)})
                      : spi.exec("SELECT 0, shard, 1, state, xmin::text, ctid::text FROM unlearn.state WHERE model_id = $1 "
                                 "ORDER BY shard",
                                 {int4_param(m.id)});
    uint64 i = 0;  // the base rows: 0..i
    std::vector<StateVersion> versions;
    for (; i < r.rows() && r.int4(i, 1) == 0; ++i) {
        if (r.int4(i, 2) != static_cast<int32>(i))
            throw Error(ErrorKind::CorruptState, "model \"" + m.name + "\" has unexpected shard numbers");
        versions.push_back(StateVersion{r.str(i, 5), r.str(i, 6)});
    }
    std::vector<std::optional<ShardState>> kept(i);
    if (use == StatesFor::Changing) kept = take_kept_states(m.id, width(m), versions);
    std::vector<ShardState> out;
    std::vector<std::vector<uint8_t>> blobs;
    for (uint64 b = 0; b < i; ++b) {
        if (kept[b]) {
            out.push_back(std::move(*kept[b]));
            blobs.emplace_back();  // not read: the kept hash stands for it (kept_hash)
            continue;
        }
        std::vector<uint8_t> blob = r.bytes(b, 4);
        out.push_back(decode_state(m.algorithm, width(m), blob.data(), blob.size(), m.options, use != StatesFor::Predicting));
        blobs.push_back(std::move(blob));
    }
    if (out.size() != static_cast<size_t>(m.shards))
        throw missing_state(m);
    if (stored) {
        *stored = std::move(blobs);
        for (uint64 d = i; d < r.rows(); ++d) {  // a shard with deltas is not its base's bytes
            const int32 shard = r.int4(d, 2);
            if (shard >= 0 && shard < m.shards) (*stored)[static_cast<size_t>(shard)].clear();
        }
    }
    if (seen) {
        seen->assign(out.size(), StateSeen{});
        for (uint64 b = 0; b < i; ++b) {
            (*seen)[b].xmin = std::move(versions[b].xmin);
            (*seen)[b].ctid = std::move(versions[b].ctid);
        }
        for (uint64 d = i; d < r.rows(); ++d) {
            const int32 shard = r.int4(d, 2);
            if (shard >= 0 && shard < m.shards) (*seen)[static_cast<size_t>(shard)].deltas = true;
        }
    }
    fold(m, r, i, 2, out);
    return out;
}

namespace {

// A state this large is written alone from a plain parameter: in an array,
// unnest would copy it three times more (array, tuplestore, minimal tuple).
constexpr size_t kWrittenAlone = size_t{1} << 20;

void note_written(const SpiResult &r, const std::vector<int32> &shards, std::vector<StateSeen> *written) {
    if (!written) return;
    for (uint64 i = 0; i < r.rows(); ++i) {
        const auto at = std::find(shards.begin(), shards.end(), r.int4(i, 1));
        if (at == shards.end()) continue;
        StateSeen &w = (*written)[static_cast<size_t>(at - shards.begin())];
        w.xmin = r.str(i, 2);
        w.ctid = r.str(i, 3);
    }
}

}  // namespace

std::vector<std::vector<uint8_t>> write_states(Spi &spi, const ModelMeta &m, const std::vector<ShardState> &states,
                                               const std::vector<int32> &shards, std::vector<StateSeen> *written) {
    std::vector<std::vector<uint8_t>> blobs;
    for (int32 s : shards) blobs.push_back(encode_state(m.algorithm, states.at(static_cast<size_t>(s))));
    if (written) written->assign(shards.size(), StateSeen{});
    std::vector<int32> together;
    std::vector<std::vector<uint8_t>> together_blobs;
    // generic plans: a custom plan would copy the states (a forest's are
    // tens of MB) into every planning
    for (size_t i = 0; i < shards.size(); ++i) {
        if (blobs[i].size() < kWrittenAlone) {
            together.push_back(shards[i]);
            together_blobs.push_back(blobs[i]);
            continue;
        }
        note_written(spi.exec("INSERT INTO unlearn.state (model_id, shard, state) VALUES ($1, $2, $3) "
                              "ON CONFLICT (model_id, shard) DO UPDATE SET state = excluded.state "
                              "RETURNING shard, xmin::text, ctid::text",
                              {int4_param(m.id), int4_param(shards[i]), bytea_param(blobs[i])}),
                     shards, written);
    }
    if (!together.empty())
        note_written(spi.exec("INSERT INTO unlearn.state (model_id, shard, state) SELECT $1, s, b FROM "
                              "unnest($2::int4[], $3::bytea[]) AS u(s, b) ON CONFLICT (model_id, shard) DO "
                              "UPDATE SET state = excluded.state RETURNING shard, xmin::text, ctid::text",
                              {int4_param(m.id), int4_array_param(together), bytea_array_param(together_blobs)}),
                     shards, written);
    if (is_summation_model(m) && deltas_installed())
        spi.exec("DELETE FROM unlearn.state_delta WHERE model_id = $1 AND shard = ANY($2::int4[])",
                 {int4_param(m.id), int4_array_param(shards)});
    return blobs;
}

namespace {

// The base of one shard, if no other transaction holds it (or, before
// 0.6.0, once it is free), with the committed deltas and delta (when given)
// folded in and written back; false when another transaction holds it.
bool fold_into_base(Spi &spi, const ModelMeta &m, int32 shard, const ShardState *delta, int sign) {
    const bool deltas = deltas_installed();
    // Under REPEATABLE READ a base changed since the snapshot cannot be
    // locked without a serialization failure: the change always waits.
    if (deltas && snapshot_bound(m)) return false;
    SpiResult base = deltas ? spi.exec("SELECT state FROM unlearn.state WHERE model_id = $1 AND shard = $2 "
                                       "FOR NO KEY UPDATE SKIP LOCKED",
                                       {int4_param(m.id), int4_param(shard)})
                            : spi.exec("SELECT state FROM unlearn.state WHERE model_id = $1 AND shard = $2 "
                                       "FOR NO KEY UPDATE",
                                       {int4_param(m.id), int4_param(shard)});
    if (base.rows() != 1) return false;
    std::vector<ShardState> state{decode_at(m, base, 0, 1)};
    if (deltas) {  // the base is ours until commit: no other transaction folds these
        SpiResult d = spi.exec(
            "WITH folded AS (DELETE FROM unlearn.state_delta WHERE model_id = $1 AND shard = $2 "
            "RETURNING delta_id, shard, sign, state) SELECT shard, sign, state FROM folded ORDER BY delta_id",
            {int4_param(m.id), int4_param(shard)});
        if (!delta && d.rows() == 0) return true;
        fold(m, d, 0, 1, state, shard);
    }
    if (delta) merge_state(state[0], *delta, sign);
    spi.exec("UPDATE unlearn.state SET state = $3 WHERE model_id = $1 AND shard = $2",
             {int4_param(m.id), int4_param(shard), bytea_param(encode_state(m.algorithm, state[0]))});
    return true;
}

}  // namespace

std::map<int32, ShardState> lock_shard_states(Spi &spi, const ModelMeta &m, const std::vector<int32> &shards,
                                              const std::vector<StateSeen> &seen) {
    SpiResult r = spi.exec("SELECT shard, xmin::text FROM unlearn.state WHERE model_id = $1 AND shard = ANY($2::int4[]) "
                           "ORDER BY shard FOR NO KEY UPDATE",
                           {int4_param(m.id), int4_array_param(shards)});
    std::vector<int32> changed;
    for (uint64 i = 0; i < r.rows(); ++i) {
        const int32 s = r.int4(i, 1);
        if (s < 0 || static_cast<size_t>(s) >= seen.size() || seen[static_cast<size_t>(s)].xmin != r.str(i, 2))
            changed.push_back(s);
    }
    if (r.rows() != std::set<int32>(shards.begin(), shards.end()).size())
        throw missing_state(m);
    std::map<int32, ShardState> out;
    if (changed.empty()) return out;
    // locked above: these reads see the versions the writers before this one committed
    SpiResult states = spi.exec("SELECT shard, state FROM unlearn.state WHERE model_id = $1 AND shard = ANY($2::int4[])",
                                {int4_param(m.id), int4_array_param(changed)});
    for (uint64 i = 0; i < states.rows(); ++i) out.emplace(states.int4(i, 1), decode_at(m, states, i, 2));
    if (out.size() != changed.size())
        throw missing_state(m);
    return out;
}

bool change_shard(Spi &spi, const ModelMeta &m, int32 shard, const ShardState &delta, int sign, const ShardState &whole,
                  const StateSeen &seen, StateSeen *written) {
    if (written) *written = StateSeen{};
    if (rewrites_whole(m, seen)) {
        // deltas committed since stay deltas: only the base is replaced
        SpiResult done = spi.exec(
            UNLEARN_REWRITE_SHARD("$1", "$2", "$3", "$4"),
            {int4_param(m.id), int4_param(shard), bytea_param(encode_state(m.algorithm, whole)), text_param(seen.xmin)});
        if (done.rows() == 1) {
            if (written) *written = StateSeen{done.str(0, 1), done.str(0, 2)};  // whole, exactly
            return true;
        }
    }
    return fold_or_append_delta(spi, m, shard, delta, sign);
}

bool fold_or_append_delta(Spi &spi, const ModelMeta &m, int32 shard, const ShardState &delta, int sign) {
    if (fold_into_base(spi, m, shard, &delta, sign)) return true;
    spi.exec("INSERT INTO unlearn.state_delta (model_id, shard, sign, state) VALUES ($1, $2, $3, $4)",
             {int4_param(m.id), int4_param(shard), int4_param(sign), bytea_param(encode_state(m.algorithm, delta))});
    return false;
}

bool rewrites_whole(const ModelMeta &m, const StateSeen &seen) {
    return !seen.deltas && !seen.xmin.empty() && deltas_installed() && !snapshot_bound(m);
}

int64 fold_free_deltas(Spi &spi, const ModelMeta &m) {
    SpiResult shards = spi.exec("SELECT DISTINCT shard FROM unlearn.state_delta WHERE model_id = $1 AND state IS NOT NULL",
                                {int4_param(m.id)});
    int64 folded = 0;
    for (uint64 i = 0; i < shards.rows(); ++i) folded += fold_into_base(spi, m, shards.int4(i, 1), nullptr, 0);
    touch_model(spi, m, 0, 0);  // folds the counts if the model row is free
    return folded;
}

int64 fold_all_deltas(Spi &spi, const ModelMeta &m) {
    lock_model(spi, m.name);  // FOR UPDATE: waits for the writers in flight, keeps new ones out
    const int64 pending = spi.exec("SELECT count(*) FROM unlearn.state_delta WHERE model_id = $1", {int4_param(m.id)}).int8(0, 1);
    if (pending == 0) return 0;
    std::vector<ShardState> states = load_states(spi, m);
    std::vector<int32> all;
    for (int32 s = 0; s < m.shards; ++s) all.push_back(s);
    if (is_summation_model(m)) write_states(spi, m, states, all);
    touch_model(spi, m, 0, 0);  // the row is ours: the counts are folded
    return pending;
}

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

std::string digest_text(uint64_t digest) {
    char hex[17];
    snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(digest));
    return hex;
}

void write_checkpoints(Spi &spi, const ModelMeta &m, int32 shard, const ClassLabels &classes,
                       const std::vector<Checkpoint> &checkpoints) {
    if (checkpoints.empty()) return;
    // the discarded checkpoints saw the forgotten rows: no copy may remain
    drop_checkpoints(spi, m, shard, checkpoints.front().slice);
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

void drop_checkpoints(Spi &spi, const ModelMeta &m, int32 shard, int32 from) {
    spi.exec("DELETE FROM unlearn.checkpoints WHERE model_id = $1 AND shard = $2 AND slice >= $3",
             {int4_param(m.id), int4_param(shard), int4_param(from)});
}

void delete_checkpoints(Spi &spi, const ModelMeta &m) {
    spi.exec("DELETE FROM unlearn.checkpoints WHERE model_id = $1", {int4_param(m.id)});
}

std::map<std::pair<int32, int32>, std::pair<int64, std::string>> checkpoint_digests(Spi &spi, const ModelMeta &m) {
    SpiResult r = spi.exec("SELECT shard, slice, rows, digest FROM unlearn.checkpoints WHERE model_id = $1",
                           {int4_param(m.id)});
    std::map<std::pair<int32, int32>, std::pair<int64, std::string>> out;
    for (uint64 i = 0; i < r.rows(); ++i) out[{r.int4(i, 1), r.int4(i, 2)}] = {r.int8(i, 3), r.str(i, 4)};
    return out;
}

}  // namespace unlearn::pg
