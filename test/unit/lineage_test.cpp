// Lineage blocks: lookups, removals, encoding, and the key -> bucket/shard maps.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "error.hpp"
#include "lineage.hpp"

using namespace unlearn;

namespace {
LineageBlock block_of(int n) {
    std::vector<LineageEntry> entries;
    for (int i = 0; i < n; ++i) entries.push_back(make_entry(std::to_string(i * 3), i % 4, 0, Role::Train));
    return LineageBlock(std::move(entries));
}
}  // namespace

TEST(Lineage, FindRemoveInsert) {
    LineageBlock b = block_of(100);
    ASSERT_NE(b.find("30"), nullptr);
    EXPECT_EQ(b.find("30")->shard, 10 % 4);
    EXPECT_EQ(b.find("31"), nullptr);
    LineageEntry e;
    EXPECT_TRUE(b.remove("30", &e));
    EXPECT_EQ(e.key, "30");
    EXPECT_FALSE(b.remove("30", &e));
    EXPECT_EQ(b.find("30"), nullptr);
    b.insert(make_entry("30", 2, 0, Role::Holdout));
    EXPECT_EQ(b.find("30")->role, Role::Holdout);
    EXPECT_EQ(b.entries().size(), 100u);
}

TEST(Lineage, RemoveManyTakesExactlyTheHeldKeys) {
    LineageBlock b = block_of(1000);
    std::vector<std::string> keys{"9", "10", "2997", "12", "nope", "0"};
    std::vector<size_t> rows{0, 1, 2, 3, 4, 5};
    std::vector<Removal> found = b.remove_many(keys, rows);
    std::set<size_t> found_rows;
    for (const auto &r : found) {
        found_rows.insert(r.row);
        EXPECT_EQ(r.entry.key, keys[r.row]);
    }
    EXPECT_EQ(found_rows, (std::set<size_t>{0, 2, 3, 5}));  // 10 and "nope" were never held
    EXPECT_EQ(b.entries().size(), 996u);
    for (const auto &k : {"9", "2997", "12", "0"}) EXPECT_EQ(b.find(k), nullptr);
    EXPECT_NE(b.find("3"), nullptr);
}

TEST(Lineage, EncodeDecodeRoundTrip) {
    LineageBlock b = block_of(500);
    b.insert(make_entry("(\"east west\",3)", 7, 2, Role::Holdout));
    std::vector<uint8_t> bytes = b.encode();
    LineageBlock back = LineageBlock::decode(bytes.data(), bytes.size());
    ASSERT_EQ(back.entries().size(), b.entries().size());
    for (size_t i = 0; i < b.entries().size(); ++i) {
        EXPECT_EQ(back.entries()[i].key, b.entries()[i].key);
        EXPECT_EQ(back.entries()[i].shard, b.entries()[i].shard);
        EXPECT_EQ(back.entries()[i].slice, b.entries()[i].slice);
        EXPECT_EQ(back.entries()[i].role, b.entries()[i].role);
    }
    EXPECT_EQ(back.encode(), bytes);
}

TEST(Lineage, HostileBytesAreRejected) {
    std::vector<uint8_t> bytes = block_of(50).encode();
    for (size_t n = 0; n < bytes.size(); ++n)
        EXPECT_THROW(LineageBlock::decode(bytes.data(), n), Error) << "length " << n;
    for (size_t i = 0; i < bytes.size(); ++i) {
        std::vector<uint8_t> bad = bytes;
        bad[i] ^= 0xff;
        EXPECT_THROW(LineageBlock::decode(bad.data(), bad.size()), Error) << "byte " << i;
    }
    std::mt19937_64 rng(5);
    for (int t = 0; t < 3000; ++t) {
        std::vector<uint8_t> junk(rng() % 300);
        for (auto &b : junk) b = static_cast<uint8_t>(rng());
        try {
            LineageBlock::decode(junk.data(), junk.size());
        } catch (const Error &e) {
            EXPECT_EQ(e.kind(), ErrorKind::CorruptState);
        }
    }
}

TEST(Lineage, BucketsArePowersOfTwoAndUniform) {
    EXPECT_EQ(bucket_count(1), 1);
    EXPECT_EQ(bucket_count(kKeysPerBlock), 1);
    EXPECT_EQ(bucket_count(kKeysPerBlock + 1), 2);
    for (int64_t rows : {1000, 123457, 1000000}) {
        int32_t b = bucket_count(rows);
        EXPECT_EQ(b & (b - 1), 0) << "a power of two";
        EXPECT_LE(rows, b * kKeysPerBlock);
        EXPECT_GT(rows, b / 2 * kKeysPerBlock);
    }
    const int32_t buckets = 64;
    std::vector<int> count(buckets, 0);
    for (int i = 0; i < 64000; ++i) {
        int32_t b = bucket_of(std::to_string(i), buckets);
        ASSERT_GE(b, 0);
        ASSERT_LT(b, buckets);
        ++count[static_cast<size_t>(b)];
    }
    for (int c : count) EXPECT_NEAR(c, 1000, 150);
}

TEST(Lineage, ShardOfIsDeterministicAndSeeded) {
    int differ = 0;
    for (int i = 0; i < 1000; ++i) {
        std::string k = std::to_string(i);
        int32_t s = shard_of(k, 16, 7);
        EXPECT_EQ(s, shard_of(k, 16, 7));
        EXPECT_GE(s, 0);
        EXPECT_LT(s, 16);
        differ += s != shard_of(k, 16, 8);
    }
    EXPECT_GT(differ, 800);
}
