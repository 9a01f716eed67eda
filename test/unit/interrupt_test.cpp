// The cancellation hook (interrupt.hpp): every long loop of the core calls
// it, a hook that throws stops the computation with that exception, and a
// computation the hook let run gives exactly what it gives without a hook.
// The logistic solver visits large inputs in chunks (so that it can be
// interrupted); its answer there is checked against the gradient of the
// objective written out over all rows at once.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "certified.hpp"
#include "interrupt.hpp"
#include "logistic.hpp"
#include "mlp.hpp"
#include "naive_bayes.hpp"
#include "sisa.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

namespace {

struct Cancelled {};

int calls = 0;
int cancel_at = -1;  // the call that throws; -1: never
void counting_hook() {
    if (++calls == cancel_at) throw Cancelled{};
}

// Installs the counting hook for one test and removes it afterwards.
struct HookScope {
    explicit HookScope(int at) {
        calls = 0;
        cancel_at = at;
        set_interrupt_hook(&counting_hook);
    }
    ~HookScope() { set_interrupt_hook(nullptr); }
};

struct Classes {
    RowMatrix x;
    std::vector<int> y;
};

Classes two_classes(int rows, int features, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> n01(0.0, 1.0);
    Classes d{RowMatrix(rows, features), std::vector<int>(static_cast<size_t>(rows))};
    for (int i = 0; i < rows; ++i) {
        double score = 0;
        for (int j = 0; j < features; ++j) score += (d.x(i, j) = n01(rng)) / (1.0 + j);
        d.y[static_cast<size_t>(i)] = score + n01(rng) > 0 ? 1 : 0;
    }
    return d;
}

}  // namespace

TEST(Interrupts, EveryLongComputationChecks) {
    const Classes d = two_classes(2000, 5, 1);
    const Data lin = make_data(5000, 4, 2);
    HookScope hook(-1);
    fit_logistic(d.x, d.y, 2, LogisticOptions{});
    EXPECT_GT(calls, 2) << "logistic Newton iterations";
    calls = 0;
    MlpOptions mo;
    mo.epochs = 3;
    MlpLearner(5, 2, mo).fit(d.x, d.y, nullptr, 0);
    EXPECT_GE(calls, 3 * 2000 / mo.batch_size) << "mlp mini-batches";
    calls = 0;
    CertifiedOptions co;
    certified_train(d.x, d.y, co, 0);
    EXPECT_GT(calls, 2) << "certified training";
    calls = 0;
    linear_stats_of(lin.x, lin.y);
    EXPECT_GE(calls, 5000 / 1024) << "summation of a linear model";  // one check per grid block
    calls = 0;
    NaiveBayesStats nb(4);
    nb.add_rows(lin.x, lin.y.unaryExpr([](double v) { return v > 0 ? 1.0 : 0.0; }), +1);
    EXPECT_GE(calls, 5000 / 256) << "summation of naive Bayes";  // one check per quarter grid block
}

TEST(Interrupts, AThrowingHookStopsTheComputation) {
    const Classes d = two_classes(2000, 5, 3);
    MlpOptions mo;
    mo.epochs = 50;
    {
        HookScope hook(7);
        EXPECT_THROW(MlpLearner(5, 2, mo).fit(d.x, d.y, nullptr, 0), Cancelled);
        EXPECT_EQ(calls, 7);  // nothing ran past the cancel
        calls = 0;
        EXPECT_THROW(fit_logistic(d.x, d.y, 2, LogisticOptions{}), Cancelled);
        calls = 0;
        EXPECT_THROW(certified_train(d.x, d.y, CertifiedOptions{}, 0), Cancelled);
    }
    // SISA slices: the learner's cancel leaves train_slices too
    ShardRows rows;
    rows.x = d.x;
    rows.y = d.y;
    for (int i = 0; i < 2000; ++i) {
        rows.slice.push_back(i % 2);
        rows.hash.push_back(static_cast<uint64_t>(i));
        rows.keys.push_back(std::to_string(i));
    }
    rows.sort_canonical();
    LogisticLearner learner(5, 2, LogisticOptions{});
    HookScope hook(3);
    EXPECT_THROW(train_slices(learner, rows, 2, 0, nullptr, 0), Cancelled);
}

TEST(Interrupts, AHookThatLetsItRunChangesNothing) {
    const Classes d = two_classes(1500, 4, 5);
    MlpOptions mo;
    mo.epochs = 4;
    const Vector plain = MlpLearner(4, 2, mo).fit(d.x, d.y, nullptr, 9)->parameters();
    const LogisticParams plain_lr = fit_logistic(d.x, d.y, 2, LogisticOptions{});
    HookScope hook(-1);
    EXPECT_EQ(MlpLearner(4, 2, mo).fit(d.x, d.y, nullptr, 9)->parameters(), plain);
    const LogisticParams hooked = fit_logistic(d.x, d.y, 2, LogisticOptions{});
    EXPECT_EQ(hooked.coef, plain_lr.coef);
    EXPECT_EQ(hooked.intercept, plain_lr.intercept);
}

TEST(Interrupts, ChunkedLogisticReachesTheOptimumOverAllRows) {
    // 40 features: chunks of about 12 000 rows, so 30 000 rows take three
    const Classes d = two_classes(30000, 40, 7);
    LogisticOptions o;
    o.l2 = 2.0;
    const LogisticParams m = fit_logistic(d.x, d.y, 2, o);
    // the gradient of Σ log-loss + (λ/2)‖w‖², over all rows in one product
    Vector z = (d.x * m.coef.row(0).transpose()).array() + m.intercept(0);
    Vector r(z.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) r(i) = 1.0 / (1.0 + std::exp(-z(i))) - d.y[static_cast<size_t>(i)];
    const Vector gw = d.x.transpose() * r + o.l2 * m.coef.row(0).transpose();
    // against the gradient at zero (p = 1/2 everywhere): the solver stops on
    // a 1e-10 relative step, which leaves the gradient some 1e-9 of it
    Vector r0(z.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) r0(i) = 0.5 - d.y[static_cast<size_t>(i)];
    const double scale = (d.x.transpose() * r0).cwiseAbs().maxCoeff();
    EXPECT_LT(gw.cwiseAbs().maxCoeff(), 1e-8 * scale);
    EXPECT_LT(std::fabs(r.sum()), 1e-8 * scale);
}
