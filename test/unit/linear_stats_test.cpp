// Least squares in summation form against an independent QR solve, before
// and after forgetting, and its numerical stability under many deletions.
#include <gtest/gtest.h>

#include "error.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

TEST(LinearStats, OlsMatchesQrOnRawRows) {
    Data d = make_data(2000, 5, 1);
    LinearFit fit = stats_of(d.x, d.y).solve(0.0);
    EXPECT_LT(max_rel_diff(as_params(fit), qr_solve(d.x, d.y)), 1e-9);
    EXPECT_EQ(fit.rows, 2000);
}

TEST(LinearStats, RidgeMatchesCentredClosedForm) {
    Data d = make_data(500, 3, 2, 50.0);
    const double alpha = 2.5;
    Eigen::RowVectorXd mx = d.x.colwise().mean();
    RowMatrix xc = d.x.rowwise() - mx;
    Vector yc = d.y.array() - d.y.mean();
    Eigen::MatrixXd a = xc.transpose() * xc;
    a.diagonal().array() += alpha;
    Vector w = a.ldlt().solve(xc.transpose() * yc);
    LinearFit fit = stats_of(d.x, d.y).solve(alpha);
    EXPECT_LT(max_rel_diff(fit.coef, w), 1e-9);
    EXPECT_NEAR(fit.intercept, d.y.mean() - mx.dot(w), 1e-9 * std::abs(fit.intercept) + 1e-12);
}

TEST(LinearStats, ForgettingBlocksAndRowsEqualsRetrain) {
    Data d = make_data(1500, 4, 3);
    LinearStats s = stats_of(d.x, d.y);
    s.add_rows(d.x.topRows(400), d.y.head(400), -1);  // one block
    for (int i = 400; i < 450; ++i) s.add_rows(d.x.row(i), d.y.segment(i, 1), -1);  // single rows
    RowMatrix rest = d.x.bottomRows(1050);
    Vector rest_y = d.y.tail(1050);
    EXPECT_EQ(s.rows(), 1050);
    EXPECT_LT(max_rel_diff(as_params(s.solve(0.0)), qr_solve(rest, rest_y)), 1e-9);
    EXPECT_LT(max_rel_diff(as_params(s.solve(0.0)), as_params(stats_of(rest, rest_y).solve(0.0))), 1e-9);
}

// The drift requirement: delete 99% one row per statement.
TEST(LinearStats, NoDriftAfterDeleting99PercentOneRowAtATime) {
    Data d = make_data(2000, 5, 4, 1000.0);
    LinearStats s = stats_of(d.x, d.y);
    for (int i = 0; i < 1980; ++i) s.add_rows(d.x.row(i), d.y.segment(i, 1), -1);
    RowMatrix rest = d.x.bottomRows(20);
    Vector rest_y = d.y.tail(20);
    EXPECT_LT(max_rel_diff(as_params(s.solve(0.0)), as_params(stats_of(rest, rest_y).solve(0.0))), 1e-9);
    EXPECT_LT(max_rel_diff(as_params(s.solve(0.0)), qr_solve(rest, rest_y)), 1e-9);
}

TEST(LinearStats, SingularSystemIsAnErrorAndRidgeSolvesIt) {
    Data d = make_data(100, 3, 5);
    d.x.col(2) = 2.0 * d.x.col(1);  // collinear
    LinearStats s = stats_of(d.x, d.y);
    try {
        s.solve(0.0);
        FAIL() << "expected a singular system";
    } catch (const Error &e) {
        EXPECT_EQ(e.kind(), ErrorKind::Singular);
        EXPECT_NE(e.hint().find("ridge"), std::string::npos);
    }
    EXPECT_NO_THROW(s.solve(1.0));
    d.x.col(2).setConstant(7.0);  // constant
    EXPECT_THROW(stats_of(d.x, d.y).solve(0.0), Error);
}

TEST(LinearStats, EmptyModelIsADataException) {
    Data d = make_data(10, 2, 6);
    LinearStats s = stats_of(d.x, d.y);
    s.add_rows(d.x, d.y, -1);
    try {
        s.solve(0.0);
        FAIL();
    } catch (const Error &e) {
        EXPECT_EQ(e.kind(), ErrorKind::DataException);
    }
}

TEST(LinearStats, ShardsMergeToTheWholeModel) {
    Data d = make_data(900, 3, 7);
    std::vector<double> shift(d.x.row(0).data(), d.x.row(0).data() + 3);
    LinearStats total(3, shift, d.y(0));
    for (int s = 0; s < 3; ++s) {
        LinearStats part(3, shift, d.y(0));
        part.add_rows(d.x.middleRows(s * 300, 300), d.y.segment(s * 300, 300), +1);
        total.merge(part);
    }
    EXPECT_LT(max_rel_diff(as_params(total.solve(0.0)), as_params(stats_of(d.x, d.y).solve(0.0))), 1e-12);
    LinearStats other(3, {0, 0, 0}, 0);
    EXPECT_THROW(total.merge(other), Error);  // different layout
}

TEST(LinearStats, DropFeatureEqualsStatisticsWithoutTheColumn) {
    Data d = make_data(600, 4, 8);
    LinearStats s = stats_of(d.x, d.y);
    s.drop_feature(2);
    RowMatrix without(600, 3);
    without << d.x.leftCols(2), d.x.col(3);
    EXPECT_EQ(s.features(), 3);
    EXPECT_LT(max_rel_diff(as_params(s.solve(0.0)), qr_solve(without, d.y)), 1e-9);
}
