// SISA training of one shard (sisa.hpp): slice k is trained on slices 0..k,
// resuming from checkpoint k-1. Forgetting a row of slice s and resuming
// from checkpoint s-1 must give exactly what training the remaining rows from
// scratch gives; checkpoints carry a digest of the keys they saw; training
// order never depends on the order rows arrive in; and the aggregate of the
// constituents is their mean probability or their vote share.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <tuple>

#include "lineage.hpp"
#include "logistic.hpp"
#include "mlp.hpp"
#include "sisa.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

namespace {

constexpr int kFeatures = 3, kClasses = 3, kSlices = 4;
constexpr int64_t kSeed = 7;
constexpr uint64_t kShardStream = 3;

// Rows as they come from the table, unsorted: keys, features, classes.
struct Table {
    std::vector<std::string> keys;
    RowMatrix x;
    std::vector<int> y;
};

Table make_table(int rows, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> n01(0.0, 1.0);
    Table t{{}, RowMatrix(rows, kFeatures), {}};
    for (int i = 0; i < rows; ++i) {
        const int c = static_cast<int>(rng() % kClasses);
        t.keys.push_back("row-" + std::to_string(i * 37 + 5));
        t.y.push_back(c);
        for (int j = 0; j < kFeatures; ++j) t.x(i, j) = (c == j ? 1.0 : 0.0) + 5.0 * j + n01(rng);
    }
    return t;
}

// The shard's rows as src/pg gathers them, less the keys in `without`.
ShardRows shard_rows(const Table &t, const std::vector<std::string> &without = {}, bool sort = true) {
    std::vector<Eigen::Index> kept;
    ShardRows r;
    for (size_t i = 0; i < t.keys.size(); ++i) {
        if (std::find(without.begin(), without.end(), t.keys[i]) != without.end()) continue;
        kept.push_back(static_cast<Eigen::Index>(i));
        r.y.push_back(t.y[i]);
        r.slice.push_back(slice_of(t.keys[i], kSlices, kSeed));
        r.hash.push_back(key_hash(t.keys[i]));
        r.keys.push_back(t.keys[i]);
    }
    r.x = take_rows(t.x, kept);
    if (sort) r.sort_canonical();
    return r;
}

// Keys of table rows in `slice`, the first `count` of them in table order.
std::vector<std::string> keys_in_slice(const Table &t, int32_t slice, size_t count) {
    std::vector<std::string> out;
    for (const std::string &k : t.keys)
        if (out.size() < count && slice_of(k, kSlices, kSeed) == slice) out.push_back(k);
    return out;
}

// The rows of slices 0..k of the table, less `without`, in table order.
void rows_up_to(const Table &t, int32_t k, const std::vector<std::string> &without, RowMatrix *x, std::vector<int> *y) {
    std::vector<Eigen::Index> idx;
    y->clear();
    for (size_t i = 0; i < t.keys.size(); ++i)
        if (slice_of(t.keys[i], kSlices, kSeed) <= k &&
            std::find(without.begin(), without.end(), t.keys[i]) == without.end()) {
            idx.push_back(static_cast<Eigen::Index>(i));
            y->push_back(t.y[i]);
        }
    *x = take_rows(t.x, idx);
}

MlpOptions mlp_options() {
    MlpOptions o;
    o.hidden = 8;
    o.layers = 2;
    o.epochs = 3;
    o.batch_size = 32;
    o.seed = 99;
    return o;
}

Vector params(const Checkpoint &c) { return c.model ? c.model->parameters() : Vector(); }

}  // namespace

TEST(Sisa, SliceAssignmentIsStableAndBalanced) {
    std::vector<int> count(kSlices, 0);
    int moved = 0;
    for (int i = 0; i < 4000; ++i) {
        const std::string key = std::to_string(i);
        const int32_t s = slice_of(key, kSlices, kSeed);
        ASSERT_GE(s, 0);
        ASSERT_LT(s, kSlices);
        EXPECT_EQ(s, slice_of(key, kSlices, kSeed));
        ++count[static_cast<size_t>(s)];
        moved += s != slice_of(key, kSlices, kSeed + 1);
        EXPECT_EQ(slice_of(key, 1, kSeed), 0);
    }
    for (int c : count) EXPECT_NEAR(c, 1000, 150);
    EXPECT_GT(moved, 2000) << "another seed should deal the keys afresh";
}

TEST(Sisa, CanonicalOrderAndPrefixes) {
    Table t = make_table(300, 1u);
    ShardRows r = shard_rows(t);
    for (size_t i = 1; i < r.y.size(); ++i)
        ASSERT_LT(std::tie(r.slice[i - 1], r.hash[i - 1], r.keys[i - 1]), std::tie(r.slice[i], r.hash[i], r.keys[i]));
    // rows travel with their keys
    for (size_t i = 0; i < r.keys.size(); ++i) {
        const size_t from = static_cast<size_t>(std::find(t.keys.begin(), t.keys.end(), r.keys[i]) - t.keys.begin());
        EXPECT_EQ(r.y[i], t.y[from]);
        EXPECT_TRUE(r.x.row(static_cast<Eigen::Index>(i)) == t.x.row(static_cast<Eigen::Index>(from)));
        EXPECT_EQ(r.hash[i], key_hash(r.keys[i]));
    }
    EXPECT_EQ(r.prefix(-1), 0);
    for (int32_t k = 0; k < kSlices; ++k) {
        Eigen::Index expect = 0;
        for (const std::string &key : t.keys) expect += slice_of(key, kSlices, kSeed) <= k;
        EXPECT_EQ(r.prefix(k), expect) << "slice " << k;
    }
    EXPECT_EQ(r.prefix(kSlices - 1), 300);
}

TEST(Sisa, InputOrderDoesNotMatter) {
    Table t = make_table(240, 2u);
    Table shuffled = t;
    std::vector<Eigen::Index> perm(240);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), std::mt19937(4));
    shuffled.x = take_rows(t.x, perm);
    for (size_t i = 0; i < perm.size(); ++i) {
        shuffled.keys[i] = t.keys[static_cast<size_t>(perm[i])];
        shuffled.y[i] = t.y[static_cast<size_t>(perm[i])];
    }
    ShardRows a = shard_rows(t), b = shard_rows(shuffled);
    EXPECT_TRUE(a.x == b.x);
    EXPECT_EQ(a.y, b.y);
    EXPECT_EQ(a.slice, b.slice);
    EXPECT_EQ(a.hash, b.hash);
    EXPECT_EQ(a.keys, b.keys);
    MlpLearner learner(kFeatures, kClasses, mlp_options());
    auto ca = train_slices(learner, a, kSlices, 0, nullptr, kShardStream);
    auto cb = train_slices(learner, b, kSlices, 0, nullptr, kShardStream);
    ASSERT_EQ(ca.size(), cb.size());
    for (size_t k = 0; k < ca.size(); ++k) {
        EXPECT_TRUE(params(ca[k]) == params(cb[k])) << "checkpoint " << k;
        EXPECT_EQ(ca[k].digest, cb[k].digest);
    }
    // without the canonical sort the heap order would leak into the model
    ShardRows unsorted = shard_rows(shuffled, {}, false);
    ShardRows by_slice = unsorted;  // grouped by slice only, heap order within
    std::vector<Eigen::Index> order(unsorted.y.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](Eigen::Index i, Eigen::Index j) {
        return unsorted.slice[static_cast<size_t>(i)] < unsorted.slice[static_cast<size_t>(j)];
    });
    by_slice.x = take_rows(unsorted.x, order);
    for (size_t i = 0; i < order.size(); ++i) {
        by_slice.y[i] = unsorted.y[static_cast<size_t>(order[i])];
        by_slice.slice[i] = unsorted.slice[static_cast<size_t>(order[i])];
    }
    auto cc = train_slices(learner, by_slice, kSlices, 0, nullptr, kShardStream);
    EXPECT_FALSE(params(cc.back()) == params(ca.back())) << "the order of rows should matter to Adam";
}

TEST(Sisa, DigestsAreOfTheSortedHashesOfEachPrefix) {
    Table t = make_table(200, 3u);
    LogisticLearner learner(kFeatures, kClasses, LogisticOptions{});
    const std::vector<std::string> gone = keys_in_slice(t, 2, 1);
    ASSERT_EQ(gone.size(), 1u);
    auto before = train_slices(learner, shard_rows(t), kSlices, 0, nullptr, kShardStream);
    auto after = train_slices(learner, shard_rows(t, gone), kSlices, 0, nullptr, kShardStream);
    ASSERT_EQ(before.size(), static_cast<size_t>(kSlices));
    ASSERT_EQ(after.size(), static_cast<size_t>(kSlices));
    for (int32_t k = 0; k < kSlices; ++k) {
        for (const auto *run : {&before, &after}) {
            const bool deleted = run == &after;
            std::vector<std::pair<int32_t, uint64_t>> seen;
            for (const std::string &key : t.keys) {
                const int32_t s = slice_of(key, kSlices, kSeed);
                if (s <= k && !(deleted && key == gone[0])) seen.emplace_back(s, key_hash(key));
            }
            std::sort(seen.begin(), seen.end());
            std::vector<uint64_t> hashes;
            for (const auto &sh : seen) hashes.push_back(sh.second);
            const Checkpoint &c = (*run)[static_cast<size_t>(k)];
            EXPECT_EQ(c.slice, k);
            EXPECT_EQ(c.rows, static_cast<int64_t>(hashes.size()));
            EXPECT_EQ(c.digest, digest_keys(hashes, hashes.size())) << "slice " << k << (deleted ? ", after" : "");
        }
        if (k < 2) EXPECT_EQ(before[static_cast<size_t>(k)].digest, after[static_cast<size_t>(k)].digest) << k;
        else EXPECT_NE(before[static_cast<size_t>(k)].digest, after[static_cast<size_t>(k)].digest) << k;
    }
    // the digest depends on the order and on the count, not just the set
    std::vector<uint64_t> h{1, 2, 3};
    EXPECT_NE(digest_keys(h, 3), digest_keys({2, 1, 3}, 3));
    EXPECT_NE(digest_keys(h, 2), digest_keys(h, 3));
}

TEST(Sisa, MlpResumedAfterForgettingIsBitIdenticalToRetraining) {
    Table t = make_table(400, 5u);
    MlpLearner learner(kFeatures, kClasses, mlp_options());
    const std::vector<std::string> gone = keys_in_slice(t, 2, 6);
    ASSERT_EQ(gone.size(), 6u);
    auto full = train_slices(learner, shard_rows(t), kSlices, 0, nullptr, kShardStream);
    const ShardRows rest = shard_rows(t, gone);
    auto resumed = train_slices(learner, rest, kSlices, 2, &full[1], kShardStream);
    auto fresh = train_slices(learner, rest, kSlices, 0, nullptr, kShardStream);
    ASSERT_EQ(resumed.size(), 2u);
    ASSERT_EQ(fresh.size(), 4u);
    for (size_t k = 0; k < 2; ++k) {
        EXPECT_TRUE(params(fresh[k]) == params(full[k])) << "checkpoint " << k << " never saw the rows";
        const Checkpoint &r = resumed[k], &f = fresh[k + 2];
        EXPECT_EQ(r.slice, f.slice);
        EXPECT_EQ(r.rows, f.rows);
        EXPECT_EQ(r.digest, f.digest);
        EXPECT_TRUE(params(r) == params(f)) << "checkpoint " << k + 2;
    }
    EXPECT_EQ(fresh.back().rows, 400 - 6);
    EXPECT_FALSE(params(full.back()) == params(fresh.back())) << "forgetting should change the model";
}

// With the default stopping rule, each slice's fit stops when its own loss
// stops improving: the decision depends on the fit's rows, resume point and
// stream only, so resuming from the checkpoint before the forgotten row's
// slice still equals training the remaining rows from scratch.
TEST(Sisa, MlpStoppingAtConvergenceResumesBitIdentically) {
    Table t = make_table(400, 8u);
    MlpOptions o;  // epochs 200, tol 1e-4, n_iter_no_change 10
    o.hidden = 8;
    o.batch_size = 16;
    o.learning_rate = 1e-2;
    MlpOptions capped = o;
    capped.n_iter_no_change = 10000;
    const ShardRows all = shard_rows(t);
    auto stopped = train_slices(MlpLearner(kFeatures, kClasses, o), all, kSlices, 0, nullptr, kShardStream);
    auto bound = train_slices(MlpLearner(kFeatures, kClasses, capped), all, kSlices, 0, nullptr, kShardStream);
    // slices 2 and 3, resuming from a network that has learnt most of it,
    // stop before their bound (67 and 50 epochs)
    for (size_t k = 2; k < 4; ++k)
        EXPECT_FALSE(params(stopped[k]) == params(bound[k])) << "slice " << k << " should stop before its bound";
    MlpLearner learner(kFeatures, kClasses, o);
    const std::vector<std::string> gone = keys_in_slice(t, 1, 3);
    const ShardRows rest = shard_rows(t, gone);
    auto resumed = train_slices(learner, rest, kSlices, 1, &stopped[0], kShardStream);
    auto fresh = train_slices(learner, rest, kSlices, 0, nullptr, kShardStream);
    ASSERT_EQ(resumed.size(), 3u);
    EXPECT_TRUE(params(fresh[0]) == params(stopped[0]));
    for (size_t k = 0; k < resumed.size(); ++k)
        EXPECT_TRUE(params(resumed[k]) == params(fresh[k + 1])) << "checkpoint " << k + 1;
}

TEST(Sisa, LogisticResumedAfterForgettingIsTheFitOfTheRemainingRows) {
    Table t = make_table(400, 6u);
    LogisticOptions o;
    o.l2 = 0.5;
    LogisticLearner learner(kFeatures, kClasses, o);
    const std::vector<std::string> gone = keys_in_slice(t, 2, 6);
    auto full = train_slices(learner, shard_rows(t), kSlices, 0, nullptr, kShardStream);
    const ShardRows rest = shard_rows(t, gone);
    auto resumed = train_slices(learner, rest, kSlices, 2, &full[1], kShardStream);
    auto fresh = train_slices(learner, rest, kSlices, 0, nullptr, kShardStream);
    ASSERT_EQ(resumed.size(), 2u);
    for (size_t k = 0; k < 2; ++k) {
        Vector r = params(resumed[k]), f = params(fresh[k + 2]);
        ASSERT_EQ(r.size(), f.size());
        for (Eigen::Index j = 0; j < r.size(); ++j) EXPECT_NEAR(r(j), f(j), 1e-8) << "checkpoint " << k + 2;
        EXPECT_EQ(resumed[k].digest, fresh[k + 2].digest);
    }
    // each checkpoint is the fit of the rows in its slices and before (the
    // optimum is unique: no order, no warm start can show)
    for (int32_t k = 0; k < kSlices; ++k) {
        RowMatrix x;
        std::vector<int> y;
        rows_up_to(t, k, gone, &x, &y);
        Vector ref = LogisticConstituent(fit_logistic(x, y, kClasses, o)).parameters();
        Vector got = params(fresh[static_cast<size_t>(k)]);
        ASSERT_EQ(got.size(), ref.size());
        for (Eigen::Index j = 0; j < ref.size(); ++j) EXPECT_NEAR(got(j), ref(j), 1e-8) << "slice " << k;
    }
}

TEST(Sisa, EmptyLeadingSliceHasNoModelAndResumesFromNothing) {
    Table t = make_table(200, 7u);
    const std::vector<std::string> slice0 = keys_in_slice(t, 0, 1000);
    MlpLearner learner(kFeatures, kClasses, mlp_options());
    auto full = train_slices(learner, shard_rows(t, slice0), kSlices, 0, nullptr, kShardStream);
    EXPECT_EQ(full[0].rows, 0);
    EXPECT_EQ(full[0].model, nullptr);
    EXPECT_EQ(full[0].digest, digest_keys({}, 0));
    ASSERT_NE(full[1].model, nullptr);
    std::vector<std::string> gone = slice0;
    gone.push_back(keys_in_slice(t, 1, 1)[0]);
    const ShardRows rest = shard_rows(t, gone);
    auto resumed = train_slices(learner, rest, kSlices, 1, &full[0], kShardStream);
    auto fresh = train_slices(learner, rest, kSlices, 0, nullptr, kShardStream);
    ASSERT_EQ(resumed.size(), 3u);
    for (size_t k = 0; k < 3; ++k) EXPECT_TRUE(params(resumed[k]) == params(fresh[k + 1])) << "checkpoint " << k + 1;
}

TEST(Sisa, ResumingNeedsTheCheckpointBefore) {
    Table t = make_table(50, 8u);
    LogisticLearner learner(kFeatures, kClasses, LogisticOptions{});
    const ShardRows r = shard_rows(t);
    EXPECT_TRUE(throws_kind(ErrorKind::Internal, [&] { train_slices(learner, r, kSlices, 2, nullptr, 0); }));
    EXPECT_TRUE(throws_kind(ErrorKind::Internal, [&] { train_slices(learner, r, kSlices, kSlices, nullptr, 0); }));
    EXPECT_TRUE(throws_kind(ErrorKind::Internal, [&] { train_slices(learner, r, kSlices, -1, nullptr, 0); }));
}

// ---------------------------------------------------------------------------
// aggregate

namespace {

// A constituent with hand-set parameters over `classes` classes.
ConstituentPtr logistic(std::vector<int> present, Eigen::MatrixXd coef, Vector intercept, int classes) {
    LogisticParams m;
    m.present = std::move(present);
    m.coef = std::move(coef);
    m.intercept = std::move(intercept);
    m.classes = classes;
    m.rows = 10;
    return std::make_shared<LogisticConstituent>(std::move(m));
}

// The same probabilities, written out.
Matrix softmax3(const Eigen::MatrixXd &coef, const Vector &b, const RowMatrix &x) {
    Matrix out(x.rows(), 3);
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
        double z[3], total = 0;
        for (int c = 0; c < 3; ++c) total += z[c] = std::exp(coef(c, 0) * x(i, 0) + coef(c, 1) * x(i, 1) + b(c));
        for (int c = 0; c < 3; ++c) out(i, c) = z[c] / total;
    }
    return out;
}
Matrix sigmoid_of_0_and_2(const Eigen::MatrixXd &coef, const Vector &b, const RowMatrix &x) {
    Matrix out = Matrix::Zero(x.rows(), 3);
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
        out(i, 2) = 1.0 / (1.0 + std::exp(-(coef(0, 0) * x(i, 0) + coef(0, 1) * x(i, 1) + b(0))));
        out(i, 0) = 1.0 - out(i, 2);
    }
    return out;
}

struct Members {
    RowMatrix x;
    std::vector<ConstituentPtr> members;
    std::vector<Matrix> proba;  // computed here
};

Members three_members() {
    Members m;
    m.x = RowMatrix(7, 2);
    m.x << 0, 0, 1, -1, -2, 0.5, 3, 3, -1, -4, 0.25, 2, 5, -5;
    Eigen::MatrixXd c1(3, 2), c3(3, 2), c2(1, 2);
    c1 << 1.0, -0.5, -0.3, 0.8, -0.7, -0.3;
    c3 << -0.2, 0.4, 0.9, -0.1, -0.7, -0.3;
    c2 << 0.6, 1.1;
    Vector b1(3), b3(3), b2(1);
    b1 << 0.1, -0.2, 0.1;
    b3 << -0.5, 0.25, 0.25;
    b2 << -0.4;
    m.members = {logistic({0, 1, 2}, c1, b1, 3), logistic({0, 2}, c2, b2, 3), logistic({0, 1, 2}, c3, b3, 3)};
    m.proba = {softmax3(c1, b1, m.x), sigmoid_of_0_and_2(c2, b2, m.x), softmax3(c3, b3, m.x)};
    return m;
}

}  // namespace

TEST(SisaAggregate, MeanOfProbabilities) {
    Members m = three_members();
    for (size_t i = 0; i < m.members.size(); ++i)
        EXPECT_LT((m.members[i]->proba(m.x) - m.proba[i]).cwiseAbs().maxCoeff(), 1e-15) << "member " << i;
    Matrix two = aggregate({m.members[0], m.members[1]}, m.x, 3, false);
    EXPECT_LT((two - (m.proba[0] + m.proba[1]) / 2.0).cwiseAbs().maxCoeff(), 1e-15);
    Matrix all = aggregate(m.members, m.x, 3, false);
    EXPECT_LT((all - (m.proba[0] + m.proba[1] + m.proba[2]) / 3.0).cwiseAbs().maxCoeff(), 1e-15);
    for (Eigen::Index i = 0; i < all.rows(); ++i) EXPECT_NEAR(all.row(i).sum(), 1.0, 1e-15);
}

TEST(SisaAggregate, VoteIsTheShareOfTopClasses) {
    Members m = three_members();
    Matrix got = aggregate(m.members, m.x, 3, true);
    ASSERT_EQ(got.rows(), m.x.rows());
    int disagreements = 0;
    for (Eigen::Index i = 0; i < m.x.rows(); ++i) {
        int votes[3] = {0, 0, 0};
        for (const Matrix &p : m.proba) {
            int top = 0;
            for (int c = 1; c < 3; ++c)
                if (p(i, c) > p(i, top)) top = c;
            ++votes[top];
        }
        disagreements += std::max({votes[0], votes[1], votes[2]}) < 3;
        for (int c = 0; c < 3; ++c) EXPECT_EQ(got(i, c), votes[c] / 3.0) << "row " << i << ", class " << c;
    }
    EXPECT_GT(disagreements, 0) << "the rows should include a split vote";
}

TEST(SisaAggregate, MembersWithoutRowsAreSkipped) {
    Members m = three_members();
    Matrix pair = aggregate({m.members[0], m.members[2]}, m.x, 3, false);
    auto empty_mlp = std::make_shared<MlpConstituent>(MlpParams{});  // a constituent that saw no row
    EXPECT_TRUE(aggregate({nullptr, m.members[0], nullptr, m.members[2]}, m.x, 3, false) == pair);
    EXPECT_TRUE(aggregate({m.members[0], empty_mlp, m.members[2]}, m.x, 3, false) == pair);
    EXPECT_TRUE(aggregate({nullptr, m.members[0], m.members[2]}, m.x, 3, true) ==
                aggregate({m.members[0], m.members[2]}, m.x, 3, true));
}

TEST(SisaAggregate, NoMemberWithRowsIsADataException) {
    const RowMatrix x = RowMatrix::Zero(2, 2);
    for (bool vote : {false, true}) {
        EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { aggregate({nullptr, nullptr}, x, 3, vote); }));
        EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { aggregate({}, x, 3, vote); }));
        EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] {
            aggregate({nullptr, std::make_shared<MlpConstituent>(MlpParams{})}, x, 3, vote);
        }));
    }
}
