// The SISA multilayer perceptron (mlp.hpp): deterministic to the bit for the
// same rows, resume point and stream; a different stream is a different
// network; it learns what a linear model cannot; and option checks refuse
// networks out of range or too large for a backend.
#include <gtest/gtest.h>

#include <random>

#include "logistic.hpp"
#include "mlp.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

namespace {

struct Labelled {
    RowMatrix x;
    std::vector<int> y;
};

Labelled make_blobs(int rows, int features, int classes, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> n01(0.0, 1.0);
    Labelled d{RowMatrix(rows, features), {}};
    for (int i = 0; i < rows; ++i) {
        const int c = i % classes;
        d.y.push_back(c);
        for (int j = 0; j < features; ++j) d.x(i, j) = 10.0 * j + (c == j % classes ? 1.5 : 0.0) + n01(rng);
    }
    return d;
}

// XOR: the class is whether the two coordinates have the same sign. No
// hyperplane does better than chance; two features of noise besides.
Labelled make_xor(int rows, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    Labelled d{RowMatrix(rows, 4), {}};
    for (int i = 0; i < rows; ++i) {
        for (int j = 0; j < 4; ++j) d.x(i, j) = u(rng);
        d.y.push_back(d.x(i, 0) * d.x(i, 1) > 0 ? 1 : 0);
    }
    return d;
}

double accuracy(const Matrix &proba, const std::vector<int> &y) {
    int right = 0;
    for (Eigen::Index i = 0; i < proba.rows(); ++i) {
        Eigen::Index top;
        proba.row(i).maxCoeff(&top);
        right += static_cast<int>(top) == y[static_cast<size_t>(i)];
    }
    return static_cast<double>(right) / static_cast<double>(proba.rows());
}

MlpOptions small(int layers) {
    MlpOptions o;
    o.hidden = 8;
    o.layers = layers;
    o.epochs = 5;
    o.batch_size = 32;
    o.seed = 1234;
    return o;
}

const MlpParams &params_of(const ConstituentPtr &c) { return dynamic_cast<const MlpConstituent &>(*c).params(); }

}  // namespace

TEST(Mlp, SameRowsSeedAndStreamAreBitIdentical) {
    Labelled d = make_blobs(300, 3, 3, 1u);
    for (int layers : {1, 2}) {
        MlpLearner a(3, 3, small(layers)), b(3, 3, small(layers));
        ConstituentPtr first = a.fit(d.x, d.y, nullptr, 17);
        ConstituentPtr second = b.fit(d.x, d.y, nullptr, 17);
        const MlpParams &p = params_of(first), &q = params_of(second);
        ASSERT_EQ(p.w.size(), static_cast<size_t>(layers + 1));
        EXPECT_EQ(p.rows, 300);
        EXPECT_TRUE(p.mean == q.mean && p.scale == q.scale) << layers << " layers";
        for (size_t l = 0; l < p.w.size(); ++l) {
            EXPECT_TRUE(p.w[l] == q.w[l]) << layers << " layers, weights of layer " << l;
            EXPECT_TRUE(p.b[l] == q.b[l]) << layers << " layers, biases of layer " << l;
        }
        EXPECT_TRUE(first->parameters() == second->parameters()) << layers << " layers";
        EXPECT_TRUE(first->proba(d.x) == second->proba(d.x)) << layers << " layers";
        // resuming is deterministic as well
        const std::vector<int> y200(d.y.begin(), d.y.begin() + 200);
        ConstituentPtr r1 = a.fit(d.x.topRows(200), y200, first.get(), 18);
        ConstituentPtr r2 = b.fit(d.x.topRows(200), y200, second.get(), 18);
        EXPECT_TRUE(r1->parameters() == r2->parameters()) << layers << " layers, resumed";
    }
}

TEST(Mlp, LayoutIsAsConfigured) {
    Labelled d = make_blobs(60, 5, 4, 2u);
    for (int layers : {1, 2}) {
        MlpOptions o = small(layers);
        o.hidden = 7;
        ConstituentPtr c = MlpLearner(5, 4, o).fit(d.x, d.y, nullptr, 0);
        const MlpParams &p = params_of(c);
        std::vector<int> widths{5};
        for (int l = 0; l < layers; ++l) widths.push_back(7);
        widths.push_back(4);
        ASSERT_EQ(p.w.size(), widths.size() - 1);
        Eigen::Index total = 0;
        for (size_t l = 0; l + 1 < widths.size(); ++l) {
            EXPECT_EQ(p.w[l].rows(), widths[l + 1]);
            EXPECT_EQ(p.w[l].cols(), widths[l]);
            EXPECT_EQ(p.b[l].size(), widths[l + 1]);
            total += (widths[l] + 1) * widths[l + 1];
        }
        EXPECT_EQ(c->parameters().size(), total);
        // standardisation uses the rows' own mean and population spread
        for (Eigen::Index j = 0; j < 5; ++j) {
            const double mean = d.x.col(j).mean();
            const double sd = std::sqrt((d.x.col(j).array() - mean).square().mean());
            EXPECT_NEAR(p.mean(j), mean, 1e-12 * (1 + std::abs(mean)));
            EXPECT_NEAR(p.scale(j), sd, 1e-12 * sd);
        }
        Matrix pr = c->proba(d.x);
        ASSERT_EQ(pr.cols(), 4);
        for (Eigen::Index i = 0; i < pr.rows(); ++i) EXPECT_NEAR(pr.row(i).sum(), 1.0, 1e-12);
    }
}

TEST(Mlp, DifferentStreamOrSeedGivesDifferentParameters) {
    Labelled d = make_blobs(200, 3, 2, 3u);
    for (int layers : {1, 2}) {
        MlpLearner learner(3, 2, small(layers));
        Vector base = learner.fit(d.x, d.y, nullptr, 5)->parameters();
        Vector other = learner.fit(d.x, d.y, nullptr, 6)->parameters();
        ASSERT_EQ(base.size(), other.size());
        EXPECT_GT((base - other).cwiseAbs().maxCoeff(), 1e-3) << layers << " layers";
        MlpOptions o = small(layers);
        o.seed += 1;
        Vector reseeded = MlpLearner(3, 2, o).fit(d.x, d.y, nullptr, 5)->parameters();
        EXPECT_GT((base - reseeded).cwiseAbs().maxCoeff(), 1e-3) << layers << " layers";
    }
}

TEST(Mlp, LearnsXorWhereLogisticRegressionCannot) {
    Labelled d = make_xor(400, 9u);
    const double linear = accuracy(LogisticLearner(4, 2, LogisticOptions{}).fit(d.x, d.y, nullptr, 0)->proba(d.x), d.y);
    EXPECT_LT(linear, 0.70);
    for (int layers : {1, 2}) {
        MlpOptions o;
        o.hidden = 16;
        o.layers = layers;
        o.epochs = 300;
        o.batch_size = 32;
        o.learning_rate = 1e-2;
        o.seed = 3;
        const double acc = accuracy(MlpLearner(4, 2, o).fit(d.x, d.y, nullptr, 0)->proba(d.x), d.y);
        EXPECT_GT(acc, 0.90) << layers << " layers (logistic regression: " << linear << ")";
    }
}

// scikit-learn's rule: an epoch improves when its loss is below the best by
// tol; the fit stops after more than n_iter_no_change epochs in a row that do
// not. With a tol no loss can beat, only the first epoch improves, so
// n_iter_no_change = 1 stops after epoch 3: the same network as 3 epochs
// without a stop.
TEST(Mlp, StopsAfterMoreThanNIterNoChangeEpochsWithoutImprovement) {
    Labelled d = make_blobs(300, 3, 3, 4u);
    MlpOptions stop = small(1), three = small(1), four = small(1);
    stop.epochs = 200;
    stop.tol = 1e9;
    stop.n_iter_no_change = 1;
    three.epochs = 3;
    three.n_iter_no_change = 10000;
    four.epochs = 4;
    four.n_iter_no_change = 10000;
    const Vector early = MlpLearner(3, 3, stop).fit(d.x, d.y, nullptr, 5)->parameters();
    EXPECT_TRUE(early == MlpLearner(3, 3, three).fit(d.x, d.y, nullptr, 5)->parameters());
    EXPECT_FALSE(early == MlpLearner(3, 3, four).fit(d.x, d.y, nullptr, 5)->parameters());
    // the default rule stops well before the 200-epoch bound here
    MlpOptions defaults, capped;
    defaults.batch_size = capped.batch_size = 16;
    defaults.learning_rate = capped.learning_rate = 1e-2;
    capped.n_iter_no_change = 10000;
    EXPECT_FALSE(MlpLearner(3, 3, defaults).fit(d.x, d.y, nullptr, 5)->parameters() ==
                 MlpLearner(3, 3, capped).fit(d.x, d.y, nullptr, 5)->parameters());
}

TEST(Mlp, OptionsOutOfRangeAreInvalid) {
    auto with = [](auto change) {
        MlpOptions o;
        change(o);
        return o;
    };
    const std::vector<std::pair<const char *, MlpOptions>> bad = {
        {"hidden 0", with([](MlpOptions &o) { o.hidden = 0; })},
        {"hidden 4097", with([](MlpOptions &o) { o.hidden = 4097; })},
        {"layers 0", with([](MlpOptions &o) { o.layers = 0; })},
        {"layers 3", with([](MlpOptions &o) { o.layers = 3; })},
        {"epochs 0", with([](MlpOptions &o) { o.epochs = 0; })},
        {"tol -1", with([](MlpOptions &o) { o.tol = -1; })},
        {"tol NaN", with([](MlpOptions &o) { o.tol = NAN; })},
        {"n_iter_no_change 0", with([](MlpOptions &o) { o.n_iter_no_change = 0; })},
        {"n_iter_no_change 10001", with([](MlpOptions &o) { o.n_iter_no_change = 10001; })},
        {"batch_size 0", with([](MlpOptions &o) { o.batch_size = 0; })},
        {"learning_rate 0", with([](MlpOptions &o) { o.learning_rate = 0; })},
        {"learning_rate NaN", with([](MlpOptions &o) { o.learning_rate = NAN; })},
        {"l2 -1", with([](MlpOptions &o) { o.l2 = -1; })},
        {"l2 inf", with([](MlpOptions &o) { o.l2 = INFINITY; })},
    };
    for (const auto &c : bad) {
        EXPECT_TRUE(throws_kind(ErrorKind::InvalidParameter, [&] { check_mlp_options(c.second, 10, 3); })) << c.first;
        EXPECT_TRUE(throws_kind(ErrorKind::InvalidParameter, [&] { MlpLearner(10, 3, c.second); })) << c.first;
    }
    // in range: the memory a network needs is judged by the caller against
    // unlearn.max_memory (mlp_training_bytes), not here
    EXPECT_NO_THROW(check_mlp_options(MlpOptions{}, 10, 3));
    EXPECT_NO_THROW(check_mlp_options(with([](MlpOptions &o) { o.l2 = 0; }), 10, 3));
    EXPECT_NO_THROW(check_mlp_options(with([](MlpOptions &o) {
                                          o.hidden = 4096;
                                          o.layers = 2;
                                          o.batch_size = 200;
                                      }),
                                      10, 3));
}

TEST(Mlp, TrainingBytesCountParametersAndOneBatch) {
    MlpOptions o;
    o.hidden = 4096;
    o.layers = 2;
    o.batch_size = 1000000;
    // 4096² weights between the hidden layers, and one batch of a million
    // rows of 2 × 4096 activations, three temporaries each
    const double params = 11.0 * 4096 + 4097.0 * 4096 + 4097.0 * 3;
    EXPECT_EQ(mlp_parameters(o, 10, 3), params);
    EXPECT_EQ(mlp_training_bytes(o, 10, 3), 8.0 * (6 * params + 3.0 * 1000000 * (10 + 2 * 4096 * 2 + 3)));
    EXPECT_GT(mlp_training_bytes(o, 10, 3), 64e9);
    EXPECT_LT(mlp_training_bytes(MlpOptions{}, 10, 3), 1e6);
}
