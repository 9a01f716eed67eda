#include "catalog.hpp"

#include <cstdio>

#include "error.hpp"

namespace unlearn::pg {

std::vector<ShardState> load_states(Spi &spi, const ModelMeta &m) {
    SpiResult r = spi.exec("SELECT shard, state FROM unlearn.state WHERE model_id = $1 ORDER BY shard",
                           {int4_param(m.id)});
    if (r.rows() != static_cast<uint64>(m.shards))
        throw Error(ErrorKind::CorruptState, "model \"" + m.name + "\" is missing shard state",
                    "Drop the model with unlearn.drop_model and train it again.");
    std::vector<ShardState> out;
    for (uint64 i = 0; i < r.rows(); ++i) {
        if (r.int4(i, 1) != static_cast<int32>(i))
            throw Error(ErrorKind::CorruptState, "model \"" + m.name + "\" has unexpected shard numbers");
        std::vector<uint8_t> blob = r.bytes(i, 2);
        out.push_back(decode_state(m.algorithm, width(m), blob.data(), blob.size(), m.options));
    }
    return out;
}

void write_states(Spi &spi, const ModelMeta &m, const std::vector<ShardState> &states, const std::vector<int32> &shards) {
    std::vector<std::vector<uint8_t>> blobs;
    for (int32 s : shards) blobs.push_back(encode_state(m.algorithm, states.at(static_cast<size_t>(s))));
    spi.exec(
        "INSERT INTO unlearn.state (model_id, shard, state) SELECT $1, s, b FROM unnest($2::int4[], $3::bytea[]) AS u(s, b) "
        "ON CONFLICT (model_id, shard) DO UPDATE SET state = excluded.state",
        {int4_param(m.id), int4_array_param(shards), bytea_array_param(blobs)});
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
