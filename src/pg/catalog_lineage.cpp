#include "catalog.hpp"

namespace unlearn::pg {

namespace {
std::map<int32, LineageBlock> blocks_from(const SpiResult &r) {
    std::map<int32, LineageBlock> out;
    for (uint64 i = 0; i < r.rows(); ++i) {
        std::vector<uint8_t> blob = r.bytes(i, 2);
        out.emplace(r.int4(i, 1), LineageBlock::decode(blob.data(), blob.size()));
    }
    return out;
}
}  // namespace

std::map<int32, LineageBlock> load_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets) {
    return blocks_from(spi.exec(
        "SELECT bucket, block FROM unlearn.lineage_blocks WHERE model_id = $1 AND bucket = ANY($2::int4[])",
        {int4_param(m.id), int4_array_param(buckets)}));
}

std::map<int32, LineageBlock> lock_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets, bool create) {
    if (create) {
        // a writer of a block another transaction is making waits for it here, then finds it made
        const std::vector<uint8_t> empty = LineageBlock().encode();
        spi.exec(
            "INSERT INTO unlearn.lineage_blocks (model_id, bucket, block) SELECT $1, b, $3 FROM unnest($2::int4[]) AS u(b) "
            "ORDER BY b ON CONFLICT (model_id, bucket) DO NOTHING",
            {int4_param(m.id), int4_array_param(buckets), bytea_param(empty)});
    }
    return blocks_from(spi.exec(
        "SELECT bucket, block FROM unlearn.lineage_blocks WHERE model_id = $1 AND bucket = ANY($2::int4[]) "
        "ORDER BY bucket FOR NO KEY UPDATE",
        {int4_param(m.id), int4_array_param(buckets)}));
}

std::map<int32, LineageBlock> load_all_blocks(Spi &spi, const ModelMeta &m) {
    return blocks_from(
        spi.exec("SELECT bucket, block FROM unlearn.lineage_blocks WHERE model_id = $1", {int4_param(m.id)}));
}

std::map<int32, LineageBlock> load_first_blocks(Spi &spi, const ModelMeta &m, int64 blocks) {
    return blocks_from(spi.exec(
        "SELECT bucket, block FROM unlearn.lineage_blocks WHERE model_id = $1 ORDER BY bucket LIMIT $2",
        {int4_param(m.id), int8_param(blocks)}));
}

void write_blocks(Spi &spi, const ModelMeta &m, const std::map<int32, LineageBlock> &blocks) {
    std::vector<int32> keep, gone;
    std::vector<std::vector<uint8_t>> blobs;
    for (const auto &kv : blocks) {
        if (kv.second.empty()) {
            gone.push_back(kv.first);
        } else {
            keep.push_back(kv.first);
            blobs.push_back(kv.second.encode());
        }
    }
    if (!keep.empty()) write_encoded_blocks(spi, m, keep, blobs);
    if (!gone.empty())
        spi.exec("DELETE FROM unlearn.lineage_blocks WHERE model_id = $1 AND bucket = ANY($2::int4[])",
                 {int4_param(m.id), int4_array_param(gone)});
}

void write_encoded_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets,
                          const std::vector<std::vector<uint8_t>> &blobs) {
    spi.exec(
        "INSERT INTO unlearn.lineage_blocks (model_id, bucket, block) "
        "SELECT $1, b, k FROM unnest($2::int4[], $3::bytea[]) AS u(b, k) "
        "ON CONFLICT (model_id, bucket) DO UPDATE SET block = excluded.block",
        {int4_param(m.id), int4_array_param(buckets), bytea_array_param(blobs)});
}

void delete_lineage(Spi &spi, const ModelMeta &m) {
    spi.exec("DELETE FROM unlearn.lineage_blocks WHERE model_id = $1", {int4_param(m.id)});
}

}  // namespace unlearn::pg
