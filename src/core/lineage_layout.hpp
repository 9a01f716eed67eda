// Where a model's rows live: the shard and slice a key is placed in, and the
// lineage bucket that records it. Incremental models spread keys over
// buckets by hash; SISA and certified models are shard-major (each shard's
// keys fill their own run of buckets, so retraining a shard reads only its
// blocks). Every placement of a key goes through this one type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lineage.hpp"

namespace unlearn {

struct Placement {
    int32_t shard = 0;
    int32_t slice = 0;
};

struct LineageLayout {
    int32_t shards = 1;
    int32_t slices = 1;
    int32_t buckets = 1;  // per shard when shard_major
    int64_t seed = 0;
    bool shard_major = false;

    // Shard and slice from the key and the model seed, so that a retrain
    // puts a row back where it was.
    int32_t shard(const std::string &key) const;
    Placement place(const std::string &key) const;
    int32_t bucket(const std::string &key) const;
    int32_t bucket(const LineageEntry &e) const;
    int32_t total_buckets() const;
    std::vector<int32_t> shard_run(int32_t shard) const;  // shard-major: the shard's buckets
    // The bucket count (per shard when shard-major) for keys held in lineage.
    int32_t buckets_for(int64_t keys) const;
    // Blocks of a KeyArena in this layout, by bucket.
    std::vector<std::pair<int32_t, std::vector<uint8_t>>> encode(const KeyArena &arena) const;
    void encode(const KeyArena &arena, const std::function<void(int32_t, std::vector<uint8_t> &&)> &emit) const;
};

}  // namespace unlearn
