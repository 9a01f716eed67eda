// Lineage: which row (by its primary key, in text form) a model holds, in
// which shard and slice and in what role. Keys are hashed into buckets; each
// bucket is one sorted block, so a DELETE rewrites only the blocks its keys
// fall in and never pays a row-per-key index look-up.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bulk_allocator.hpp"

namespace unlearn {

enum class Role : uint8_t { Train = 0, Holdout = 1 };

struct LineageEntry {
    std::string key;
    uint64_t hash = 0;  // hash of key: blocks are ordered by (hash, key), which sorts fast
    int32_t shard = 0;
    int32_t slice = 0;
    Role role = Role::Train;
};

// Target block size: a single-row DELETE rewrites one block of about this many
// keys, a large DELETE rewrites each touched block once.
constexpr int64_t kKeysPerBlock = 256;

int32_t bucket_count(int64_t rows);  // a power of two
uint64_t key_hash(const std::string &key);
int32_t bucket_of(uint64_t hash, int32_t buckets);
// SISA lineage is shard-major: each shard's keys fill their own run of
// buckets, so retraining a shard reads only its blocks.
inline int32_t shard_bucket(uint64_t hash, int32_t shard, int32_t buckets_per_shard) {
    return shard * buckets_per_shard + bucket_of(hash, buckets_per_shard);
}
inline int32_t bucket_of(const std::string &key, int32_t buckets) { return bucket_of(key_hash(key), buckets); }
LineageEntry make_entry(std::string key, int32_t shard, int32_t slice, Role role);
// Shard assignment derives from the key, so a retrain puts a row back where it was.
int32_t shard_of(const std::string &key, int32_t shards, int64_t seed);
// Holdout membership likewise: the same share of keys, whatever the scan order.
bool is_holdout(const std::string &key, double fraction, int64_t seed);

// Keys collected in one arena: training a million rows must not build a
// million small objects. Refs sorted by (hash, key) encode straight to blocks.
struct KeyArena {
    struct Ref {  // 24 bytes: a million-row train holds two arrays of them
        uint64_t hash;
        uint32_t offset;
        uint32_t length : 31;
        uint32_t holdout : 1;
        int32_t shard;
        int32_t slice;
        Role role() const { return holdout ? Role::Holdout : Role::Train; }
    };
    std::basic_string<char, std::char_traits<char>, BulkAllocator<char>> bytes;
    std::vector<Ref, BulkAllocator<Ref>> refs;

    // room for about this many keys, so a million-row train does not copy the refs as they grow
    void reserve(size_t rows, size_t key_bytes);
    void add(const std::string &key, int32_t shard, int32_t slice = 0, Role role = Role::Train);
    std::string_view key(const Ref &r) const { return {bytes.data() + r.offset, r.length}; }
    // Encoded blocks by bucket, each sorted by (hash, key).
    // With shards > 0 the layout is shard-major (see shard_bucket).
    std::vector<std::pair<int32_t, std::vector<uint8_t>>> encode_blocks(int32_t buckets, int32_t shards = 0) const;
    // The same blocks handed to emit(bucket, blob) in bucket order as each is
    // made, so that a caller can write them out a few hundred at a time.
    void encode_blocks(int32_t buckets, int32_t shards,
                       const std::function<void(int32_t, std::vector<uint8_t> &&)> &emit) const;
};

// A lineage entry tagged with the caller's row number: a key a batch
// removal found (a Removal), or one a batch of learned rows adds.
struct RowEntry {
    size_t row;
    LineageEntry entry;
};
using Removal = RowEntry;

class LineageBlock {
public:
    LineageBlock() = default;
    explicit LineageBlock(std::vector<LineageEntry> entries);  // sorts

    const LineageEntry *find(const std::string &key) const;
    // Removes the key and returns its entry; false when the block does not hold it.
    bool remove(const std::string &key, LineageEntry *out);
    // Removes every keys[i] the block holds in one merge pass (a large DELETE
    // must not pay one vector erase per key); rows[i] tags keys[i].
    std::vector<Removal> remove_many(const std::vector<std::string> &keys, const std::vector<size_t> &rows);
    void insert(LineageEntry e);
    const std::vector<LineageEntry> &entries() const { return entries_; }
    bool empty() const { return entries_.empty(); }

    std::vector<uint8_t> encode() const;
    static LineageBlock decode(const uint8_t *data, size_t len);

private:
    std::vector<LineageEntry>::iterator lower(uint64_t hash, const std::string &key);
    std::vector<LineageEntry> entries_;
};

}  // namespace unlearn
