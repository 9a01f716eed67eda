#include "lineage_layout.hpp"

#include "sisa.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

int32_t LineageLayout::shard(const std::string &key) const { return shards == 1 ? 0 : shard_of(key, shards, seed); }

Placement LineageLayout::place(const std::string &key) const {
    return {shard(key), slices == 1 ? 0 : slice_of(key, slices, seed)};
}

int32_t LineageLayout::bucket(const std::string &key) const {
    const uint64_t hash = key_hash(key);
    return shard_major ? shard_bucket(hash, shard(key), buckets) : bucket_of(hash, buckets);
}

int32_t LineageLayout::bucket(const LineageEntry &e) const {
    return shard_major ? shard_bucket(e.hash, e.shard, buckets) : bucket_of(e.hash, buckets);
}

int32_t LineageLayout::total_buckets() const { return shard_major ? shards * buckets : buckets; }

std::vector<int32_t> LineageLayout::shard_run(int32_t shard) const {
    std::vector<int32_t> out;
    for (int32_t b = 0; b < buckets; ++b) out.push_back(shard * buckets + b);
    return out;
}

int32_t LineageLayout::buckets_for(int64_t keys) const { return bucket_count(shard_major ? keys / shards : keys); }

std::vector<std::pair<int32_t, std::vector<uint8_t>>> LineageLayout::encode(const KeyArena &arena) const {
    return arena.encode_blocks(buckets, shard_major ? shards : 0);
}

void LineageLayout::encode(const KeyArena &arena, const std::function<void(int32_t, std::vector<uint8_t> &&)> &emit) const {
    arena.encode_blocks(buckets, shard_major ? shards : 0, emit);
}

}  // namespace unlearn
