// Gaussian naive Bayes in summation form against scikit-learn's GaussianNB
// conventions, computed here from the raw rows: per class two-pass mean and
// population variance, priors = counts / n, var += 1e-9 x the largest
// population variance of any feature over all rows, classes ascending.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "classifier.hpp"
#include "model.hpp"
#include "naive_bayes.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

namespace {

// Labels deliberately not in ascending order of first appearance, one
// negative, one zero (class labels are integers: classifier.hpp); features with offsets and very different spreads.
// The last class has a single row.
const double kLabels[] = {3.0, -1.0, 0.0, 7.0};

Data make_labelled(int rows, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n01(0.0, 1.0);
    Data d{RowMatrix(rows, 3), Vector(rows)};
    for (int i = 0; i < rows; ++i) {
        const int c = i == rows - 1 ? 3 : i % 3;
        d.y(i) = kLabels[c];
        d.x(i, 0) = 1000.0 + 2.0 * c + n01(rng);
        d.x(i, 1) = -50.0 * c + 10.0 * n01(rng);
        d.x(i, 2) = 1e-3 * (c + n01(rng));
    }
    return d;
}

NaiveBayesStats nb_stats_of(const RowMatrix &x, const Vector &y) {
    NaiveBayesStats s(static_cast<int>(x.cols()));
    s.add_rows(x, y, +1);
    return s;
}

struct Reference {
    std::vector<double> classes;
    std::vector<double> priors;
    Eigen::MatrixXd theta, var;  // classes x features, var including epsilon
    double epsilon = 0.0;
};

double mean_of(const std::vector<double> &v) {
    long double s = 0;
    for (double a : v) s += a;
    return static_cast<double>(s / static_cast<long double>(v.size()));
}
double pop_var_of(const std::vector<double> &v) {  // two-pass, like numpy's var
    const long double m = mean_of(v);
    long double ss = 0;
    for (double a : v) ss += (a - m) * (a - m);
    return static_cast<double>(ss / static_cast<long double>(v.size()));
}

Reference reference(const RowMatrix &x, const Vector &y) {
    const Eigen::Index p = x.cols();
    std::map<double, std::vector<Eigen::Index>> by_class;  // ascending labels
    for (Eigen::Index i = 0; i < y.size(); ++i) by_class[y(i)].push_back(i);
    Reference r;
    for (Eigen::Index j = 0; j < p; ++j) {
        std::vector<double> col;
        for (Eigen::Index i = 0; i < x.rows(); ++i) col.push_back(x(i, j));
        r.epsilon = std::max(r.epsilon, 1e-9 * pop_var_of(col));
    }
    const auto k = static_cast<Eigen::Index>(by_class.size());
    r.theta.resize(k, p);
    r.var.resize(k, p);
    Eigen::Index c = 0;
    for (const auto &kv : by_class) {
        r.classes.push_back(kv.first);
        r.priors.push_back(static_cast<double>(kv.second.size()) / static_cast<double>(y.size()));
        for (Eigen::Index j = 0; j < p; ++j) {
            std::vector<double> v;
            for (auto i : kv.second) v.push_back(x(i, j));
            r.theta(c, j) = mean_of(v);
            r.var(c, j) = pop_var_of(v) + r.epsilon;
        }
        ++c;
    }
    return r;
}

void expect_matches(const NaiveBayesFit &fit, const Reference &r, int64_t rows) {
    ASSERT_EQ(fit.classes, r.classes);
    EXPECT_EQ(fit.rows, rows);
    EXPECT_NEAR(fit.epsilon, r.epsilon, 1e-9 * r.epsilon);
    for (size_t c = 0; c < r.classes.size(); ++c) {
        const auto cc = static_cast<Eigen::Index>(c);
        EXPECT_NEAR(fit.priors(cc), r.priors[c], 1e-15) << "class " << r.classes[c];
        for (Eigen::Index j = 0; j < r.theta.cols(); ++j) {
            EXPECT_NEAR(fit.theta(cc, j), r.theta(cc, j), 1e-9 * std::abs(r.theta(cc, j)) + 1e-15)
                << "mean, class " << r.classes[c] << " feature " << j;
            EXPECT_NEAR(fit.var(cc, j), r.var(cc, j), 1e-9 * r.var(cc, j))
                << "variance, class " << r.classes[c] << " feature " << j;
        }
    }
}

// Class probabilities from the reference parameters, by log-sum-exp.
std::vector<double> reference_proba(const Reference &r, const Vector &x) {
    std::vector<long double> jll;
    for (size_t c = 0; c < r.classes.size(); ++c) {
        const auto cc = static_cast<Eigen::Index>(c);
        long double l = std::log(static_cast<long double>(r.priors[c]));
        for (Eigen::Index j = 0; j < x.size(); ++j) {
            const long double v = r.var(cc, j), dx = x(j) - r.theta(cc, j);
            l -= 0.5L * std::log(2.0L * 3.14159265358979323846264338327950288L * v) + 0.5L * dx * dx / v;
        }
        jll.push_back(l);
    }
    const long double m = *std::max_element(jll.begin(), jll.end());
    long double z = 0;
    for (long double l : jll) z += std::exp(l - m);
    std::vector<double> p;
    for (long double l : jll) p.push_back(static_cast<double>(std::exp(l - m) / z));
    return p;
}

}  // namespace

TEST(NaiveBayes, MatchesIndependentGaussianNB) {
    Data d = make_labelled(901, 21);
    NaiveBayesFit fit = nb_stats_of(d.x, d.y).solve();
    EXPECT_EQ(fit.classes, (std::vector<double>{-1.0, 0.0, 3.0, 7.0}));  // ascending
    expect_matches(fit, reference(d.x, d.y), 901);
    // the single-row class has only the smoothing as variance
    EXPECT_EQ(fit.var(3, 0), fit.epsilon);
}

TEST(NaiveBayes, PredictProbaIsTheNormalisedLikelihood) {
    Data d = make_labelled(600, 22);
    NaiveBayesFit fit = nb_stats_of(d.x, d.y).solve();
    Reference r = reference(d.x, d.y);
    std::vector<Vector> points;
    for (Eigen::Index i : {0, 1, 2, 100, 599}) points.push_back(d.x.row(i).transpose());
    points.push_back((Vector(3) << 1001.0, -25.0, 5e-4).finished());  // between classes
    // far from every class: raw likelihoods underflow to 0, log-sum-exp must not
    points.push_back((Vector(3) << 1e6, 1e6, 1e3).finished());
    for (const Vector &x : points) {
        Vector p = fit.predict_proba(x);
        std::vector<double> want = reference_proba(r, x);
        ASSERT_EQ(p.size(), static_cast<Eigen::Index>(want.size()));
        EXPECT_TRUE(p.allFinite()) << x.transpose();
        EXPECT_NEAR(p.sum(), 1.0, 1e-12);
        for (size_t c = 0; c < want.size(); ++c) EXPECT_NEAR(p(static_cast<Eigen::Index>(c)), want[c], 1e-9);
        const size_t best = static_cast<size_t>(std::max_element(want.begin(), want.end()) - want.begin());
        EXPECT_EQ(fit.predict(x), r.classes[best]);
    }
}

TEST(NaiveBayes, ForgettingEveryRowOfAClassKeepsItsPlace) {
    Data d = make_labelled(600, 23);
    NaiveBayesStats s = nb_stats_of(d.x, d.y);
    std::vector<Eigen::Index> gone, kept;
    for (Eigen::Index i = 0; i < d.y.size(); ++i) (d.y(i) == 0.0 || i % 10 == 0 ? gone : kept).push_back(i);
    // one block, then single rows
    const std::vector<Eigen::Index> block(gone.begin(), gone.begin() + 50);
    s.add_rows(take_rows(d.x, block), take_rows(d.y, block), -1);
    for (size_t k = 50; k < gone.size(); ++k) s.add_rows(d.x.row(gone[k]), d.y.segment(gone[k], 1), -1);
    NaiveBayesFit fit = s.solve();
    // the class list stays the training's: class 0 holds no row, prior 0,
    // probability 0, and the other classes are those of a retrain
    EXPECT_EQ(fit.classes, (std::vector<double>{-1.0, 0.0, 3.0, 7.0}));
    EXPECT_EQ(s.classes().at(0.0).n, 0);
    EXPECT_EQ(fit.priors(1), 0.0);
    for (Eigen::Index i = 0; i < 20; ++i) {
        EXPECT_EQ(fit.predict_proba(d.x.row(i).transpose())(1), 0.0);
        EXPECT_NE(fit.predict(d.x.row(i).transpose()), 0.0);
    }
    NaiveBayesFit held = fit;
    const std::vector<Eigen::Index> rows{0, 2, 3};
    held.classes = {-1.0, 3.0, 7.0};
    held.priors = fit.priors(rows);
    held.theta = fit.theta(rows, Eigen::all);
    held.var = fit.var(rows, Eigen::all);
    expect_matches(held, reference(take_rows(d.x, kept), take_rows(d.y, kept)), static_cast<int64_t>(kept.size()));
    // learning a row of it again brings its parameters back
    ASSERT_EQ(d.y(2), 0.0);
    s.add_rows(d.x.row(2), d.y.segment(2, 1), +1);
    EXPECT_GT(s.solve().priors(1), 0.0);
}

TEST(NaiveBayes, ForgettingAnUnknownRowIsCorruptState) {
    Data d = make_labelled(30, 24);
    NaiveBayesStats s = nb_stats_of(d.x, d.y);
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { s.add_rows(d.x.topRows(1), Vector::Constant(1, 42.0), -1); }));
    // the single-row class forgotten twice: the second time it is unknown
    NaiveBayesStats t = nb_stats_of(d.x, d.y);
    t.add_rows(d.x.bottomRows(1), d.y.tail(1), -1);
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { t.add_rows(d.x.bottomRows(1), d.y.tail(1), -1); }));
}

// A float target's -0.0 and 0.0 are one class, keyed +0.0 whichever row
// comes first: the state's bytes do not depend on the rows' order.
TEST(NaiveBayes, NegativeZeroLabelIsClassZeroInAnyOrder) {
    RowMatrix x(4, 1);
    x << 1.0, 2.0, 3.0, 4.0;
    Vector zero_first(4), negative_first(4);
    zero_first << 0.0, -0.0, 1.0, -0.0;
    negative_first << -0.0, 0.0, 1.0, -0.0;
    NaiveBayesStats a(1), b(1);
    a.add_rows(x, zero_first, +1);
    b.add_rows(x, negative_first, +1);
    EXPECT_EQ(encode_state(Algorithm::NaiveBayes, ShardState{a}), encode_state(Algorithm::NaiveBayes, ShardState{b}));
    ASSERT_EQ(b.classes().size(), 2u);
    EXPECT_FALSE(std::signbit(b.classes().begin()->first));
}

TEST(NaiveBayes, ShardsMergeToOneState) {
    Data d = make_labelled(900, 25);
    NaiveBayesStats whole(3), merged(3);
    whole.add_rows(d.x, d.y, +1);
    for (int s = 0; s < 3; ++s) {
        NaiveBayesStats part(3);
        part.add_rows(d.x.middleRows(s * 300, 300), d.y.segment(s * 300, 300), +1);
        merged.merge(part);
    }
    NaiveBayesFit a = merged.solve(), b = whole.solve();
    EXPECT_EQ(a.classes, b.classes);
    EXPECT_LT((a.theta - b.theta).cwiseAbs().maxCoeff(), 1e-12 * b.theta.cwiseAbs().maxCoeff());
    EXPECT_LT(((a.var - b.var).array() / b.var.array()).abs().maxCoeff(), 1e-12);
    EXPECT_LT((a.priors - b.priors).cwiseAbs().maxCoeff(), 1e-15);
    NaiveBayesStats other(2);
    EXPECT_TRUE(throws_kind(ErrorKind::CorruptState, [&] { merged.merge(other); }));
}

TEST(NaiveBayes, DropFeatureEqualsAModelWithoutTheColumn) {
    Data d = make_labelled(300, 26);
    NaiveBayesStats s = nb_stats_of(d.x, d.y);
    s.drop_feature(1);  // the feature with the largest variance: epsilon changes too
    RowMatrix without(300, 2);
    without << d.x.col(0), d.x.col(2);
    expect_matches(s.solve(), reference(without, d.y), 300);
}

TEST(NaiveBayes, ColumnTotalSumsTheRowsHeld) {
    Data d = make_labelled(300, 27);
    NaiveBayesStats s = nb_stats_of(d.x, d.y);
    s.add_rows(d.x.topRows(100), d.y.head(100), -1);
    for (int j = 0; j < 3; ++j) {
        const double want = d.x.col(j).tail(200).sum();
        EXPECT_NEAR(s.column_total(j), want, 1e-9 * std::abs(want) + 1e-12) << "feature " << j;
    }
}

TEST(NaiveBayes, DataThatCannotBeFittedIsADataException) {
    NaiveBayesStats empty(2);
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { empty.solve(); }));
    Data d = make_labelled(30, 28);
    NaiveBayesStats s = nb_stats_of(d.x, d.y);
    s.add_rows(d.x, d.y, -1);
    EXPECT_EQ(s.rows(), 0);  // every class kept, none holding a row
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { s.solve(); }));
    // every feature constant: no variance to smooth with
    RowMatrix flat = RowMatrix::Constant(10, 2, 3.0);
    Vector y = Vector::LinSpaced(10, 0, 1).array().round();
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { nb_stats_of(flat, y).solve(); }));
    // a label that is not a number
    NaiveBayesStats t(2);
    EXPECT_TRUE(throws_kind(ErrorKind::DataException,
                            [&] { t.add_rows(RowMatrix::Zero(1, 2), Vector::Constant(1, NAN), +1); }));
}

// The classifiers' one rule for labels (classifier.hpp): integers, at most
// kMaxClassLabels of them; a refused block changes nothing.
TEST(NaiveBayes, LabelsFollowTheClassifiersRule) {
    const auto n = static_cast<Eigen::Index>(kMaxClassLabels);
    RowMatrix x = RowMatrix::Zero(n + 1, 1);
    Vector y = Vector::LinSpaced(n + 1, 0.0, static_cast<double>(n));
    NaiveBayesStats s(1);
    EXPECT_NO_THROW(s.add_rows(x.topRows(n), y.head(n), +1));
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { s.add_rows(x.bottomRows(1), y.tail(1), +1); }));
    EXPECT_EQ(s.classes().size(), kMaxClassLabels);
    EXPECT_NO_THROW(s.add_rows(x.topRows(1), y.head(1), +1));  // a known class is no new one
    // a continuous target in one block: refused before any class is added
    NaiveBayesStats t(1);
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { t.add_rows(x, y, +1); }));
    EXPECT_TRUE(t.classes().empty());
    for (double bad : std::vector<double>{0.5, 1.5, -0.25, INFINITY, 1e17}) {
        NaiveBayesStats u(1);
        Vector labels(3);
        labels << 0.0, 1.0, bad;
        EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { u.add_rows(RowMatrix::Zero(3, 1), labels, +1); }))
            << bad;
        EXPECT_TRUE(u.classes().empty()) << bad;
        EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { check_class_label(bad); })) << bad;
    }
    EXPECT_NO_THROW(check_class_label(-3.0));
    EXPECT_NO_THROW(check_class_count(kMaxClassLabels));
    EXPECT_TRUE(throws_kind(ErrorKind::DataException, [&] { check_class_count(kMaxClassLabels + 1); }));
}

// Rows held far from where training started: 0.4 computed var = sxx/n - m*m
// in plain double around its first row and was ~1e-4 off here; the exact
// numerator n Σx² - (Σx)² matches GaussianNB's two-pass variance.
TEST(NaiveBayes, VarianceFarFromWhereTrainingStarted) {
    std::mt19937_64 rng(29);
    std::normal_distribution<double> n01(0.0, 1.0);
    RowMatrix x(400, 1);
    Vector y(400);
    for (Eigen::Index i = 0; i < 400; ++i) {
        y(i) = static_cast<double>(i % 2);
        x(i, 0) = (i >= 200 ? 1e6 : 0.0) + y(i) + n01(rng);
    }
    NaiveBayesStats s = nb_stats_of(x, y);
    s.add_rows(x.topRows(200), y.head(200), -1);
    expect_matches(s.solve(), reference(x.bottomRows(200), y.tail(200)), 200);
}
