// Model state blobs: round trips are bit for bit, and untrusted bytes give
// CorruptState, never a crash or another exception.
#include <gtest/gtest.h>

#include <random>

#include "error.hpp"
#include "model.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

namespace {

ShardState trained(Algorithm a) {
    Data d = make_data(200, 3, 21, 10.0);
    if (a == Algorithm::NaiveBayes)
        for (Eigen::Index i = 0; i < d.y.size(); ++i) d.y(i) = static_cast<double>(i % 3);
    ShardState s = empty_state(a, 3, std::vector<double>(d.x.row(0).data(), d.x.row(0).data() + 3), d.y(0));
    add_rows(s, d.x, d.y, +1);
    return s;
}

// Decoding must either succeed or throw CorruptState.
void expect_rejected_or_ok(Algorithm a, const std::vector<uint8_t> &bytes) {
    try {
        (void)decode_state(a, 3, bytes.data(), bytes.size());
    } catch (const Error &e) {
        EXPECT_EQ(e.kind(), ErrorKind::CorruptState) << e.what();
    }
}

}  // namespace

class StateBlob : public ::testing::TestWithParam<Algorithm> {};

TEST_P(StateBlob, RoundTripIsBitForBit) {
    const Algorithm a = GetParam();
    Options o;
    o.l2 = 1.0;
    ShardState s = trained(a);
    std::vector<uint8_t> blob = encode_state(a, s);
    ShardState back = decode_state(a, 3, blob.data(), blob.size());
    EXPECT_EQ(encode_state(a, back), blob);
    Vector p1 = fit_model(a, o, {s}).parameters(), p2 = fit_model(a, o, {back}).parameters();
    ASSERT_EQ(p1.size(), p2.size());
    for (Eigen::Index i = 0; i < p1.size(); ++i) EXPECT_EQ(p1(i), p2(i));
}

TEST_P(StateBlob, EveryTruncationIsRejected) {
    const Algorithm a = GetParam();
    std::vector<uint8_t> blob = encode_state(a, trained(a));
    for (size_t n = 0; n < blob.size(); ++n) {
        std::vector<uint8_t> cut(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_THROW((void)decode_state(a, 3, cut.data(), cut.size()), Error) << "length " << n;
    }
}

TEST_P(StateBlob, EverySingleByteFlipIsRejected) {
    const Algorithm a = GetParam();
    std::vector<uint8_t> blob = encode_state(a, trained(a));
    for (size_t i = 0; i < blob.size(); ++i) {
        std::vector<uint8_t> bad = blob;
        bad[i] ^= 0x5a;
        EXPECT_THROW((void)decode_state(a, 3, bad.data(), bad.size()), Error) << "byte " << i;
    }
}

TEST_P(StateBlob, RandomBytesNeverCrash) {
    const Algorithm a = GetParam();
    std::mt19937_64 rng(99);
    std::vector<uint8_t> blob = encode_state(a, trained(a));
    for (int t = 0; t < 3000; ++t) {
        std::vector<uint8_t> bytes(rng() % 600);
        for (auto &b : bytes) b = static_cast<uint8_t>(rng());
        if (t % 2 && bytes.size() >= 20) std::copy(blob.begin(), blob.begin() + 20, bytes.begin());  // a valid header
        expect_rejected_or_ok(a, bytes);
    }
}

INSTANTIATE_TEST_SUITE_P(Algorithms, StateBlob,
                         ::testing::Values(Algorithm::LinearRegression, Algorithm::Ridge, Algorithm::NaiveBayes));

TEST(StateBlobLayout, WrongAlgorithmOrFeatureCountIsRejected) {
    std::vector<uint8_t> blob = encode_state(Algorithm::LinearRegression, trained(Algorithm::LinearRegression));
    EXPECT_THROW((void)decode_state(Algorithm::NaiveBayes, 3, blob.data(), blob.size()), Error);
    EXPECT_THROW((void)decode_state(Algorithm::LinearRegression, 4, blob.data(), blob.size()), Error);
}
