// Forgetting must leave the state a retrain builds, bit for bit: random
// sequences of learning and forgetting (outliers up to 1e100, tiny and
// subnormal values, rows in blocks of any size, any order) against a fresh
// state trained on the rows left, compared as serialised bytes and as fitted
// parameters with ==. Also the exact sum itself: order independence, correct
// rounding, canonical storage.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "bytes.hpp"
#include "exact_sum.hpp"
#include "grid_block.hpp"
#include "model.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

namespace {

using Bytes = std::vector<uint8_t>;

// Bitwise equality of doubles: == would call -0 and 0 equal.
bool same_bits(const Vector &a, const Vector &b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<size_t>(a.size())) == 0;
}

// Magnitudes the issue names, and the extremes of the accepted range.
double wild(std::mt19937_64 &rng) {
    static const double scales[] = {1.0, 1e-3, 1e6, 1e9, 1e12, 1e20, 1e100, 1e-300, 5e-324, 3.0};
    std::normal_distribution<double> n01(0.0, 1.0);
    const double s = scales[rng() % 10];
    return s == 5e-324 ? s * static_cast<double>(rng() % 7) : s * n01(rng);
}

// rows: ordinary ones (offset 50, unit spread) with every `every`-th row wild
Data mixed_rows(int rows, int features, int every, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n01(0.0, 1.0);
    Data d{RowMatrix(rows, features), Vector(rows)};
    for (int i = 0; i < rows; ++i) {
        double y = 2.0;
        for (int j = 0; j < features; ++j) {
            d.x(i, j) = i % every == every - 1 ? wild(rng) : 50.0 + n01(rng);
            y += (j + 1.5) * d.x(i, j);
        }
        d.y(i) = i % every == every - 1 && rng() % 2 ? wild(rng) : y + n01(rng);
    }
    return d;
}

// The rows as blocks of random sizes, in a random order.
template <class F>
void in_random_blocks(const std::vector<Eigen::Index> &rows, std::mt19937_64 &rng, F &&add) {
    std::vector<Eigen::Index> order = rows;
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t at = 0; at < order.size();) {
        const size_t len = std::min<size_t>(order.size() - at, 1 + rng() % 1500);
        add(std::vector<Eigen::Index>(order.begin() + static_cast<std::ptrdiff_t>(at),
                                      order.begin() + static_cast<std::ptrdiff_t>(at + len)));
        at += len;
    }
}

// Learns every row, forgets a random subset, relearns some of it, forgets
// again; returns the state and the rows it holds.
ShardState churned(Algorithm a, const Data &d, uint64_t seed, std::vector<Eigen::Index> *held) {
    std::mt19937_64 rng(seed);
    const auto n = d.x.rows();
    ShardState s = empty_state(a, static_cast<int>(d.x.cols()));
    auto apply = [&](const std::vector<Eigen::Index> &rows, int sign) {
        in_random_blocks(rows, rng, [&](const std::vector<Eigen::Index> &b) {
            summation(s).add_rows(take_rows(d.x, b), take_rows(d.y, b), sign);
        });
    };
    std::vector<Eigen::Index> all(static_cast<size_t>(n));
    for (Eigen::Index i = 0; i < n; ++i) all[static_cast<size_t>(i)] = i;
    apply(all, +1);
    std::vector<char> in(static_cast<size_t>(n), 1);
    for (int round = 0; round < 3; ++round) {
        std::vector<Eigen::Index> gone, back;
        for (Eigen::Index i = 0; i < n; ++i) {
            if (in[static_cast<size_t>(i)] && rng() % 3 == 0) gone.push_back(i);
            else if (!in[static_cast<size_t>(i)] && rng() % 2 == 0) back.push_back(i);
        }
        apply(gone, -1);
        apply(back, +1);
        for (auto i : gone) in[static_cast<size_t>(i)] = 0;
        for (auto i : back) in[static_cast<size_t>(i)] = 1;
    }
    held->clear();
    for (Eigen::Index i = 0; i < n; ++i)
        if (in[static_cast<size_t>(i)]) held->push_back(i);
    return s;
}

ShardState retrained(Algorithm a, const Data &d, const std::vector<Eigen::Index> &rows) {
    ShardState s = empty_state(a, static_cast<int>(d.x.cols()));
    summation(s).add_rows(take_rows(d.x, rows), take_rows(d.y, rows), +1);
    return s;
}

Options options_of(Algorithm a) { return parse_options(a, a == Algorithm::Ridge ? std::map<std::string, double>{{"l2", 2.5}} : std::map<std::string, double>{}); }

void expect_same_fit(Algorithm a, const ShardState &got, const ShardState &want, const std::string &what) {
    const Options o = options_of(a);
    try {
        const Vector w = fit_model(a, o, {want}).parameters();
        const Vector g = fit_model(a, o, {got}).parameters();
        EXPECT_TRUE(same_bits(g, w)) << what << ": parameters differ from the retrain's";
    } catch (const Error &e) {
        // a retrain that cannot fit (singular, say) must fail the same way
        EXPECT_TRUE(throws_kind(e.kind(), [&] { fit_model(a, o, {got}); })) << what << ": " << e.what();
    }
}

}  // namespace

TEST(ExactSum, OrderOfAddsAndSubtractsDoesNotMatter) {
    std::mt19937_64 rng(101);
    std::vector<double> v(3000);
    for (auto &x : v) x = wild(rng);
    ExactSum forward, churn;
    for (double x : v) forward.add(x);
    std::vector<double> shuffled = v;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    for (double x : shuffled) {
        churn.add(x);
        churn.add_product(x, 3.0);  // noise that is taken out again below
    }
    for (double x : v) churn.add_product(x, -3.0);
    EXPECT_EQ(churn, forward);
    EXPECT_EQ(bytes_of(churn), bytes_of(forward));
    // and everything out: exactly zero, stored as zero
    for (double x : v) churn.add(x, -1);
    EXPECT_TRUE(churn.is_zero());
    EXPECT_EQ(bytes_of(churn), bytes_of(ExactSum()));
    EXPECT_EQ(churn.value(), 0.0);
}

TEST(ExactSum, RoundsOnceToNearestEven) {
    ExactSum s;
    s.add(1e100);
    s.add(1.0);
    s.add(-1e100);
    EXPECT_EQ(s.value(), 1.0);  // plain doubles give 0
    ExactSum tie;               // 2^53 + 1 is halfway: to even, 2^53
    tie.add(9007199254740992.0);
    tie.add(1.0);
    EXPECT_EQ(tie.value(), 9007199254740992.0);
    tie.add(2.0);  // 2^53 + 3: halfway again, to even 2^53 + 4
    EXPECT_EQ(tie.value(), 9007199254740996.0);
    ExactSum above;  // 2^53 + 1 + 2^-100: above halfway, up
    above.add(9007199254740992.0);
    above.add(1.0);
    above.add(std::ldexp(1.0, -100));
    EXPECT_EQ(above.value(), 9007199254740994.0);
    ExactSum neg;  // -(2^53 + 1) - 2^-100
    neg.add(-9007199254740992.0);
    neg.add(-1.0);
    neg.add(-std::ldexp(1.0, -100));
    EXPECT_EQ(neg.value(), -9007199254740994.0);
    ExactSum tiny;  // products below the double range: exact, then rounded to 0
    tiny.add_product(5e-324, 5e-324);
    EXPECT_FALSE(tiny.is_zero());
    EXPECT_EQ(tiny.value(), 0.0);
    tiny.add_product(5e-324, -5e-324);
    EXPECT_TRUE(tiny.is_zero());
    ExactSum big;  // a product of two 1e100s, and 2^43 of them
    big.add_product(1e100, 1e100);
    EXPECT_EQ(big.value(), 1e100 * 1e100);
    ExactSum many;
    many.add_product(big, int64_t{1} << 43);
    EXPECT_EQ(many.value(), std::ldexp(1e200, 43));
}

TEST(ExactSum, BigProductsAreExact) {
    // (a + b)(a - b) = a^2 - b^2 with a = 1e20 + 1 (not a double) and b = 3
    ExactSum a, b, lhs, rhs;
    a.add(1e20);
    a.add(1.0);
    b.add(3.0);
    ExactSum sum = a, diff = a;
    sum.add(b);
    diff.add(b, -1);
    lhs.add_product(sum, diff);
    rhs.add_product(a, a);
    rhs.add_product(b, b, -1);
    EXPECT_EQ(lhs, rhs);
    ExactSum n;  // n * a, n up to 2^62
    n.add_product(a, int64_t{1} << 62);
    ExactSum want;
    want.add_product(1e20, std::ldexp(1.0, 62));
    want.add_product(1.0, std::ldexp(1.0, 62));
    EXPECT_EQ(n, want);
}

TEST(ExactSum, StoredFormIsCanonicalAndRoundTrips) {
    std::mt19937_64 rng(102);
    for (int t = 0; t < 200; ++t) {
        ExactSum s;
        for (int k = 0, m = static_cast<int>(rng() % 20); k < m; ++k) s.add_product(wild(rng), wild(rng));
        const Bytes b = bytes_of(s);
        ByteReader r(b.data(), b.size());
        const ExactSum back = ExactSum::decode(r);
        EXPECT_EQ(r.remaining(), 0u);
        EXPECT_EQ(back, s);
        EXPECT_EQ(bytes_of(back), b);
        EXPECT_EQ(back.value(), s.value());
    }
}

// The cases: 100 ordinary rows and one row with x = y = M; forgetting
// it must give the retrain's state and model exactly, and the model must be
// the least-squares fit of the 100 rows (0.4: verify failed at 1e6, slope
// 5.414 for 5.402 at 1e9, singular from 1e12 on, ridge 166.7 for 54.1 at 1e20).
TEST(ExactState, ForgettingAnOutlierRowGivesTheRetrain) {
    for (double big : {1e6, 1e9, 1e12, 1e20, 1e100}) {
        std::mt19937_64 rng(103);
        std::normal_distribution<double> n01(0.0, 1.0);
        Data d{RowMatrix(101, 2), Vector(101)};
        for (int i = 0; i < 100; ++i) {
            d.x(i, 0) = 10.0 + 3.0 * n01(rng);
            d.x(i, 1) = -4.0 + n01(rng);
            d.y(i) = 5.4 * d.x(i, 0) - 2.0 * d.x(i, 1) + 7.0 + n01(rng);
        }
        d.x.row(100).setConstant(big);
        d.y(100) = big;
        std::vector<Eigen::Index> ordinary(100);
        for (int i = 0; i < 100; ++i) ordinary[static_cast<size_t>(i)] = i;
        Data labelled = d;  // naive Bayes: two classes, the outlier in class 1 or alone in a class of its own
        for (int i = 0; i < 100; ++i) labelled.y(i) = i % 2;
        for (Algorithm a : {Algorithm::LinearRegression, Algorithm::Ridge, Algorithm::NaiveBayes}) {
            for (double outlier_label : {1.0, 2.0}) {
                if (a != Algorithm::NaiveBayes && outlier_label != 1.0) continue;  // 2.0: a class of its own
                Data data = a == Algorithm::NaiveBayes ? labelled : d;
                if (a == Algorithm::NaiveBayes) data.y(100) = outlier_label;
                const std::string what = std::string(algorithm_name(a)) + ", M = " + std::to_string(big);
                ShardState s = empty_state(a, 2);
                summation(s).add_rows(data.x, data.y, +1);
                summation(s).add_rows(data.x.bottomRows(1), data.y.tail(1), -1);
                ShardState want = retrained(a, data, ordinary);
                // a class forgotten whole keeps its place with no rows: the
                // retrain gets the same class list, as verify gives it
                if (auto *nb = std::get_if<NaiveBayesStats>(&want)) nb->keep_empty_classes_of(std::get<NaiveBayesStats>(s));
                EXPECT_EQ(encode_state(a, s), encode_state(a, want)) << what;
                expect_same_fit(a, s, want, what);
                if (a == Algorithm::LinearRegression) {
                    EXPECT_LT(max_rel_err(fit_model(a, Options{}, {s}).parameters(),
                                          qr_reference(data.x.topRows(100), data.y.head(100))),
                              1e-9)
                        << what;
                }
                if (a == Algorithm::Ridge) {
                    EXPECT_LT(max_rel_err(fit_model(a, options_of(a), {s}).parameters(),
                                          ridge_reference(data.x.topRows(100), data.y.head(100), 2.5)),
                              1e-9)
                        << what;
                }
            }
        }
    }
}

TEST(ExactState, RandomLearnAndForgetSequencesGiveTheRetrain) {
    for (Algorithm a : {Algorithm::LinearRegression, Algorithm::Ridge, Algorithm::NaiveBayes}) {
        for (uint64_t seed = 0; seed < 6; ++seed) {
            Data d = mixed_rows(3000, 3, seed < 3 ? 50 : 7, 200 + seed);
            if (a == Algorithm::NaiveBayes)
                for (Eigen::Index i = 0; i < d.y.size(); ++i) d.y(i) = static_cast<double>((i * 7 + seed) % 3);
            std::vector<Eigen::Index> held;
            const ShardState s = churned(a, d, 300 + seed, &held);
            const ShardState want = retrained(a, d, held);
            const std::string what = std::string(algorithm_name(a)) + ", seed " + std::to_string(seed);
            ASSERT_EQ(state_rows(s), static_cast<int64_t>(held.size())) << what;
            EXPECT_EQ(encode_state(a, s), encode_state(a, want)) << what;
            expect_same_fit(a, s, want, what);
            // shards: the same rows dealt to three states, merged by the fit
            std::vector<ShardState> shards;
            for (int k = 0; k < 3; ++k) {
                std::vector<Eigen::Index> mine;
                for (size_t i = static_cast<size_t>(k); i < held.size(); i += 3) mine.push_back(held[i]);
                shards.push_back(retrained(a, d, mine));
            }
            try {
                EXPECT_TRUE(same_bits(fit_model(a, options_of(a), shards).parameters(),
                                      fit_model(a, options_of(a), {want}).parameters()))
                    << what << ", sharded";
            } catch (const Error &) {
                EXPECT_ANY_THROW(fit_model(a, options_of(a), {want})) << what;
            }
        }
    }
}

// A change sums a statement's rows once, into a delta of their own, and
// the state takes the delta (merge_state): that must be bit for bit the
// state the rows added to it directly would make, learning and forgetting.
TEST(ExactState, RowsTakenAsADeltaGiveTheRetrain) {
    for (Algorithm a : {Algorithm::LinearRegression, Algorithm::NaiveBayes}) {
        for (uint64_t seed = 0; seed < 3; ++seed) {
            Data d = mixed_rows(2000, 3, 7, 500 + seed);
            if (a == Algorithm::NaiveBayes)
                for (Eigen::Index i = 0; i < d.y.size(); ++i) d.y(i) = static_cast<double>((i * 5 + seed) % 4);
            std::mt19937_64 rng(600 + seed);
            ShardState s = empty_state(a, 3);
            auto apply = [&](const std::vector<Eigen::Index> &rows, int sign) {
                in_random_blocks(rows, rng, [&](const std::vector<Eigen::Index> &b) {
                    ShardState delta = empty_state(a, 3);
                    summation(delta).add_rows(take_rows(d.x, b), take_rows(d.y, b), +1);
                    merge_state(s, delta, sign);
                });
            };
            std::vector<Eigen::Index> all, gone, held;
            for (Eigen::Index i = 0; i < d.x.rows(); ++i) {
                all.push_back(i);
                (rng() % 3 == 0 ? gone : held).push_back(i);
            }
            apply(all, +1);
            apply(gone, -1);
            ShardState want = retrained(a, d, held);
            if (auto *nb = std::get_if<NaiveBayesStats>(&want)) nb->keep_empty_classes_of(std::get<NaiveBayesStats>(s));
            const std::string what = std::string(algorithm_name(a)) + ", seed " + std::to_string(seed);
            EXPECT_EQ(encode_state(a, s), encode_state(a, want)) << what;
            // rows forgotten twice (more than the state holds): refused
            ShardState again = empty_state(a, 3);
            summation(again).add_rows(d.x, d.y, +1);
            EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { merge_state(s, again, -1); })) << what;
        }
    }
    // a delta that brings the classes past the limit is refused as rows that do
    NaiveBayesStats s(1), delta(1);
    RowMatrix x = RowMatrix::Zero(60, 1);
    Vector y(60);
    for (int i = 0; i < 60; ++i) y(i) = i;
    s.add_rows(x, y, +1);
    for (int i = 0; i < 60; ++i) y(i) = 100 + i;
    delta.add_rows(x, y, +1);
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { s.merge(delta, +1); }));
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { s.add_rows(x, y, +1); }));
}

TEST(ExactState, StateRoundTripsThroughItsBlob) {
    Data d = mixed_rows(500, 3, 5, 400);
    for (Algorithm a : {Algorithm::LinearRegression, Algorithm::NaiveBayes}) {
        Data data = d;
        if (a == Algorithm::NaiveBayes)
            for (Eigen::Index i = 0; i < data.y.size(); ++i) data.y(i) = static_cast<double>(i % 4);
        ShardState s = retrained(a, data, [] {
            std::vector<Eigen::Index> all(500);
            for (int i = 0; i < 500; ++i) all[static_cast<size_t>(i)] = i;
            return all;
        }());
        const Bytes blob = encode_state(a, s);
        const ShardState back = decode_state(a, 3, blob.data(), blob.size());
        EXPECT_EQ(encode_state(a, back), blob) << algorithm_name(a);
        // outliers from 1e-300 to 1e100 widen a sum to at most 137 digits
        EXPECT_LT(blob.size(), 40u + 19 * (4 + 4 * 137)) << algorithm_name(a);
    }
    // rows of one scale: a sum takes a few digits, ~30 bytes
    Data plain = make_data(5000, 3, 401);
    const Bytes blob = encode_state(Algorithm::LinearRegression, linear_stats_of(plain.x, plain.y));
    EXPECT_LT(blob.size(), 40u + 19 * 40) << blob.size();
}

TEST(ExactState, NonFiniteValuesAreRefused) {
    LinearStats s(2);
    RowMatrix x = RowMatrix::Ones(3, 2);
    x(1, 1) = NAN;
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { s.add_rows(x, Vector::Ones(3), +1); }));
    x(1, 1) = INFINITY;
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { s.add_rows(x, Vector::Ones(3), +1); }));
    EXPECT_TRUE(throws_kind(ErrorKind::DataException,
                            [&] { s.add_rows(RowMatrix::Ones(3, 2), Vector::Constant(3, -INFINITY), +1); }));
}

TEST(ExactState, VerifyNamesTheFirstStatisticThatDiffers) {
    Data d = make_data(50, 2, 500);
    std::vector<Eigen::Index> all(50);
    for (int i = 0; i < 50; ++i) all[static_cast<size_t>(i)] = i;
    const Algorithm ols = Algorithm::LinearRegression;
    const ShardState s = retrained(ols, d, all);
    EXPECT_EQ(state_difference(ols, s, retrained(ols, d, all)), "");
    EXPECT_EQ(state_difference(ols, s, retrained(ols, d, {all.begin(), all.end() - 1})), "n");
    Data moved = d;  // one row's x2 changed: Σx2 is the first sum to differ
    moved.x(7, 1) += 1.0;
    EXPECT_EQ(state_difference(ols, s, retrained(ols, moved, all)), "sum(x2)");
    moved = d;  // only y changed
    moved.y(7) += 1.0;
    EXPECT_EQ(state_difference(ols, s, retrained(ols, moved, all)), "sum(y)");
    const Algorithm nb = Algorithm::NaiveBayes;
    Data labelled = d;
    for (int i = 0; i < 50; ++i) labelled.y(i) = i % 2 ? 7.0 : -3.0;
    const ShardState c = retrained(nb, labelled, all);
    Data other = labelled;
    other.x(4, 1) *= 2.0;  // row 4 is in class -3, ranked first
    EXPECT_EQ(state_difference(nb, c, retrained(nb, other, all)), "class #1: sum(x2)");
    other = labelled;
    other.y(3) = 99.0;  // a class of its own: labels are never named
    EXPECT_EQ(state_difference(nb, c, retrained(nb, other, all)), "the set of classes");
}

// The thread's grid block is lent to one accumulation at a time, and a wide
// model's block gives its memory back when the lease ends, whatever the exit.
TEST(GridBlockLease, OneAtATimeAndTrimmedAfterAWideModel) {
    {
        GridBlockLease lease;
        EXPECT_TRUE(throws_kind(ErrorKind::Internal, [] { GridBlockLease again; }));
        std::vector<double> wide(GridBlock::kMaxRows * 400, 1.0);
        std::vector<GridBlock::Column> cols(400);
        for (size_t c = 0; c < cols.size(); ++c) cols[c] = {wide.data() + c, 400};
        lease.block().fill(GridBlock::kMaxRows, cols, 0);
        EXPECT_GT(lease.block().pieces.capacity(), size_t{1} << 20);
    }
    {
        GridBlockLease next;  // the first lease ended: lent again, its memory given back
        EXPECT_EQ(next.block().pieces.capacity(), 0u);
        std::vector<double> narrow(GridBlock::kMaxRows * 3, 1.0);
        std::vector<GridBlock::Column> cols(3);
        for (size_t c = 0; c < cols.size(); ++c) cols[c] = {narrow.data() + c, 3};
        next.block().fill(GridBlock::kMaxRows, cols, 0);
    }
    GridBlockLease last;  // a narrow model's block is kept between leases
    EXPECT_GT(last.block().pieces.capacity(), 0u);
}
