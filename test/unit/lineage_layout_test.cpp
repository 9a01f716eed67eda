// LineageLayout (lineage_layout.hpp): the one placement of a key. A key's
// shard and slice follow from the key and the seed alone; an incremental
// model's lineage spreads keys over buckets by hash, a shard-major one keeps
// each shard's keys in its own run of buckets; KeyArena's blocks land in the
// buckets the layout names.
#include <gtest/gtest.h>

#include <string>

#include "lineage_layout.hpp"
#include "sisa.hpp"

using namespace unlearn;

namespace {

std::string key(int i) { return std::to_string(i * 7); }

TEST(LineageLayout, OneShardAndOneSliceTakeNoHash) {
    const LineageLayout l{1, 1, 8, 42, false};
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(l.shard(key(i)), 0);
        EXPECT_EQ(l.place(key(i)).slice, 0);
    }
}

TEST(LineageLayout, PlacementFollowsTheKeyAndTheSeed) {
    const LineageLayout l{4, 3, 8, 42, true};
    for (int i = 0; i < 100; ++i) {
        const Placement at = l.place(key(i));
        EXPECT_EQ(at.shard, shard_of(key(i), 4, 42));
        EXPECT_EQ(at.slice, slice_of(key(i), 3, 42));
    }
}

TEST(LineageLayout, IncrementalBucketsByHash) {
    const LineageLayout l{4, 1, 8, 42, false};
    EXPECT_EQ(l.total_buckets(), 8);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(l.bucket(key(i)), bucket_of(key_hash(key(i)), 8));
        EXPECT_EQ(l.bucket(make_entry(key(i), l.shard(key(i)), 0, Role::Train)), l.bucket(key(i)));
    }
}

TEST(LineageLayout, ShardMajorKeepsEachShardInItsRun) {
    const LineageLayout l{4, 2, 8, 42, true};
    EXPECT_EQ(l.total_buckets(), 32);
    for (int i = 0; i < 200; ++i) {
        const int32_t shard = l.shard(key(i));
        const std::vector<int32_t> run = l.shard_run(shard);
        ASSERT_EQ(run.size(), 8u);
        const int32_t b = l.bucket(key(i));
        EXPECT_GE(b, run.front());
        EXPECT_LE(b, run.back());
        EXPECT_EQ(l.bucket(make_entry(key(i), shard, 1, Role::Train)), b);
    }
}

TEST(LineageLayout, BucketCountIsPerShardWhenShardMajor) {
    const LineageLayout flat{4, 1, 1, 0, false}, major{4, 1, 1, 0, true};
    EXPECT_EQ(flat.buckets_for(1 << 20), bucket_count(1 << 20));
    EXPECT_EQ(major.buckets_for(1 << 20), bucket_count((1 << 20) / 4));
}

TEST(LineageLayout, ArenaBlocksLandWhereTheLayoutSays) {
    for (bool shard_major : {false, true}) {
        const LineageLayout l{4, 1, 4, 9, shard_major};
        KeyArena arena;
        for (int i = 0; i < 500; ++i) arena.add(key(i), l.shard(key(i)));
        for (const auto &kv : l.encode(arena)) {
            const LineageBlock block = LineageBlock::decode(kv.second.data(), kv.second.size());
            for (const LineageEntry &e : block.entries()) EXPECT_EQ(l.bucket(e.key), kv.first);
        }
    }
}

}  // namespace
