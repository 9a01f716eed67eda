#include "catalog.hpp"

#include <algorithm>

#include "interrupt.hpp"

namespace unlearn::pg {

namespace {
LineageBlock block_at(const SpiResult &r, uint64 row) {
    const auto [data, len] = r.bytes_view(row, 2);
    return LineageBlock::decode(data, len);
}

std::map<int32, LineageBlock> blocks_from(const SpiResult &r) {
    std::map<int32, LineageBlock> out;
    for (uint64 i = 0; i < r.rows(); ++i) out.emplace(r.int4(i, 1), block_at(r, i));
    return out;
}

void delete_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets) {
    spi.exec("DELETE FROM unlearn.lineage_blocks WHERE model_id = $1 AND bucket = ANY($2::int4[])",
             {int4_param(m.id), int4_array_param(buckets)});
}
}  // namespace

std::map<int32, LineageBlock> load_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets) {
    return blocks_from(spi.exec(
        "SELECT bucket, block FROM unlearn.lineage_blocks WHERE model_id = $1 AND bucket = ANY($2::int4[])",
        {int4_param(m.id), int4_array_param(buckets)}));
}

namespace {
// Buckets locked per statement: the rows come sorted by bucket (the lock
// order), and a sort of thousands of blocks of a few kB spilled to disk.
constexpr size_t kBlocksPerLock = 128;

SpiResult lock_one_block(Spi &spi, const ModelMeta &m, int32 bucket) {
    return spi.exec("SELECT bucket, block FROM unlearn.lineage_blocks WHERE model_id = $1 AND bucket = $2 "
                    "FOR NO KEY UPDATE",
                    {int4_param(m.id), int4_param(bucket)});
}

SpiResult lock_block_rows(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets, bool create) {
    if (buckets.size() == 1) {  // a single-row change: an index probe, no sort; made only when missing
        SpiResult r = lock_one_block(spi, m, buckets[0]);
        if (r.rows() == 1 || !create) return r;
    }
    if (create) {
        // a writer of a block another transaction is making waits for it here, then finds it made
        const std::vector<uint8_t> empty = LineageBlock().encode();
        spi.exec(
            "INSERT INTO unlearn.lineage_blocks (model_id, bucket, block) SELECT $1, b, $3 FROM unnest($2::int4[]) AS u(b) "
            "ORDER BY b ON CONFLICT (model_id, bucket) DO NOTHING",
            {int4_param(m.id), int4_array_param(buckets), bytea_param(empty)});
    }
    if (buckets.size() == 1) return lock_one_block(spi, m, buckets[0]);
    return spi.exec(
        "SELECT bucket, block FROM unlearn.lineage_blocks WHERE model_id = $1 AND bucket = ANY($2::int4[]) "
        "ORDER BY bucket FOR NO KEY UPDATE",
        {int4_param(m.id), int4_array_param(buckets)});
}

// The buckets in ascending order, kBlocksPerLock at a time: every block is
// still made and locked in bucket order, so writers cannot deadlock.
void lock_in_chunks(Spi &spi, const ModelMeta &m, std::vector<int32> buckets, bool create,
                    const std::function<void(const SpiResult &)> &locked) {
    std::sort(buckets.begin(), buckets.end());
    for (size_t at = 0; at < buckets.size(); at += kBlocksPerLock) {
        const std::vector<int32> chunk(buckets.begin() + static_cast<std::ptrdiff_t>(at),
                                       buckets.begin() + static_cast<std::ptrdiff_t>(std::min(at + kBlocksPerLock, buckets.size())));
        const SpiResult r = lock_block_rows(spi, m, chunk, create);
        locked(r);  // decoded: the rows can go
        pg_call([&] { SPI_freetuptable(r.table()); });
    }
}
}  // namespace

std::map<int32, LineageBlock> lock_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets, bool create) {
    std::map<int32, LineageBlock> out;
    const auto keep = [&](const SpiResult &r) {
        for (uint64 i = 0; i < r.rows(); ++i) out.emplace(r.int4(i, 1), block_at(r, i));
    };
    lock_in_chunks(spi, m, buckets, create, keep);
    // A block made (or found) here that a writer holding it emptied and
    // deleted before our lock got it is missing from the rows locked: made
    // and locked again, since write_blocks updates only blocks that exist.
    while (create) {
        std::vector<int32> missing;
        for (int32 b : buckets)
            if (!out.count(b)) missing.push_back(b);
        if (missing.empty()) break;
        check_interrupts();
        lock_in_chunks(spi, m, missing, true, keep);
    }
    return out;
}

void lock_blocks_each(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets,
                      const std::function<void(int32, LineageBlock &)> &visit) {
    lock_in_chunks(spi, m, buckets, false, [&](const SpiResult &r) {
        for (uint64 i = 0; i < r.rows(); ++i) {
            LineageBlock block = block_at(r, i);
            visit(r.int4(i, 1), block);
        }
    });
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

void BlockWrites::add(int32 bucket, const LineageBlock &block) {
    if (block.empty()) {
        gone.push_back(bucket);
        return;
    }
    buckets.push_back(bucket);
    blobs.push_back(block.encode());
}

namespace {
// Blocks this transaction locked exist: an UPDATE, which costs less than an
// INSERT ... ON CONFLICT (no speculative insertion, no conflict arbiter).
void rewrite_locked_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets,
                           const std::vector<std::vector<uint8_t>> &blobs) {
    if (buckets.size() == 1) {
        spi.exec(UNLEARN_REWRITE_BLOCK("$1", "$2", "$3"),
                 {int4_param(m.id), int4_param(buckets[0]), bytea_param(blobs[0])});
        return;
    }
    spi.exec(
        "UPDATE unlearn.lineage_blocks l SET block = u.k FROM unnest($2::int4[], $3::bytea[]) AS u(b, k) "
        "WHERE l.model_id = $1 AND l.bucket = u.b",
        {int4_param(m.id), int4_array_param(buckets), bytea_array_param(blobs)});
}
}  // namespace

void write_blocks(Spi &spi, const ModelMeta &m, const BlockWrites &writes) {
    if (!writes.buckets.empty()) rewrite_locked_blocks(spi, m, writes.buckets, writes.blobs);
    if (!writes.gone.empty()) delete_blocks(spi, m, writes.gone);
}

void write_blocks(Spi &spi, const ModelMeta &m, const std::map<int32, LineageBlock> &blocks) {
    BlockWrites writes;
    for (const auto &kv : blocks) writes.add(kv.first, kv.second);
    write_blocks(spi, m, writes);
}

void write_encoded_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets,
                          const std::vector<std::vector<uint8_t>> &blobs) {
    spi.exec(
        "INSERT INTO unlearn.lineage_blocks (model_id, bucket, block) "
        "SELECT $1, b, k FROM unnest($2::int4[], $3::bytea[]) AS u(b, k) "
        "ON CONFLICT (model_id, bucket) DO UPDATE SET block = excluded.block",
        {int4_param(m.id), int4_array_param(buckets), bytea_array_param(blobs)});
}

// A plain INSERT, not write_encoded_blocks' ON CONFLICT: a speculative
// insertion costs each block a second WAL record and page lock. The arrays
// are unnested in the select list (ProjectSet), which hands out their
// elements in place, where unnest in FROM would copy the whole statement's
// blocks into a tuplestore first.
void insert_new_blocks(Spi &spi, const ModelMeta &m, const std::vector<int32> &buckets,
                       const std::vector<std::vector<uint8_t>> &blobs) {
    spi.exec(
        "INSERT INTO unlearn.lineage_blocks (model_id, bucket, block) "
        "SELECT $1, unnest($2::int4[]), unnest($3::bytea[])",
        {int4_param(m.id), int4_array_param(buckets), bytea_array_param(blobs)});
}

void delete_lineage(Spi &spi, const ModelMeta &m) {
    spi.exec("DELETE FROM unlearn.lineage_blocks WHERE model_id = $1", {int4_param(m.id)});
}

}  // namespace unlearn::pg
