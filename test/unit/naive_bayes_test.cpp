// Gaussian naive Bayes in summation form against scikit-learn's GaussianNB
// conventions, computed here independently (two-pass means and variances).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "error.hpp"
#include "naive_bayes.hpp"

using namespace unlearn;

namespace {

struct Labelled {
    RowMatrix x;
    Vector y;
};

Labelled make_classes(int rows, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n01(0.0, 1.0);
    Labelled d{RowMatrix(rows, 3), Vector(rows)};
    for (int i = 0; i < rows; ++i) {
        int c = i % 3;
        d.y(i) = c;
        d.x(i, 0) = 100.0 + c * 2.0 + n01(rng);
        d.x(i, 1) = -c + 0.5 * n01(rng);
        d.x(i, 2) = 1e-3 * (c + n01(rng));
    }
    return d;
}

NaiveBayesStats stats_of(const RowMatrix &x, const Vector &y) {
    NaiveBayesStats s(static_cast<int>(x.cols()), std::vector<double>(x.row(0).data(), x.row(0).data() + x.cols()));
    s.add_rows(x, y, +1);
    return s;
}

// The reference: per class two-pass mean and population variance, priors
// from counts, epsilon = 1e-9 x the largest variance over all rows.
struct Reference {
    std::vector<double> classes, priors;
    std::vector<std::vector<double>> mean, var;
};

Reference reference(const RowMatrix &x, const Vector &y) {
    Reference r;
    std::map<double, std::vector<Eigen::Index>> rows;
    for (Eigen::Index i = 0; i < y.size(); ++i) rows[y(i)].push_back(i);
    double max_var = 0;
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
        double m = x.col(j).mean();
        max_var = std::max(max_var, (x.col(j).array() - m).square().mean());
    }
    for (const auto &kv : rows) {
        r.classes.push_back(kv.first);
        r.priors.push_back(static_cast<double>(kv.second.size()) / static_cast<double>(y.size()));
        std::vector<double> m(static_cast<size_t>(x.cols())), v(static_cast<size_t>(x.cols()));
        for (Eigen::Index j = 0; j < x.cols(); ++j) {
            double s = 0, ss = 0;
            for (auto i : kv.second) s += x(i, j);
            s /= static_cast<double>(kv.second.size());
            for (auto i : kv.second) ss += (x(i, j) - s) * (x(i, j) - s);
            m[static_cast<size_t>(j)] = s;
            v[static_cast<size_t>(j)] = ss / static_cast<double>(kv.second.size()) + 1e-9 * max_var;
        }
        r.mean.push_back(m);
        r.var.push_back(v);
    }
    return r;
}

void expect_matches(const NaiveBayesFit &fit, const Reference &r) {
    ASSERT_EQ(fit.classes, r.classes);
    for (size_t c = 0; c < r.classes.size(); ++c) {
        EXPECT_NEAR(fit.priors(static_cast<Eigen::Index>(c)), r.priors[c], 1e-12);
        for (size_t j = 0; j < r.mean[c].size(); ++j) {
            auto cc = static_cast<Eigen::Index>(c), jj = static_cast<Eigen::Index>(j);
            EXPECT_NEAR(fit.theta(cc, jj), r.mean[c][j], 1e-9 * std::abs(r.mean[c][j]) + 1e-12);
            EXPECT_NEAR(fit.var(cc, jj), r.var[c][j], 1e-9 * r.var[c][j]);
        }
    }
}

}  // namespace

TEST(NaiveBayes, MatchesIndependentComputation) {
    Labelled d = make_classes(900, 11);
    expect_matches(stats_of(d.x, d.y).solve(), reference(d.x, d.y));
}

TEST(NaiveBayes, PredictProbaIsTheNormalisedJointLikelihood) {
    Labelled d = make_classes(300, 12);
    NaiveBayesFit fit = stats_of(d.x, d.y).solve();
    Reference r = reference(d.x, d.y);
    Vector x = d.x.row(5).transpose();
    std::vector<double> jll;
    for (size_t c = 0; c < r.classes.size(); ++c) {
        double l = std::log(r.priors[c]);
        for (size_t j = 0; j < 3; ++j)
            l += -0.5 * std::log(2 * M_PI * r.var[c][j]) -
                 0.5 * std::pow(x(static_cast<Eigen::Index>(j)) - r.mean[c][j], 2) / r.var[c][j];
        jll.push_back(l);
    }
    double m = *std::max_element(jll.begin(), jll.end()), z = 0;
    for (double l : jll) z += std::exp(l - m);
    Vector p = fit.predict_proba(x);
    EXPECT_NEAR(p.sum(), 1.0, 1e-12);
    for (size_t c = 0; c < jll.size(); ++c) EXPECT_NEAR(p(static_cast<Eigen::Index>(c)), std::exp(jll[c] - m) / z, 1e-9);
    size_t best = static_cast<size_t>(std::max_element(jll.begin(), jll.end()) - jll.begin());
    EXPECT_EQ(fit.predict(x), r.classes[best]);
}

TEST(NaiveBayes, ForgettingAClassRemovesIt) {
    Labelled d = make_classes(600, 13);
    NaiveBayesStats s = stats_of(d.x, d.y);
    std::vector<Eigen::Index> gone, kept;
    for (Eigen::Index i = 0; i < d.y.size(); ++i) (d.y(i) == 2 || i % 10 == 0 ? gone : kept).push_back(i);
    RowMatrix gx = d.x(gone, Eigen::all);
    Vector gy = d.y(gone);
    s.add_rows(gx, gy, -1);
    RowMatrix kx = d.x(kept, Eigen::all);
    Vector ky = d.y(kept);
    NaiveBayesFit fit = s.solve();
    EXPECT_EQ(fit.classes, (std::vector<double>{0, 1}));
    expect_matches(fit, reference(kx, ky));
}

TEST(NaiveBayes, ForgettingAnUnknownClassIsCorruption) {
    Labelled d = make_classes(30, 14);
    NaiveBayesStats s = stats_of(d.x, d.y);
    RowMatrix x = d.x.topRows(1);
    Vector y = Vector::Constant(1, 42.0);
    try {
        s.add_rows(x, y, -1);
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.kind(), ErrorKind::CorruptState);
    }
}

TEST(NaiveBayes, DropFeatureEqualsStatisticsWithoutTheColumn) {
    Labelled d = make_classes(300, 15);
    NaiveBayesStats s = stats_of(d.x, d.y);
    s.drop_feature(0);
    RowMatrix without = d.x.rightCols(2);
    expect_matches(s.solve(), reference(without, d.y));
}
