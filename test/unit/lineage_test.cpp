// Lineage (lineage.hpp): which rows a model holds, in blocks of keys hashed to
// buckets. Blocks must find, remove and round-trip keys exactly; buckets and
// shards must be deterministic, in range and evenly spread.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "bytes.hpp"
#include "lineage.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

namespace {

// Keys as src/pg renders them: integers, text, composite rows, unicode, an
// embedded NUL, and the empty string.
std::vector<std::string> sample_keys(int n) {
    std::vector<std::string> keys;
    for (int i = 0; i < n; ++i) keys.push_back(std::to_string(i * 3));
    keys.push_back("(\"east west\",3)");
    keys.push_back("Zürich-€");
    keys.push_back(std::string("nul\0inside", 10));
    keys.push_back("");
    return keys;
}

LineageBlock block_of(const std::vector<std::string> &keys) {
    std::vector<LineageEntry> entries;
    for (size_t i = 0; i < keys.size(); ++i)
        entries.push_back(make_entry(keys[i], static_cast<int32_t>(i % 4), static_cast<int32_t>(i % 3), Role(i % 2)));
    return LineageBlock(std::move(entries));
}

bool ordered(const LineageBlock &b) {  // strictly by (hash, key)
    const auto &e = b.entries();
    for (size_t i = 1; i < e.size(); ++i)
        if (!(e[i - 1].hash < e[i].hash || (e[i - 1].hash == e[i].hash && e[i - 1].key < e[i].key))) return false;
    return true;
}

void expect_same_entries(const LineageBlock &a, const LineageBlock &b) {
    ASSERT_EQ(a.entries().size(), b.entries().size());
    for (size_t i = 0; i < a.entries().size(); ++i) {
        const LineageEntry &x = a.entries()[i], &y = b.entries()[i];
        EXPECT_EQ(x.key, y.key);
        EXPECT_EQ(x.hash, y.hash);
        EXPECT_EQ(x.shard, y.shard);
        EXPECT_EQ(x.slice, y.slice);
        EXPECT_EQ(x.role, y.role);
    }
}

}  // namespace

TEST(Lineage, BlockIsOrderedAndFindsEveryKey) {
    const std::vector<std::string> keys = sample_keys(300);
    std::vector<std::string> shuffled = keys;
    std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937_64(51));
    LineageBlock b = block_of(keys);
    EXPECT_TRUE(ordered(b));
    ASSERT_EQ(b.entries().size(), keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
        const LineageEntry *e = b.find(keys[i]);
        ASSERT_NE(e, nullptr) << "key " << i;
        EXPECT_EQ(e->key, keys[i]);
        EXPECT_EQ(e->hash, key_hash(keys[i]));
        EXPECT_EQ(e->shard, static_cast<int32_t>(i % 4));
        EXPECT_EQ(e->slice, static_cast<int32_t>(i % 3));
        EXPECT_EQ(e->role, Role(i % 2));
    }
    for (const char *absent : {"1", "301", "nul", " 3", "3 "}) EXPECT_EQ(b.find(absent), nullptr) << absent;
    EXPECT_TRUE(LineageBlock().empty());
    EXPECT_EQ(LineageBlock().find("0"), nullptr);
}

TEST(Lineage, InsertAndRemoveKeepTheBlockASortedSet) {
    LineageBlock b;
    std::set<std::string> model;  // the independent bookkeeping
    std::mt19937_64 rng(52);
    for (int step = 0; step < 5000; ++step) {
        const std::string key = std::to_string(rng() % 400);
        if (rng() % 3) {
            b.insert(make_entry(key, step % 7, 0, Role::Train));
            model.insert(key);
        } else {
            LineageEntry out;
            EXPECT_EQ(b.remove(key, &out), model.erase(key) == 1) << key;
        }
    }
    ASSERT_TRUE(ordered(b));
    std::set<std::string> held;
    for (const auto &e : b.entries()) held.insert(e.key);
    EXPECT_EQ(held, model);
}

TEST(Lineage, InsertReplacesAnExistingKey) {
    LineageBlock b = block_of(sample_keys(10));
    const size_t n = b.entries().size();
    LineageEntry e = make_entry("9", 6, 5, Role::Holdout);
    e.hash = 0;  // insert recomputes the hash
    b.insert(e);
    EXPECT_EQ(b.entries().size(), n);
    ASSERT_NE(b.find("9"), nullptr);
    EXPECT_EQ(b.find("9")->shard, 6);
    EXPECT_EQ(b.find("9")->slice, 5);
    EXPECT_EQ(b.find("9")->role, Role::Holdout);
    EXPECT_TRUE(ordered(b));
}

TEST(Lineage, RemoveReturnsTheEntry) {
    LineageBlock b = block_of(sample_keys(100));
    LineageEntry out;
    ASSERT_TRUE(b.remove("30", &out));  // key 10: shard 2, slice 1, role Train
    EXPECT_EQ(out.key, "30");
    EXPECT_EQ(out.shard, 2);
    EXPECT_EQ(out.slice, 1);
    EXPECT_EQ(out.role, Role::Train);
    EXPECT_FALSE(b.remove("30", &out));
    EXPECT_TRUE(b.remove(std::string("nul\0inside", 10), nullptr));
    EXPECT_FALSE(b.remove("nul", nullptr));
    EXPECT_EQ(b.entries().size(), 102u);
}

TEST(Lineage, RemoveManyTakesExactlyTheHeldKeys) {
    LineageBlock b = block_of(sample_keys(1000));
    const std::vector<std::string> keys{"9", "10", "2997", "12", "nope", "0", "", "9"};
    const std::vector<size_t> rows{100, 101, 102, 103, 104, 105, 106, 107};
    std::vector<Removal> found = b.remove_many(keys, rows);
    std::multiset<std::string> found_keys;
    for (const Removal &r : found) {
        found_keys.insert(r.entry.key);
        ASSERT_GE(r.row, 100u);
        EXPECT_EQ(keys[r.row - 100], r.entry.key) << "the row tag belongs to the key";
    }
    // "10" and "nope" were never held; "9" asked twice is removed once
    EXPECT_EQ(found_keys, (std::multiset<std::string>{"9", "2997", "12", "0", ""}));
    EXPECT_EQ(b.entries().size(), 1004u - 5u);
    for (const auto &k : found_keys) EXPECT_EQ(b.find(k), nullptr);
    EXPECT_NE(b.find("3"), nullptr);
    EXPECT_TRUE(ordered(b));
    EXPECT_TRUE(b.remove_many({}, {}).empty());
}

TEST(Lineage, EncodeDecodeRoundTrip) {
    LineageBlock b = block_of(sample_keys(500));
    // the widest values the packing carries
    b.insert(make_entry("max", 0x7fffffff, 0x7fffffff, Role::Holdout));
    const std::vector<uint8_t> bytes = b.encode();
    LineageBlock back = LineageBlock::decode(bytes.data(), bytes.size());
    expect_same_entries(back, b);
    EXPECT_EQ(back.encode(), bytes);
    const std::vector<uint8_t> none = LineageBlock().encode();
    EXPECT_TRUE(LineageBlock::decode(none.data(), none.size()).empty());
}

TEST(Lineage, ArenaBlocksAreTheBucketsOfTheKeys) {
    // KeyArena::encode_blocks against blocks built one key at a time
    std::vector<std::string> keys = sample_keys(5000);
    const int32_t buckets = bucket_count(static_cast<int64_t>(keys.size()));
    KeyArena arena;
    std::map<int32_t, std::vector<LineageEntry>> by_bucket;
    for (size_t i = 0; i < keys.size(); ++i) {
        const int32_t shard = shard_of(keys[i], 5, 9);
        arena.add(keys[i], shard);
        by_bucket[bucket_of(keys[i], buckets)].push_back(make_entry(keys[i], shard, 0, Role::Train));
    }
    auto blocks = arena.encode_blocks(buckets);
    ASSERT_EQ(blocks.size(), by_bucket.size());
    for (const auto &[bucket, bytes] : blocks) {
        ASSERT_TRUE(by_bucket.count(bucket)) << bucket;
        LineageBlock want(by_bucket[bucket]);
        EXPECT_EQ(bytes, want.encode()) << "bucket " << bucket;
    }
}

TEST(Lineage, ArenaRefusesTwoRowsWithOneKey) {
    // the same key twice (an INHERITS parent and child) is refused, whatever
    // the shards and roles the two rows drew; distinct keys never are
    for (int32_t shards : {0, 3}) {
        KeyArena arena;
        std::vector<std::string> keys = sample_keys(2000);
        for (size_t i = 0; i < keys.size(); ++i) arena.add(keys[i], shards ? static_cast<int32_t>(i % 3) : 0);
        const int32_t per = bucket_count(static_cast<int64_t>(keys.size()));
        EXPECT_NO_THROW(arena.encode_blocks(per, shards));
        arena.add(keys[1234], shards ? 1234 % 3 : 0, 0, Role::Holdout);
        EXPECT_TRUE(throws_kind(ErrorKind::UniqueViolation, [&] { arena.encode_blocks(per, shards); })) << shards;
    }
}

TEST(Lineage, TextKeyBlocksOfOldVersionsAreRefused) {
    // kind 0 held keys as text before 0.5.0: read as binary keys they would
    // match nothing, so a DELETE would forget nothing; they are refused
    ByteWriter w;
    w.put<uint32_t>(0);
    const std::vector<uint8_t> old = frame("ULLN", 0, w.bytes());
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { LineageBlock::decode(old.data(), old.size()); }));
    const std::vector<uint8_t> now = LineageBlock().encode();
    EXPECT_TRUE(LineageBlock::decode(now.data(), now.size()).empty());
}

TEST(Lineage, BucketCountIsAPowerOfTwoSizedForTheRows) {
    EXPECT_EQ(bucket_count(0), 1);
    EXPECT_EQ(bucket_count(1), 1);
    EXPECT_EQ(bucket_count(kKeysPerBlock), 1);
    EXPECT_EQ(bucket_count(kKeysPerBlock + 1), 2);
    for (int64_t rows : {int64_t{1000}, int64_t{123457}, int64_t{1000000}, int64_t{99999999}}) {
        const int32_t b = bucket_count(rows);
        EXPECT_GT(b, 0);
        EXPECT_EQ(b & (b - 1), 0) << rows << " rows: " << b << " is not a power of two";
        EXPECT_LE(rows, int64_t{b} * kKeysPerBlock) << "blocks of at most kKeysPerBlock keys";
        EXPECT_GT(rows, int64_t{b} / 2 * kKeysPerBlock) << "and no more buckets than that needs";
    }
    EXPECT_LE(1000000 / bucket_count(1000000), 1024);  // a DELETE rewrites a small block
    EXPECT_EQ(bucket_count(int64_t{1} << 40), 1 << 20);  // capped
}

TEST(Lineage, BucketOfIsInRangeAndUniform) {
    // a chi-square test over 4096 buckets for a million integer keys (the
    // common primary key): mean 4095, sd ~90.5
    const int32_t buckets = bucket_count(1000000);
    ASSERT_EQ(buckets, 4096);
    std::vector<int64_t> count(static_cast<size_t>(buckets), 0);
    for (int i = 0; i < 1000000; ++i) {
        const int32_t b = bucket_of(std::to_string(i), buckets);
        ASSERT_GE(b, 0);
        ASSERT_LT(b, buckets);
        ++count[static_cast<size_t>(b)];
    }
    const double expected = 1000000.0 / buckets;
    double chi2 = 0;
    for (int64_t c : count) chi2 += (c - expected) * (c - expected) / expected;
    EXPECT_LT(chi2, 4095 + 6 * 90.5);
    EXPECT_GT(chi2, 4095 - 6 * 90.5);
    EXPECT_EQ(bucket_of(uint64_t{12345}, 1), 0);
}

TEST(Lineage, DoublingTheBucketsSplitsEachBucketInTwo) {
    // the high bits choose the bucket: re-bucketing moves a key from b to 2b or 2b+1
    for (int i = 0; i < 20000; ++i) {
        const uint64_t h = key_hash("k" + std::to_string(i));
        for (int32_t b = 1; b < (1 << 20); b <<= 1) {
            const int32_t small = bucket_of(h, b), big = bucket_of(h, 2 * b);
            ASSERT_EQ(big >> 1, small) << "hash " << h << ", " << b << " buckets";
        }
    }
}

TEST(Lineage, ShardOfIsDeterministicInRangeAndSeeded) {
    for (int32_t shards : {1, 3, 7, 16}) {
        std::vector<int> count(static_cast<size_t>(shards), 0);
        int moved = 0;
        const int n = 20000;
        for (int i = 0; i < n; ++i) {
            const std::string k = std::to_string(i);
            const int32_t s = shard_of(k, shards, 7);
            ASSERT_GE(s, 0);
            ASSERT_LT(s, shards);
            EXPECT_EQ(s, shard_of(std::string(k), shards, 7)) << "deterministic";
            ++count[static_cast<size_t>(s)];
            moved += s != shard_of(k, shards, 8);
        }
        for (int c : count) EXPECT_NEAR(c, n / shards, 5 * std::sqrt(double(n) / shards)) << shards << " shards";
        // another seed is another assignment: a key moves with probability 1 - 1/shards
        const double p = 1.0 - 1.0 / shards;
        EXPECT_NEAR(moved, n * p, 5 * std::sqrt(n * p * (1 - p)) + 0.5) << shards << " shards";
    }
}
