// L2-regularised logistic regression (logistic.hpp) against its definition,
// computed here from the raw rows: the objective Σ log-loss + (λ/2)‖w‖² with
// the intercept not penalised, a sigmoid over the second present class for
// two classes and a softmax over the present classes for more. The fit must
// be a stationary point of that objective (our own gradient), no worse than
// nearby points (our own objective), and equal to a plain Newton/IRLS solve
// written out below.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "logistic.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

namespace {

struct Labelled {
    RowMatrix x;
    std::vector<int> y;  // class indices
};

// Features with different spreads and offsets; labels sampled from a softmax
// over random true scores, so the classes overlap (no separable data: the
// optimum is finite and unique).
Labelled make_classes(int rows, int features, int classes, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> n01(0.0, 1.0);
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    Eigen::MatrixXd w(classes, features);
    for (int c = 0; c < classes; ++c)
        for (int j = 0; j < features; ++j) w(c, j) = n01(rng) / (1.0 + j);
    Labelled d{RowMatrix(rows, features), std::vector<int>(static_cast<size_t>(rows))};
    for (int i = 0; i < rows; ++i) {
        for (int j = 0; j < features; ++j) d.x(i, j) = (j % 2 ? -1.5 : 2.0) + (1.0 + j) * n01(rng);
        std::vector<double> e(static_cast<size_t>(classes));
        double total = 0;
        for (int c = 0; c < classes; ++c) total += e[static_cast<size_t>(c)] = std::exp(w.row(c).dot(d.x.row(i)));
        double u = u01(rng) * total;
        int c = 0;
        while (c + 1 < classes && u >= e[static_cast<size_t>(c)]) u -= e[static_cast<size_t>(c++)];
        d.y[static_cast<size_t>(i)] = c;
    }
    return d;
}

// Per row, the probability of each present class from (coef, intercept),
// written out: binary scores are (0, s) for (present[0], present[1]).
std::vector<std::vector<long double>> probs_of(const Eigen::MatrixXd &coef, const Vector &intercept,
                                               const RowMatrix &x) {
    const Eigen::Index blocks = coef.rows();
    const Eigen::Index k = blocks == 1 ? 2 : blocks;
    std::vector<std::vector<long double>> out;
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
        std::vector<long double> z(static_cast<size_t>(k), 0.0L);
        for (Eigen::Index b = 0; b < blocks; ++b) {
            long double s = intercept(b);
            for (Eigen::Index j = 0; j < x.cols(); ++j) s += static_cast<long double>(coef(b, j)) * x(i, j);
            z[static_cast<size_t>(blocks == 1 ? 1 : b)] = s;
        }
        long double mx = z[0];
        for (long double v : z) mx = std::max(mx, v);
        long double total = 0;
        for (auto &v : z) total += v = std::exp(v - mx);
        for (auto &v : z) v /= total;
        out.push_back(std::move(z));
    }
    return out;
}

// local[i]: the row's position among the present classes
std::vector<int> local_labels(const std::vector<int> &present, const std::vector<int> &y) {
    std::vector<int> out;
    for (int c : y) out.push_back(static_cast<int>(std::find(present.begin(), present.end(), c) - present.begin()));
    return out;
}

double objective(const Eigen::MatrixXd &coef, const Vector &intercept, const std::vector<int> &present,
                 const Labelled &d, double l2) {
    auto pr = probs_of(coef, intercept, d.x);
    std::vector<int> local = local_labels(present, d.y);
    long double f = 0;
    for (size_t i = 0; i < pr.size(); ++i) f -= std::log(pr[i][static_cast<size_t>(local[i])]);
    long double pen = 0;
    for (Eigen::Index r = 0; r < coef.rows(); ++r)
        for (Eigen::Index j = 0; j < coef.cols(); ++j) pen += static_cast<long double>(coef(r, j)) * coef(r, j);
    return static_cast<double>(f + 0.5L * l2 * pen);
}

// Gradient of the objective, one block [∂w (p), ∂b] per coef row.
Vector gradient(const LogisticParams &m, const Labelled &d, double l2) {
    auto pr = probs_of(m.coef, m.intercept, d.x);
    std::vector<int> local = local_labels(m.present, d.y);
    const Eigen::Index blocks = m.coef.rows(), p = d.x.cols();
    std::vector<long double> g(static_cast<size_t>(blocks * (p + 1)), 0.0L);
    for (Eigen::Index b = 0; b < blocks; ++b) {
        const size_t cls = static_cast<size_t>(blocks == 1 ? 1 : b);  // the class block b scores
        for (size_t i = 0; i < pr.size(); ++i) {
            const long double r = pr[i][cls] - (static_cast<size_t>(local[i]) == cls ? 1.0L : 0.0L);
            for (Eigen::Index j = 0; j < p; ++j) g[static_cast<size_t>(b * (p + 1) + j)] += r * d.x(static_cast<Eigen::Index>(i), j);
            g[static_cast<size_t>(b * (p + 1) + p)] += r;
        }
        for (Eigen::Index j = 0; j < p; ++j) g[static_cast<size_t>(b * (p + 1) + j)] += l2 * m.coef(b, j);
    }
    Vector out(static_cast<Eigen::Index>(g.size()));
    for (size_t i = 0; i < g.size(); ++i) out(static_cast<Eigen::Index>(i)) = static_cast<double>(g[i]);
    return out;
}

// Binary logistic regression by undamped Newton (IRLS) on θ = [w; b]:
// H = X̃ᵀ diag(μ(1-μ)) X̃ + λ diag(1, …, 1, 0), g = X̃ᵀ(μ - y) + λ[w; 0].
Vector irls_binary(const Labelled &d, int positive, double l2) {
    const Eigen::Index n = d.x.rows(), p = d.x.cols();
    Vector theta = Vector::Zero(p + 1);
    for (int it = 0; it < 100; ++it) {
        Eigen::MatrixXd h = Eigen::MatrixXd::Zero(p + 1, p + 1);
        Vector g = Vector::Zero(p + 1);
        for (Eigen::Index i = 0; i < n; ++i) {
            Vector xt(p + 1);
            for (Eigen::Index j = 0; j < p; ++j) xt(j) = d.x(i, j);
            xt(p) = 1.0;
            const double mu = 1.0 / (1.0 + std::exp(-xt.dot(theta)));
            const double yi = d.y[static_cast<size_t>(i)] == positive ? 1.0 : 0.0;
            for (Eigen::Index a = 0; a <= p; ++a) {
                g(a) += (mu - yi) * xt(a);
                for (Eigen::Index b = 0; b <= p; ++b) h(a, b) += mu * (1.0 - mu) * xt(a) * xt(b);
            }
        }
        for (Eigen::Index j = 0; j < p; ++j) {
            g(j) += l2 * theta(j);
            h(j, j) += l2;
        }
        Vector step = h.ldlt().solve(g);
        theta -= step;
        if (step.cwiseAbs().maxCoeff() <= 1e-15 * (1.0 + theta.cwiseAbs().maxCoeff())) break;
    }
    return theta;
}

Vector flat(const LogisticParams &m) {  // [w_1; b_1; w_2; b_2; …]
    const Eigen::Index p = m.coef.cols();
    Vector v(m.coef.rows() * (p + 1));
    for (Eigen::Index b = 0; b < m.coef.rows(); ++b) {
        v.segment(b * (p + 1), p) = m.coef.row(b).transpose();
        v(b * (p + 1) + p) = m.intercept(b);
    }
    return v;
}

struct Case {
    int classes;
    double l2;
};

}  // namespace

TEST(Logistic, FitIsAStationaryPointOfTheObjective) {
    for (Case c : {Case{2, 1.0}, Case{2, 0.05}, Case{3, 1.0}, Case{3, 0.05}, Case{4, 0.3}}) {
        Labelled d = make_classes(300, 4, c.classes, 11u + static_cast<uint32_t>(c.classes));
        LogisticOptions o;
        o.l2 = c.l2;
        LogisticParams m = fit_logistic(d.x, d.y, c.classes, o);
        ASSERT_EQ(static_cast<int>(m.present.size()), c.classes);
        ASSERT_EQ(m.coef.rows(), c.classes == 2 ? 1 : c.classes);
        ASSERT_EQ(m.coef.cols(), 4);
        ASSERT_EQ(m.intercept.size(), m.coef.rows());
        EXPECT_EQ(m.rows, 300);
        Vector g = gradient(m, d, c.l2);
        EXPECT_LT(g.cwiseAbs().maxCoeff(), 1e-8 * 300) << c.classes << " classes, l2 " << c.l2 << ": " << g.transpose();
    }
}

TEST(Logistic, FitIsNoWorseThanNearbyPoints) {
    std::mt19937 rng(5);
    std::normal_distribution<double> n01(0.0, 1.0);
    for (int classes : {2, 3}) {
        Labelled d = make_classes(250, 3, classes, 21u + static_cast<uint32_t>(classes));
        LogisticOptions o;
        o.l2 = 0.5;
        LogisticParams m = fit_logistic(d.x, d.y, classes, o);
        const double f0 = objective(m.coef, m.intercept, m.present, d, o.l2);
        // our objective agrees with the one the solver reports
        EXPECT_NEAR(f0, logistic_objective(m, d.x, d.y, o.l2), 1e-11 * f0);
        for (double scale : {1e-1, 1e-3, 1e-5})
            for (int t = 0; t < 20; ++t) {
                Eigen::MatrixXd coef = m.coef;
                Vector intercept = m.intercept;
                for (Eigen::Index k = 0; k < coef.size(); ++k) coef(k) += scale * n01(rng);
                for (Eigen::Index k = 0; k < intercept.size(); ++k) intercept(k) += scale * n01(rng);
                const double f1 = objective(coef, intercept, m.present, d, o.l2);
                EXPECT_LE(f0, f1 + 1e-13 * f0) << classes << " classes, scale " << scale << ", try " << t;
            }
    }
}

TEST(Logistic, BinaryMatchesAnIndependentNewtonSolve) {
    for (double l2 : {1.0, 0.1, 10.0}) {
        Labelled d = make_classes(200, 3, 2, 31u);
        // labels 1 and 3 of a 5-class model: the positive class is the second present one
        for (int &c : d.y) c = c == 0 ? 1 : 3;
        LogisticOptions o;
        o.l2 = l2;
        LogisticParams m = fit_logistic(d.x, d.y, 5, o);
        ASSERT_EQ(m.present, (std::vector<int>{1, 3}));
        Vector ref = irls_binary(d, 3, l2);
        Vector got = flat(m);
        ASSERT_EQ(got.size(), ref.size());
        for (Eigen::Index k = 0; k < ref.size(); ++k)
            EXPECT_NEAR(got(k), ref(k), 1e-8 * std::max(1.0, std::abs(ref(k)))) << "l2 " << l2 << ", parameter " << k;
    }
}

TEST(Logistic, WarmStartReachesTheSameOptimum) {
    std::mt19937 rng(7);
    std::normal_distribution<double> n01(0.0, 1.0);
    for (int classes : {2, 3}) {
        Labelled d = make_classes(300, 3, classes, 41u + static_cast<uint32_t>(classes));
        LogisticOptions o;
        LogisticParams cold = fit_logistic(d.x, d.y, classes, o);
        LogisticParams warm = cold;  // a different starting point, same present classes
        for (Eigen::Index k = 0; k < warm.coef.size(); ++k) warm.coef(k) += 0.7 * n01(rng);
        for (Eigen::Index k = 0; k < warm.intercept.size(); ++k) warm.intercept(k) += 0.7 * n01(rng);
        LogisticParams again = fit_logistic(d.x, d.y, classes, o, &warm);
        Vector a = flat(cold), b = flat(again);
        for (Eigen::Index k = 0; k < a.size(); ++k) EXPECT_NEAR(b(k), a(k), 1e-9) << classes << " classes, " << k;
        // started at the optimum, it stays there
        LogisticParams at = fit_logistic(d.x, d.y, classes, o, &cold);
        Vector c = flat(at);
        for (Eigen::Index k = 0; k < a.size(); ++k) EXPECT_NEAR(c(k), a(k), 1e-9) << classes << " classes, " << k;
        EXPECT_LE(at.iterations, 2) << "(cold start took " << cold.iterations << ")";
    }
}

TEST(Logistic, OneClassIsCertainAndAbsentClassesGetZero) {
    Labelled d = make_classes(40, 3, 2, 51u);
    std::vector<int> only2(d.y.size(), 2);
    LogisticParams one = fit_logistic(d.x, only2, 4, LogisticOptions{});
    EXPECT_EQ(one.present, (std::vector<int>{2}));
    Matrix pr = logistic_proba(one, d.x);
    ASSERT_EQ(pr.rows(), 40);
    ASSERT_EQ(pr.cols(), 4);
    for (Eigen::Index i = 0; i < pr.rows(); ++i)
        for (int c = 0; c < 4; ++c) EXPECT_EQ(pr(i, c), c == 2 ? 1.0 : 0.0) << "row " << i << ", class " << c;
    // through the learner interface too
    LogisticLearner learner(3, 4, LogisticOptions{});
    EXPECT_EQ(learner.fit(d.x, only2, nullptr, 0)->proba(d.x), pr);
}

TEST(Logistic, AbsentClassesGetZeroAndTheOthersAreTheFitWithoutThem) {
    // classes 0, 1, 3 of a 4-class model, against the same rows as a 3-class model
    Labelled d = make_classes(240, 3, 3, 61u);
    std::vector<int> spread;
    for (int c : d.y) spread.push_back(c == 2 ? 3 : c);
    LogisticOptions o;
    LogisticParams m4 = fit_logistic(d.x, spread, 4, o);
    LogisticParams m3 = fit_logistic(d.x, d.y, 3, o);
    EXPECT_EQ(m4.present, (std::vector<int>{0, 1, 3}));
    Matrix p4 = logistic_proba(m4, d.x), p3 = logistic_proba(m3, d.x);
    ASSERT_EQ(p4.cols(), 4);
    for (Eigen::Index i = 0; i < d.x.rows(); ++i) {
        EXPECT_EQ(p4(i, 2), 0.0);
        EXPECT_NEAR(p4.row(i).sum(), 1.0, 1e-14);
        EXPECT_NEAR(p4(i, 0), p3(i, 0), 1e-12);
        EXPECT_NEAR(p4(i, 1), p3(i, 1), 1e-12);
        EXPECT_NEAR(p4(i, 3), p3(i, 2), 1e-12);
    }
    // two present classes of four: a sigmoid on the second one's score
    std::vector<int> two;
    for (int c : d.y) two.push_back(c == 0 ? 1 : 3);
    LogisticParams m2 = fit_logistic(d.x, two, 4, o);
    ASSERT_EQ(m2.present, (std::vector<int>{1, 3}));
    Matrix p2 = logistic_proba(m2, d.x);
    auto ref = probs_of(m2.coef, m2.intercept, d.x);
    for (Eigen::Index i = 0; i < d.x.rows(); ++i) {
        EXPECT_EQ(p2(i, 0), 0.0);
        EXPECT_EQ(p2(i, 2), 0.0);
        EXPECT_NEAR(p2(i, 1), static_cast<double>(ref[static_cast<size_t>(i)][0]), 1e-14);
        EXPECT_NEAR(p2(i, 3), static_cast<double>(ref[static_cast<size_t>(i)][1]), 1e-14);
    }
}

// At the softmax optimum: Σ_c ∂L/∂w_c = Xᵀ Σ_c (p_c - y_c) + λ Σ_c w_c = λ Σ_c w_c
// (probabilities and one-hot rows both sum to 1), so the weight rows sum to
// 0; ∂L/∂b_c = 0 says the mean predicted probability of each class is its
// frequency in the rows.
TEST(Logistic, SoftmaxKktConditions) {
    for (double l2 : {1.0, 0.2}) {
        Labelled d = make_classes(300, 4, 3, 71u);
        LogisticOptions o;
        o.l2 = l2;
        LogisticParams m = fit_logistic(d.x, d.y, 3, o);
        ASSERT_EQ(m.coef.rows(), 3);
        Vector row_sum = m.coef.colwise().sum().transpose();
        EXPECT_LT(row_sum.cwiseAbs().maxCoeff(), 1e-9) << "l2 " << l2 << ": " << row_sum.transpose();
        EXPECT_NEAR(m.intercept.sum(), 0.0, 1e-12 * (1.0 + m.intercept.cwiseAbs().sum()));
        Matrix pr = logistic_proba(m, d.x);
        for (int c = 0; c < 3; ++c) {
            const double count = static_cast<double>(std::count(d.y.begin(), d.y.end(), c));
            EXPECT_NEAR(pr.col(c).sum(), count, 1e-8) << "class " << c;
        }
    }
}

TEST(Logistic, NonPositiveL2IsInvalid) {
    Labelled d = make_classes(30, 2, 2, 81u);
    for (double l2 : {0.0, -1.0, double(NAN), double(INFINITY)}) {
        LogisticOptions o;
        o.l2 = l2;
        EXPECT_TRUE(throws_kind(ErrorKind::InvalidParameter, [&] { fit_logistic(d.x, d.y, 2, o); })) << l2;
    }
}

// ---------------------------------------------------------------------------
// Known core defect (reported, not fixed here); run with
// --gtest_also_run_disabled_tests to see it fail.
//
// Found by review, fixed (the move is measured with the intercepts centred):
// logistic.cpp fit_logistic(), softmax case (> 2 present classes): the
// Hessian is singular along the common shift of all intercepts (the loss does
// not change), and the 1e-10 * (1 + n) diagonal term added there is in the
// Hessian only. Rounding noise in Σ_c ∂L/∂b_c (~1e-15) is divided by that
// ~3e-8 eigenvalue, so once the fit has converged (other components of the
// step ~1e-15) every Newton step still moves all intercepts together by
// ~1e-8, far above the 1e-10 stopping tolerance. The loop stops only when
// the sum happens to round to exactly 0, often never: a 3-class fit of 300
// rows takes 11-100 Newton iterations instead of ~6 (mean ~60, many hit
// max_iterations = 100), and a warm start at the optimum (SISA resuming a
// slice) does not stop at once. The answer is still right (the shift is
// centred away at the end); the cost is up to ~15x the Newton iterations, each
// O(n K² p²), and `iterations` misreports convergence. Excluding the common
// intercept shift from the step (project it out, or centre the intercepts
// each iteration and measure the centred move) would fix it.
TEST(Logistic, SoftmaxNewtonStopsOnceConverged) {
    for (uint32_t seed = 0; seed < 10; ++seed) {
        Labelled d = make_classes(300, 3, 3, 100u + seed);
        LogisticParams cold = fit_logistic(d.x, d.y, 3, LogisticOptions{});
        EXPECT_LE(cold.iterations, 20) << "seed " << seed;
        LogisticParams at = fit_logistic(d.x, d.y, 3, LogisticOptions{}, &cold);
        EXPECT_LE(at.iterations, 2) << "seed " << seed << ": warm start at the optimum";
    }
}
