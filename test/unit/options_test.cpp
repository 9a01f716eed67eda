// Algorithm, strategy and option names: every bad request is InvalidParameter.
#include <gtest/gtest.h>

#include "error.hpp"
#include "model.hpp"

using namespace unlearn;

namespace {
void expect_invalid(const std::function<void()> &f) {
    try {
        f();
        FAIL() << "expected InvalidParameter";
    } catch (const Error &e) {
        EXPECT_EQ(e.kind(), ErrorKind::InvalidParameter) << e.what();
    }
}
}  // namespace

TEST(Options, NamesParse) {
    EXPECT_EQ(parse_algorithm("linear_regression"), Algorithm::LinearRegression);
    EXPECT_EQ(parse_algorithm("naive_bayes"), Algorithm::NaiveBayes);
    EXPECT_EQ(parse_strategy("auto", Algorithm::Ridge), Strategy::Incremental);
    EXPECT_STREQ(algorithm_name(Algorithm::Ridge), "ridge");
}

TEST(Options, BadNamesAndOptionsAreRejected) {
    expect_invalid([] { parse_algorithm("deep"); });
    expect_invalid([] { parse_strategy("magic", Algorithm::Ridge); });
    expect_invalid([] { parse_strategy("sisa", Algorithm::Ridge); });
    expect_invalid([] { parse_options(Algorithm::LinearRegression, {{"l2", 1.0}}); });
    expect_invalid([] { parse_options(Algorithm::Ridge, {{"l2", -1.0}}); });
    expect_invalid([] { parse_options(Algorithm::Ridge, {{"l2", 0.0}}); });
    expect_invalid([] { parse_options(Algorithm::Ridge, {{"alpha", 1.0}}); });
    expect_invalid([] { parse_options(Algorithm::NaiveBayes, {{"seed", 1.5}}); });
}

TEST(Options, RidgeDefaultsToSklearnAlpha) {
    EXPECT_EQ(parse_options(Algorithm::Ridge, {}).l2, 1.0);
    EXPECT_EQ(parse_options(Algorithm::Ridge, {{"l2", 3.0}}).l2, 3.0);
    EXPECT_EQ(parse_options(Algorithm::NaiveBayes, {{"seed", 42}}).seed, 42);
}
