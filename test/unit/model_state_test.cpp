// Shard states and the fitted model (model.hpp): encode/decode round trips
// are bit for bit, blobs of another layout are refused, and fit_model over
// several shards is the fit of all their rows.
#include <gtest/gtest.h>

#include <cstring>

#include "bytes.hpp"
#include "lineage.hpp"
#include "model.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

namespace {

constexpr int kFeatures = 3;

Data data_for(Algorithm a, int rows, uint64_t seed) {
    Data d = make_data(rows, kFeatures, seed, 100.0);
    if (a == Algorithm::NaiveBayes)
        for (Eigen::Index i = 0; i < d.y.size(); ++i) d.y(i) = static_cast<double>(i % 3) - 1.0;
    return d;
}

// Rows dealt to `shards` states round-robin.
std::vector<ShardState> sharded(Algorithm a, const Data &d, int shards) {
    std::vector<ShardState> out;
    for (int s = 0; s < shards; ++s) {
        out.push_back(empty_state(a, kFeatures));
        std::vector<Eigen::Index> mine;
        for (Eigen::Index i = s; i < d.x.rows(); i += shards) mine.push_back(i);
        summation(out.back()).add_rows(take_rows(d.x, mine), take_rows(d.y, mine), +1);
    }
    return out;
}

bool same_bits(const Vector &a, const Vector &b) {
    return a.size() == b.size() &&
           std::memcmp(a.data(), b.data(), static_cast<size_t>(a.size()) * sizeof(double)) == 0;
}

Options options_for(Algorithm a) { return parse_options(a, {}); }

}  // namespace

class ModelState : public ::testing::TestWithParam<Algorithm> {};

TEST_P(ModelState, EncodeDecodeRoundTripIsBitForBit) {
    const Algorithm a = GetParam();
    Data d = data_for(a, 700, 31);
    std::vector<ShardState> shards = sharded(a, d, 3);
    // forgetting leaves non-trivial low words in the double-double sums
    summation(shards[1]).add_rows(d.x.middleRows(10, 40), d.y.segment(10, 40), +1);
    summation(shards[1]).add_rows(d.x.middleRows(10, 40), d.y.segment(10, 40), -1);

    std::vector<ShardState> back;
    for (const ShardState &s : shards) {
        std::vector<uint8_t> blob = encode_state(a, s);
        back.push_back(decode_state(a, kFeatures, blob.data(), blob.size()));
        EXPECT_EQ(encode_state(a, back.back()), blob);
        EXPECT_EQ(state_rows(back.back()), state_rows(s));
    }
    const Options o = options_for(a);
    FittedModel m1 = fit_model(a, o, shards), m2 = fit_model(a, o, back);
    EXPECT_TRUE(same_bits(m1.parameters(), m2.parameters()));
    EXPECT_EQ(m1.rows(), 700);
    EXPECT_EQ(m2.rows(), 700);
    // the decoded state keeps learning and forgetting like the original
    const std::vector<Eigen::Index> held_by_0 = {0, 3, 6, 9, 12};
    summation(shards[0]).add_rows(take_rows(d.x, held_by_0), take_rows(d.y, held_by_0), -1);
    summation(back[0]).add_rows(take_rows(d.x, held_by_0), take_rows(d.y, held_by_0), -1);
    EXPECT_EQ(encode_state(a, back[0]), encode_state(a, shards[0]));
}

TEST_P(ModelState, FitOverShardsIsTheFitOfAllRows) {
    const Algorithm a = GetParam();
    Data d = data_for(a, 900, 32);
    const Options o = options_for(a);
    FittedModel whole = fit_model(a, o, sharded(a, d, 1));
    for (int shards : {2, 3, 7}) {
        FittedModel m = fit_model(a, o, sharded(a, d, shards));
        EXPECT_EQ(m.algorithm, a);
        EXPECT_EQ(m.rows(), 900);
        EXPECT_LT(max_rel_err(m.parameters(), whole.parameters()), 1e-12) << shards << " shards";
    }
}

INSTANTIATE_TEST_SUITE_P(Algorithms, ModelState,
                         ::testing::Values(Algorithm::LinearRegression, Algorithm::Ridge, Algorithm::NaiveBayes),
                         [](const ::testing::TestParamInfo<Algorithm> &i) { return std::string(algorithm_name(i.param)); });

TEST(ModelFit, LinearModelsMatchIndependentSolves) {
    Data d = data_for(Algorithm::LinearRegression, 600, 33);
    FittedModel ols = fit_model(Algorithm::LinearRegression, Options{}, sharded(Algorithm::LinearRegression, d, 3));
    EXPECT_LT(max_rel_err(ols.parameters(), qr_reference(d.x, d.y)), 1e-9);  // coef..., intercept last

    Options o = parse_options(Algorithm::Ridge, {{"l2", 30.0}});
    FittedModel ridge = fit_model(Algorithm::Ridge, o, sharded(Algorithm::Ridge, d, 3));
    EXPECT_LT(max_rel_err(ridge.parameters(), ridge_reference(d.x, d.y, 30.0)), 1e-9);

    // predict is coefᵀx + intercept of the reference
    const Vector ref = qr_reference(d.x, d.y);
    for (Eigen::Index i : {0, 17, 599}) {
        const Vector x = d.x.row(i).transpose();
        const double want = ref.head(kFeatures).dot(x) + ref(kFeatures);
        EXPECT_NEAR(ols.predict(x), want, 1e-9 * std::abs(want) + 1e-9);
    }
    EXPECT_TRUE(throws_kind(ErrorKind::InvalidParameter, [&] { ols.predict_proba(d.x.row(0).transpose()); }));
}

TEST(ModelFit, ReferenceColumnsAreLeftOutOfOls) {
    Data d = data_for(Algorithm::LinearRegression, 400, 34);
    FittedModel m = fit_model(Algorithm::LinearRegression, Options{}, sharded(Algorithm::LinearRegression, d, 2), {1});
    RowMatrix without(400, 2);
    without << d.x.col(0), d.x.col(2);
    const Vector ref = qr_reference(without, d.y);
    const Vector p = m.parameters();
    EXPECT_EQ(p(1), 0.0);
    EXPECT_LT(max_rel_err((Vector(3) << p(0), p(2), p(3)).finished(), ref), 1e-9);
}

TEST(ModelFit, NaiveBayesParametersAndProbabilities) {
    Data d = data_for(Algorithm::NaiveBayes, 300, 35);
    std::vector<ShardState> shards = sharded(Algorithm::NaiveBayes, d, 3);
    FittedModel m = fit_model(Algorithm::NaiveBayes, Options{}, shards);
    const auto &nb = std::get<NaiveBayesFit>(m.fit);
    // parameters(): priors, then means and variances (column-major)
    const Vector p = m.parameters();
    ASSERT_EQ(p.size(), 3 + 2 * 3 * kFeatures);
    EXPECT_EQ(p.head(3), nb.priors);
    for (Eigen::Index j = 0; j < kFeatures; ++j)
        for (Eigen::Index c = 0; c < 3; ++c) {
            EXPECT_EQ(p(3 + j * 3 + c), nb.theta(c, j));
            EXPECT_EQ(p(3 + 9 + j * 3 + c), nb.var(c, j));
        }
    // equal class counts
    for (Eigen::Index c = 0; c < 3; ++c) EXPECT_DOUBLE_EQ(nb.priors(c), 1.0 / 3.0);
    const Vector x = d.x.row(4).transpose();
    const Vector proba = m.predict_proba(x);
    EXPECT_NEAR(proba.sum(), 1.0, 1e-12);
    Eigen::Index best;
    proba.maxCoeff(&best);
    EXPECT_EQ(m.predict(x), nb.classes[static_cast<size_t>(best)]);
}

TEST(ModelFit, InconsistentShardsAreCorruptState) {
    Data d = data_for(Algorithm::LinearRegression, 50, 36);
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [] { fit_model(Algorithm::LinearRegression, Options{}, {}); }));
    std::vector<ShardState> mixed = sharded(Algorithm::LinearRegression, d, 2);
    mixed.push_back(empty_state(Algorithm::NaiveBayes, kFeatures));
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { fit_model(Algorithm::LinearRegression, Options{}, mixed); }));
    std::vector<ShardState> narrower = sharded(Algorithm::LinearRegression, d, 2);
    narrower.push_back(empty_state(Algorithm::LinearRegression, kFeatures - 1));
    EXPECT_TRUE(
        throws_kind(ErrorKind::CorruptState, [&] { fit_model(Algorithm::LinearRegression, Options{}, narrower); }));
}

TEST(ModelFit, EmptyShardsAndForgottenModels) {
    Data d = data_for(Algorithm::Ridge, 60, 37);
    std::vector<ShardState> shards = sharded(Algorithm::Ridge, d, 3);
    shards.push_back(empty_state(Algorithm::Ridge, kFeatures));  // a shard no key hashed to
    const Options o = options_for(Algorithm::Ridge);
    EXPECT_LT(max_rel_err(fit_model(Algorithm::Ridge, o, shards).parameters(), ridge_reference(d.x, d.y, 1.0)), 1e-9);
    // every row forgotten from the shard that holds it
    for (int s = 0; s < 3; ++s) {
        std::vector<Eigen::Index> mine;
        for (Eigen::Index i = s; i < d.x.rows(); i += 3) mine.push_back(i);
        summation(shards[static_cast<size_t>(s)]).add_rows(take_rows(d.x, mine), take_rows(d.y, mine), -1);
        EXPECT_EQ(state_rows(shards[static_cast<size_t>(s)]), 0);
    }
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { fit_model(Algorithm::Ridge, o, shards); }));
}

TEST(ModelState, BlobOfAnotherLayoutIsCorruptState) {
    Data d = data_for(Algorithm::LinearRegression, 100, 38);
    const std::vector<uint8_t> ols = encode_state(Algorithm::LinearRegression, sharded(Algorithm::LinearRegression, d, 1)[0]);
    const std::vector<uint8_t> nb = encode_state(Algorithm::NaiveBayes, sharded(Algorithm::NaiveBayes, data_for(Algorithm::NaiveBayes, 100, 38), 1)[0]);
    const uint8_t *p = ols.data();
    const size_t n = ols.size();
    // another algorithm, even one with the same layout (ridge)
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { decode_state(Algorithm::Ridge, kFeatures, p, n); }));
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { decode_state(Algorithm::NaiveBayes, kFeatures, p, n); }));
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState,
                            [&] { decode_state(Algorithm::LinearRegression, kFeatures, nb.data(), nb.size()); }));
    // another feature count
    for (int features : {0, 2, 4, 1600, 1601, -1})
        EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { decode_state(Algorithm::LinearRegression, features, p, n); }))
            << features << " features";
    // a lineage block is not a state, nor a state a lineage block
    const std::vector<uint8_t> lineage = LineageBlock({make_entry("1", 0, 0, Role::Train)}).encode();
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState,
                            [&] { decode_state(Algorithm::LinearRegression, kFeatures, lineage.data(), lineage.size()); }));
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { LineageBlock::decode(p, n); }));
}

TEST(ModelState, AtMost1600Features) {
    // PostgreSQL's column limit bounds what a blob may declare
    for (int p : {1600, 1601}) {
        NaiveBayesStats st(p);
        st.add_rows(RowMatrix::Ones(1, p), Vector::Ones(1), +1);
        const std::vector<uint8_t> blob = encode_state(Algorithm::NaiveBayes, st);
        if (p <= 1600)
            EXPECT_NO_THROW(decode_state(Algorithm::NaiveBayes, p, blob.data(), blob.size()));
        else
            EXPECT_TRUE(throws_kind(ErrorKind::CorruptState,
                                    [&] { decode_state(Algorithm::NaiveBayes, p, blob.data(), blob.size()); }));
    }
}

TEST(ModelState, ZeroFeatureModelsRoundTrip) {
    // every feature forgotten (forget_feature): the state still encodes
    Data d = data_for(Algorithm::LinearRegression, 20, 39);
    ShardState s = sharded(Algorithm::LinearRegression, d, 1)[0];
    for (int j = kFeatures - 1; j >= 0; --j) summation(s).drop_feature(j);
    std::vector<uint8_t> blob = encode_state(Algorithm::LinearRegression, s);
    ShardState back = decode_state(Algorithm::LinearRegression, 0, blob.data(), blob.size());
    FittedModel m = fit_model(Algorithm::LinearRegression, Options{}, {back});
    // no features: the intercept is the mean target
    EXPECT_NEAR(m.parameters()(0), d.y.mean(), 1e-12 * std::abs(d.y.mean()));
}

// state_bytes: what a cache of decoded states counts. A summation state's
// sums and a certified state's matrices grow with the square of the width:
// at least the (p + 2)(p + 3)/2 - 1 sums' headers (linear_stats.hpp) and the
// 2 (p + 1)^2 doubles of the Hessian and Gram matrix.
TEST(StateBytes, CountsTheSumsAndMatricesOfAWideState) {
    for (int p : {3, 60}) {
        const Data d = make_data(50, p, 7, 100.0);
        ShardState lin = empty_state(Algorithm::LinearRegression, p);
        summation(lin).add_rows(d.x, d.y, +1);
        const size_t sums = static_cast<size_t>((p + 2) * (p + 3) / 2 - 1);
        EXPECT_GE(state_bytes(lin), sums * sizeof(ExactSum)) << p;
        EXPECT_GE(state_bytes(lin), encode_state(Algorithm::LinearRegression, lin).size()) << p;

        ShardState cert = CertifiedShard{ClassLabels{}, certified_empty(p + 1, 0)};
        EXPECT_GE(state_bytes(cert), 8 * 2 * static_cast<size_t>((p + 1) * (p + 1))) << p;
    }
}
