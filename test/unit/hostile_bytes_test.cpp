// Stored bytes are untrusted: decode_state and LineageBlock::decode must
// either throw unlearn::Error of kind CorruptState or return something that
// is safe to use. Never a crash, never another exception. (Run this file
// under -fsanitize=address,undefined to also catch silent overruns.)
#include <gtest/gtest.h>

#include <functional>

#include "bytes.hpp"
#include "lineage.hpp"
#include "model.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

namespace {

using Bytes = std::vector<uint8_t>;
constexpr int kFeatures = 3;

// A decoder under test: decodes, and on success uses what it decoded.
struct Decoder {
    std::string name;
    Bytes valid;  // a genuine blob
    std::function<void(const Bytes &)> decode_and_use;
};

Outcome outcome(const Decoder &d, const Bytes &bytes, std::string *why) {
    return outcome_of([&] { d.decode_and_use(bytes); }, why);
}

ShardState trained_state(Algorithm a) {
    Data d = make_data(300, kFeatures, 41, 100.0);
    if (a == Algorithm::NaiveBayes)
        for (Eigen::Index i = 0; i < d.y.size(); ++i) d.y(i) = static_cast<double>(i % 4) * 2.0 - 3.0;
    ShardState s = empty_state(a, kFeatures);
    summation(s).add_rows(d.x, d.y, +1);
    summation(s).add_rows(d.x.topRows(30), d.y.head(30), -1);
    return s;
}

Decoder state_decoder(Algorithm a) {
    return {algorithm_name(a), encode_state(a, trained_state(a)), [a](const Bytes &b) {
                ShardState s = decode_state(a, kFeatures, b.data(), b.size());
                // what decodes must survive use: fitting may fail, but only
                // with unlearn::Error (of any kind: the sums may be singular)
                try {
                    Options o = parse_options(a, {});
                    FittedModel m = fit_model(a, o, {s});
                    (void)m.parameters();
                    (void)m.predict(Vector::Zero(kFeatures));
                } catch (const Error &) {
                }
                Bytes again = encode_state(a, s);
                (void)decode_state(a, kFeatures, again.data(), again.size());
            }};
}

LineageBlock sample_block() {
    std::vector<LineageEntry> e;
    for (int i = 0; i < 40; ++i) e.push_back(make_entry(std::to_string(i * 7919), i % 5, i % 3, Role(i % 2)));
    e.push_back(make_entry("(\"composite key\",42)", 2, 0, Role::Train));
    e.push_back(make_entry("", 0, 0, Role::Train));
    return LineageBlock(std::move(e));
}

Decoder lineage_decoder() {
    return {"lineage", sample_block().encode(), [](const Bytes &b) {
                LineageBlock block = LineageBlock::decode(b.data(), b.size());
                Bytes again = block.encode();
                (void)LineageBlock::decode(again.data(), again.size());
                if (!block.empty()) {
                    const std::string key = block.entries().front().key;
                    EXPECT_NE(block.find(key), nullptr);
                    EXPECT_TRUE(block.remove(key, nullptr));
                }
            }};
}

std::vector<Decoder> all_decoders() {
    return {state_decoder(Algorithm::LinearRegression), state_decoder(Algorithm::Ridge),
            state_decoder(Algorithm::NaiveBayes), lineage_decoder()};
}

// The frame is magic(4) format(2) kind(2) payload_len(4) checksum(8).
constexpr size_t kHeader = 20;
Bytes payload_of(const Bytes &blob) { return {blob.begin() + kHeader, blob.end()}; }
// A payload framed like `like`, with a valid checksum: reaches the parser.
Bytes reframe(const Bytes &like, const Bytes &payload) {
    const char magic[4] = {char(like[0]), char(like[1]), char(like[2]), char(like[3])};
    const uint16_t format = static_cast<uint16_t>(like[4] | like[5] << 8);
    const uint16_t kind = static_cast<uint16_t>(like[6] | like[7] << 8);
    return frame(magic, kind, payload, format);
}

}  // namespace

TEST(HostileBytes, GenuineBlobsDecode) {
    for (const Decoder &d : all_decoders()) {
        std::string why;
        EXPECT_EQ(outcome(d, d.valid, &why), Outcome::Accepted) << d.name << " " << why;
    }
}

TEST(HostileBytes, EveryTruncationIsCorruptState) {
    for (const Decoder &d : all_decoders())
        for (size_t n = 0; n < d.valid.size(); ++n) {
            std::string why;
            Bytes cut(d.valid.begin(), d.valid.begin() + static_cast<std::ptrdiff_t>(n));
            ASSERT_EQ(outcome(d, cut, &why), Outcome::Rejected) << d.name << ", first " << n << " bytes " << why;
        }
}

// Every position, every other value. The header fields are all checked, and
// the checksum (word_sum64; hash64 for blobs sealed before stop 28) changes
// with any single byte of the payload, so not one of these may decode.
TEST(HostileBytes, EverySingleByteChangeIsCorruptState) {
    for (const Decoder &d : all_decoders())
        for (size_t i = 0; i < d.valid.size(); ++i)
            for (int x = 1; x < 256; ++x) {
                Bytes bad = d.valid;
                bad[i] ^= static_cast<uint8_t>(x);
                std::string why;
                ASSERT_EQ(outcome(d, bad, &why), Outcome::Rejected) << d.name << ", byte " << i << " ^ " << x << " " << why;
            }
}

TEST(HostileBytes, RandomBytesAreRejected) {
    std::mt19937_64 rng(42);
    for (const Decoder &d : all_decoders()) {
        int accepted = 0;
        for (int t = 0; t < 3000; ++t) {
            Bytes junk(rng() % 700);
            for (auto &b : junk) b = static_cast<uint8_t>(rng());
            // a third keep a genuine magic, format and kind, a third a whole genuine header
            if (t % 3 == 1 && junk.size() >= 8) std::copy(d.valid.begin(), d.valid.begin() + 8, junk.begin());
            if (t % 3 == 2 && junk.size() >= kHeader)
                std::copy(d.valid.begin(), d.valid.begin() + kHeader, junk.begin());
            std::string why;
            Outcome o = outcome(d, junk, &why);
            ASSERT_NE(o, Outcome::Wrong) << d.name << ", case " << t << ": " << why;
            accepted += o == Outcome::Accepted;
        }
        EXPECT_EQ(accepted, 0) << d.name;  // 64-bit checksums: not by chance
    }
}

// Past the checksum: mutated payloads with a valid frame exercise the
// parser's own checks. A payload may now decode (a changed sum is just
// another sum), but it must be usable; anything else must be CorruptState.
TEST(HostileBytes, ValidFramesAroundBadPayloadsAreRejectedOrSafe) {
    std::mt19937_64 rng(43);
    for (const Decoder &d : all_decoders()) {
        const Bytes payload = payload_of(d.valid);
        std::string why;
        for (size_t n = 0; n < payload.size(); ++n) {  // the parser must see the end coming
            Bytes cut(payload.begin(), payload.begin() + static_cast<std::ptrdiff_t>(n));
            ASSERT_EQ(outcome(d, reframe(d.valid, cut), &why), Outcome::Rejected) << d.name << ", payload " << n;
        }
        Bytes longer = payload;
        longer.push_back(0);
        ASSERT_EQ(outcome(d, reframe(d.valid, longer), &why), Outcome::Rejected) << d.name << ", trailing byte";
        for (size_t i = 0; i < payload.size(); ++i)
            for (uint8_t x : {0x01, 0x80, 0xff, 0x7f, 0x40}) {
                Bytes bad = payload;
                bad[i] ^= x;
                ASSERT_NE(outcome(d, reframe(d.valid, bad), &why), Outcome::Wrong)
                    << d.name << ", payload byte " << i << " ^ " << int(x) << ": " << why;
            }
        for (int t = 0; t < 2000; ++t) {
            Bytes bad = payload;
            for (int k = 0, m = 1 + static_cast<int>(rng() % 8); k < m; ++k)
                bad[rng() % bad.size()] = static_cast<uint8_t>(rng());
            if (t % 4 == 0) bad.resize(rng() % (bad.size() + 1));
            ASSERT_NE(outcome(d, reframe(d.valid, bad), &why), Outcome::Wrong) << d.name << ", case " << t << ": " << why;
        }
    }
}

// Hand-made payloads, one per rule the parsers enforce.
namespace {

// An exact sum as stored: zigzag position of its lowest digit, digit count,
// the digits (the top one signed).
Bytes sum_bytes(int lo, const std::vector<int64_t> &digits, uint64_t count) {
    ByteWriter w;
    w.put_varint((static_cast<uint64_t>(static_cast<int64_t>(lo)) << 1) ^
                 static_cast<uint64_t>(static_cast<int64_t>(lo) >> 63));
    w.put_varint(count);
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i + 1 < digits.size()) w.put<uint32_t>(static_cast<uint32_t>(digits[i]));
        else w.put<int32_t>(static_cast<int32_t>(digits[i]));
    }
    return w.bytes();
}
Bytes sum_bytes(int lo, const std::vector<int64_t> &digits) { return sum_bytes(lo, digits, digits.size()); }
const Bytes kThree = sum_bytes(0, {3});

void append(ByteWriter &w, const Bytes &b) {
    for (uint8_t c : b) w.put<uint8_t>(c);
}

Bytes linear_payload(uint32_t p, int64_t n, size_t sums, const Bytes &sum = kThree) {
    ByteWriter w;
    w.put<uint32_t>(p);
    w.put<int64_t>(n);
    for (size_t k = 0; k < sums; ++k) append(w, sum);
    return w.bytes();
}

struct NbClass {
    double label;
    int64_t n;
    Bytes sum;
};

Bytes nb_payload(uint32_t k, const std::vector<NbClass> &classes) {
    ByteWriter w;
    w.put<uint32_t>(1);  // one feature
    w.put<uint32_t>(k);
    for (const NbClass &c : classes) {
        w.put<double>(c.label);
        w.put<int64_t>(c.n);
        for (int s = 0; s < 2; ++s) append(w, c.sum);  // sx, sxx
    }
    return w.bytes();
}

ShardState decode_framed(Algorithm a, int features, const Bytes &payload, uint16_t format = kExactStateFormat) {
    const char magic[4] = {'U', 'L', 'S', 'T'};
    Bytes b = frame(magic, static_cast<uint16_t>(a), payload, format);
    return decode_state(a, features, b.data(), b.size());
}

// Sums that are not an ExactSum's canonical form, or out of its range.
const std::vector<std::pair<const char *, Bytes>> kBadSums = {
    {"digits below the range", sum_bytes(-69, {1})},
    {"digits above the range", sum_bytes(60, {1, 2, 3, 4, 5, 6, 7, 8, 9})},
    {"position beyond any int", sum_bytes(0x3fffffff, {1})},
    {"lowest digit zero", sum_bytes(0, {0, 1})},
    {"top digit zero", sum_bytes(0, {5, 0})},
    {"top digit foldable into the one below", sum_bytes(0, {0x80000000LL, -1})},
    {"zero with a position", sum_bytes(3, {})},
    {"absurd digit count", sum_bytes(0, {1}, uint64_t{1} << 40)},
    {"fewer digits than declared", sum_bytes(0, {1}, 3)},
    {"position varint too long", Bytes(11, 0xff)},
};

}  // namespace

TEST(HostileBytes, LinearStatePayloadRules) {
    const Algorithm a = Algorithm::LinearRegression;
    // p = 1: Σx, Σy, Σxx, Σxy, Σy² are five exact sums
    EXPECT_NO_THROW(decode_framed(a, 1, linear_payload(1, 10, 5)));
    EXPECT_NO_THROW(decode_framed(a, 1, linear_payload(1, 10, 5, sum_bytes(-68, {7, -3}))));
    EXPECT_NO_THROW(decode_framed(a, 1, linear_payload(1, 10, 5, sum_bytes(0, {}))));
    std::vector<std::pair<const char *, Bytes>> bad = {
        {"negative row count", linear_payload(1, -1, 5)},
        {"a sum missing", linear_payload(1, 10, 4)},
        {"a sum too many", linear_payload(1, 10, 6)},
        {"wrong feature count", linear_payload(2, 10, 9)},
        {"absurd feature count", linear_payload(0xffffffffu, 10, 5)},
        {"more features than PostgreSQL columns", linear_payload(1601, 10, 5)},
    };
    for (const auto &c : kBadSums) bad.emplace_back(c.first, linear_payload(1, 10, 5, c.second));
    for (const auto &c : bad)  // c: (what, payload)
        EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { decode_framed(a, 1, c.second); })) << c.first;
    // a huge declared feature count with the features argument to match
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { decode_framed(a, 1601, linear_payload(1601, 10, 5)); }));
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { decode_framed(a, 1600, linear_payload(1600, 10, 5)); }));
}

TEST(HostileBytes, NaiveBayesStatePayloadRules) {
    const Algorithm a = Algorithm::NaiveBayes;
    EXPECT_NO_THROW(decode_framed(a, 1, nb_payload(2, {{0.0, 3, kThree}, {1.0, 4, sum_bytes(-2, {1, 2})}})));
    EXPECT_NO_THROW(decode_framed(a, 1, nb_payload(0, {})));  // every class forgotten
    std::vector<std::pair<const char *, Bytes>> bad = {
        {"more classes than allowed", nb_payload(1001, {{0.0, 3, kThree}})},
        {"absurd class count", nb_payload(0xffffffffu, {{0.0, 3, kThree}})},
        {"fewer classes than declared", nb_payload(2, {{0.0, 3, kThree}})},
        {"more classes than declared", nb_payload(1, {{0.0, 3, kThree}, {1.0, 4, kThree}})},
        {"duplicate label", nb_payload(2, {{1.0, 3, kThree}, {1.0, 4, kThree}})},
        {"0 and -0 are one label", nb_payload(2, {{0.0, 3, kThree}, {-0.0, 4, kThree}})},
        {"NaN label", nb_payload(1, {{NAN, 3, kThree}})},
        {"infinite label", nb_payload(1, {{INFINITY, 3, kThree}})},
        {"empty class", nb_payload(1, {{0.0, 0, kThree}})},
        {"negative class count", nb_payload(1, {{0.0, -5, kThree}})},
    };
    for (const auto &c : kBadSums) bad.emplace_back(c.first, nb_payload(1, {{0.0, 3, c.second}}));
    for (const auto &c : bad)  // c: (what, payload)
        EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { decode_framed(a, 1, c.second); })) << c.first;
}

TEST(HostileBytes, StatesOfTheOldFormatAskForAResync) {
    // 0.4's double-double layout (format 1): refused with the way out
    for (Algorithm a : {Algorithm::LinearRegression, Algorithm::Ridge, Algorithm::NaiveBayes}) {
        try {
            decode_framed(a, 1, linear_payload(1, 10, 5), 1);
            ADD_FAILURE() << algorithm_name(a) << ": a format 1 state was accepted";
        } catch (const Error &e) {
            EXPECT_EQ(e.kind(), ErrorKind::CorruptState);
            EXPECT_NE(e.hint().find("unlearn.resync"), std::string::npos) << e.hint();
        }
    }
    // and a format from the future is corrupt, not old
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState,
                            [&] { decode_framed(Algorithm::Ridge, 1, linear_payload(1, 10, 5), 3); }));
}

namespace {

void put_entry(ByteWriter &w, uint64_t packed, const std::string &key) {
    w.put_varint(packed);
    w.put_varint(key.size());
    for (char c : key) w.put<char>(c);
}

Bytes lineage_payload(uint32_t n, const std::vector<std::pair<uint64_t, std::string>> &entries) {
    ByteWriter w;
    w.put<uint32_t>(n);
    for (const auto &[packed, key] : entries) put_entry(w, packed, key);
    return w.bytes();
}

LineageBlock decode_lineage(const Bytes &payload, uint16_t kind = 1) {  // 1: binary keys (0.5.0 on)
    const char magic[4] = {'U', 'L', 'L', 'N'};
    Bytes b = frame(magic, kind, payload);
    return LineageBlock::decode(b.data(), b.size());
}

}  // namespace

TEST(HostileBytes, LineagePayloadRules) {
    // two keys in block order, (hash, key)
    std::string k1 = "alpha", k2 = "beta";
    if (key_hash(k2) < key_hash(k1)) std::swap(k1, k2);
    const uint64_t shard3_slice2 = (3ULL << 33) | (2ULL << 1) | 1ULL;
    LineageBlock ok = decode_lineage(lineage_payload(2, {{shard3_slice2, k1}, {0, k2}}));
    ASSERT_EQ(ok.entries().size(), 2u);
    EXPECT_EQ(ok.entries()[0].shard, 3);
    EXPECT_EQ(ok.entries()[0].slice, 2);
    EXPECT_EQ(ok.entries()[0].role, Role::Holdout);
    EXPECT_EQ(ok.entries()[0].hash, key_hash(k1));
    EXPECT_TRUE(decode_lineage(lineage_payload(0, {})).empty());

    ByteWriter long_varint;
    long_varint.put<uint32_t>(1);
    for (int i = 0; i < 10; ++i) long_varint.put<uint8_t>(0x80);
    long_varint.put<uint8_t>(0x01);
    ByteWriter long_key;
    long_key.put<uint32_t>(1);
    long_key.put_varint(0);
    long_key.put_varint((1u << 20) + 1);  // longer than any key may be
    ByteWriter past_end;
    past_end.put<uint32_t>(1);
    past_end.put_varint(0);
    past_end.put_varint(50);
    past_end.put<char>('x');

    const std::vector<std::pair<const char *, Bytes>> bad = {
        {"keys out of order", lineage_payload(2, {{0, k2}, {0, k1}})},
        {"duplicate key", lineage_payload(2, {{0, k1}, {0, k1}})},
        {"negative slice", lineage_payload(1, {{0x80000000ULL << 1, k1}})},
        {"count beyond the block", lineage_payload(1000, {{0, k1}, {0, k2}})},
        {"absurd count", lineage_payload(0xffffffffu, {{0, k1}})},
        {"fewer entries than declared", lineage_payload(3, {{0, k1}, {0, k2}})},
        {"trailing entry", lineage_payload(1, {{0, k1}, {0, k2}})},
        {"varint of eleven bytes", long_varint.bytes()},
        {"key longer than allowed", long_key.bytes()},
        {"key past the end", past_end.bytes()},
        {"no count", {}},
    };
    for (const auto &c : bad)  // c: (what, payload)
        EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { decode_lineage(c.second); })) << c.first;
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { decode_lineage(lineage_payload(0, {}), 2); }))
        << "unknown block kind";
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { decode_lineage(lineage_payload(0, {}), 0); }))
        << "text keys (before 0.5.0)";
}

// ---------------------------------------------------------------------------
// Found by review, fixed (counts are bounded by the most rows a table can
// hold): decode_state() checked each class count is positive but not their
// total: two classes of 2^63 - 2 rows decode, and NaiveBayesStats::rows()
// (naive_bayes.cpp:19) then overflows int64_t: undefined behaviour (UBSan:
// "signed integer overflow"), in practice a negative count and a misleading
// "holds no rows" DataException.
TEST(HostileBytes, ClassCountsWhoseTotalOverflowsAreCorrupt) {
    const int64_t big = INT64_MAX - 1;
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] {
        decode_framed(Algorithm::NaiveBayes, 1, nb_payload(2, {{0.0, big, kThree}, {1.0, big, kThree}}));
    }));
}

// A varint is read only in the shortest form put_varint writes: an overlong
// zero, a trailing zero byte, or bits past the 64th are refused, and every
// value round-trips.
TEST(HostileBytes, VarintsHaveOneStoredForm) {
    auto read = [](std::vector<uint8_t> b) {
        ByteReader r(b.data(), b.size());
        return r.get_varint();
    };
    for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300}, uint64_t{1} << 63,
                       ~uint64_t{0}}) {
        ByteWriter w;
        w.put_varint(v);
        EXPECT_EQ(read(w.bytes()), v);
    }
    EXPECT_THROW(read({0x80, 0x00}), Error);            // 0, overlong
    EXPECT_THROW(read({0xff, 0x80, 0x00}), Error);      // 127, one byte too many
    EXPECT_THROW(read({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}), Error);  // a 65th bit
    EXPECT_EQ(read({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), ~uint64_t{0});
}

namespace {
// A blob as builds before the word checksum sealed it: the format without
// kWordSumFlag, hash64 of the payload.
Bytes with_byte_sum(const Bytes &blob) {
    Bytes old = blob;
    old[5] = static_cast<uint8_t>(old[5] & ~(kWordSumFlag >> 8));
    const uint64_t sum = hash64(old.data() + kHeader, old.size() - kHeader);
    std::memcpy(old.data() + 12, &sum, sizeof sum);
    return old;
}
}  // namespace

// Blobs stored before the word checksum (hash64, no flag) still decode, and
// their checksum still guards every payload byte; new blobs carry the flag.
TEST(HostileBytes, BlobsSealedBeforeTheWordSumStillDecode) {
    for (const Decoder &d : all_decoders()) {
        ASSERT_NE(d.valid[5] & (kWordSumFlag >> 8), 0) << d.name;
        const Bytes old = with_byte_sum(d.valid);
        std::string why;
        EXPECT_EQ(outcome(d, old, &why), Outcome::Accepted) << d.name << " " << why;
        for (size_t i = kHeader; i < old.size(); ++i) {
            Bytes bad = old;
            bad[i] ^= 0x01;
            ASSERT_EQ(outcome(d, bad, &why), Outcome::Rejected) << d.name << ", byte " << i;
        }
        // the flag says which sum the header holds: cleared over a word sum, or
        // set over a byte sum, the blob is refused
        Bytes flipped = d.valid;
        flipped[5] = static_cast<uint8_t>(flipped[5] ^ (kWordSumFlag >> 8));
        EXPECT_EQ(outcome(d, flipped, &why), Outcome::Rejected) << d.name;
        flipped = old;
        flipped[5] = static_cast<uint8_t>(flipped[5] ^ (kWordSumFlag >> 8));
        EXPECT_EQ(outcome(d, flipped, &why), Outcome::Rejected) << d.name;
    }
}

// Every length around the four lanes' 32-byte steps and the byte tail, every
// byte, every bit: the word sum changes (each step is a bijection of its
// lane, the lanes' merge and the tail of the result).
TEST(HostileBytes, WordSumChangesWithAnyOneByte) {
    std::mt19937_64 rng(7);
    for (size_t len : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{31}, size_t{32}, size_t{33}, size_t{63},
                       size_t{64}, size_t{100}, size_t{257}}) {
        Bytes b(len);
        for (auto &x : b) x = static_cast<uint8_t>(rng());
        const uint64_t sum = word_sum64(b.data(), b.size());
        for (size_t i = 0; i < len; ++i)
            for (int bit = 0; bit < 8; ++bit) {
                Bytes c = b;
                c[i] ^= static_cast<uint8_t>(1 << bit);
                ASSERT_NE(word_sum64(c.data(), c.size()), sum) << "length " << len << ", byte " << i << ", bit " << bit;
            }
        // and with the length: a zero byte more is another sum
        Bytes longer = b;
        longer.push_back(0);
        EXPECT_NE(word_sum64(longer.data(), longer.size()), sum) << "length " << len;
    }
}

// The checksums' values are part of the stored format: hash64's (blobs sealed
// before stop 28, and lineage's key hashes, which place keys in buckets and
// shards) as the builds before computed them, word_sum64's as stop 28 did.
TEST(HostileBytes, ChecksumsKeepTheirValues) {
    EXPECT_EQ(hash64("pg_unlearn", 10), 9533381133607563201ULL);
    EXPECT_EQ(hash64("", 0), 15503018906515740718ULL);
    EXPECT_EQ(word_sum64("pg_unlearn: a frame's payload, 40 bytes.", 40), 5627817263185891902ULL);
}
