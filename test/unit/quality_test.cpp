// The quality figures of src/core/quality against hand-computed values, and
// the attack's ROC curve.
#include <gtest/gtest.h>

#include <cmath>

#include "metrics.hpp"
#include "quality.hpp"

using namespace unlearn;

namespace {

FittedModel fitted(Algorithm a, const RowMatrix &x, const Vector &y) {
    ShardState s = empty_state(a, static_cast<int>(x.cols()));
    summation(s).add_rows(x, y, +1);
    return fit_model(a, Options{}, {s});
}

}  // namespace

TEST(Quality, RegressionFiguresAreTheTextbookOnes) {
    RowMatrix x(6, 1);
    x << 0, 1, 2, 3, 4, 5;
    Vector y(6);
    y << 0.1, 0.9, 2.2, 2.8, 4.1, 5.0;
    const FittedModel fit = fitted(Algorithm::LinearRegression, x, y);
    RowMatrix tx(3, 1);
    tx << 1, 2, 7;
    Vector ty(3);
    ty << 1.5, 1.0, 6.0;
    QualityAccumulator acc(fit);
    for (Eigen::Index i = 0; i < tx.rows(); ++i) acc.add(tx.row(i).transpose(), ty(i));
    const Quality q = acc.result();
    double ss = 0, ab = 0, mean = ty.mean(), tot = 0;
    for (Eigen::Index i = 0; i < 3; ++i) {
        const double e = ty(i) - fit.predict(tx.row(i).transpose());
        ss += e * e;
        ab += std::abs(e);
        tot += (ty(i) - mean) * (ty(i) - mean);
    }
    EXPECT_FALSE(q.classifier);
    EXPECT_EQ(q.rows, 3);
    EXPECT_NEAR(q.r2, 1 - ss / tot, 1e-12);
    EXPECT_NEAR(q.rmse, std::sqrt(ss / 3), 1e-12);
    EXPECT_NEAR(q.mae, ab / 3, 1e-12);
}

TEST(Quality, ConstantTargetHasNoR2) {
    RowMatrix x(4, 1);
    x << 0, 1, 2, 3;
    Vector y(4);
    y << 1, 2, 3, 4;
    QualityAccumulator acc(fitted(Algorithm::LinearRegression, x, y));
    Vector one(1);
    one << 1.0;
    acc.add(one, 5.0);
    acc.add(one, 5.0);
    EXPECT_TRUE(std::isnan(acc.result().r2));
}

TEST(Quality, ClassifierFigures) {
    // two well separated classes, and test rows with one mistake
    RowMatrix x(8, 1);
    x << -3, -2.5, -2, -1.5, 1.5, 2, 2.5, 3;
    Vector y(8);
    y << 0, 0, 0, 0, 1, 1, 1, 1;
    const FittedModel fit = fitted(Algorithm::NaiveBayes, x, y);
    QualityAccumulator acc(fit);
    const double tx[] = {-2, -1, 1.8, -0.8}, ty[] = {0, 0, 1, 1};
    Vector r(1);
    double loss = 0;
    for (int i = 0; i < 4; ++i) {
        r << tx[i];
        acc.add(r, ty[i]);
        loss += -std::log(std::max(fit.predict_proba(r)(static_cast<int>(ty[i])), 1e-15));
    }
    const Quality q = acc.result();
    EXPECT_TRUE(q.classifier);
    EXPECT_DOUBLE_EQ(q.accuracy, 0.75);
    EXPECT_NEAR(q.log_loss, loss / 4, 1e-12);
    // class 0: tp 2, fp 1, fn 0 -> 0.8; class 1: tp 1, fp 0, fn 1 -> 2/3
    EXPECT_NEAR(q.macro_f1, (0.8 + 2.0 / 3) / 2, 1e-12);
    // the second class's probability grows with x: positives (1.8, -0.8) rank above negatives (-1, -2),
    // though -0.8 is predicted as class 0: AUC 1 while accuracy is 0.75
    EXPECT_NEAR(q.roc_auc, 1.0, 1e-12);
}

TEST(Quality, RocCurveRunsFromCornerToCorner) {
    const AttackFigures f = threshold_attack({3, 2, 1}, {2.5, 0});
    ASSERT_GE(f.roc.size(), 2u);
    EXPECT_EQ(f.roc.front(), std::make_pair(0.0, 0.0));
    EXPECT_EQ(f.roc.back(), std::make_pair(1.0, 1.0));
    for (size_t i = 1; i < f.roc.size(); ++i) {
        EXPECT_GE(f.roc[i].first, f.roc[i - 1].first);
        EXPECT_GE(f.roc[i].second, f.roc[i - 1].second);
    }
    EXPECT_NEAR(f.auc, 4.0 / 6, 1e-12);
}
