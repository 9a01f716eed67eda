// Algorithm, strategy and option parsing (model.hpp): the names users type.
// Every bad request is InvalidParameter, which src/pg maps to 22023.
#include <gtest/gtest.h>

#include <cmath>

#include "model.hpp"
#include "testing.hpp"

using namespace unlearn;
using namespace unlearn::testing;

TEST(ModelOptions, AlgorithmNamesRoundTrip) {
    for (Algorithm a : {Algorithm::LinearRegression, Algorithm::Ridge, Algorithm::NaiveBayes})
        EXPECT_EQ(parse_algorithm(algorithm_name(a)), a);
    EXPECT_STREQ(algorithm_name(Algorithm::LinearRegression), "linear_regression");
    EXPECT_STREQ(algorithm_name(Algorithm::Ridge), "ridge");
    EXPECT_STREQ(algorithm_name(Algorithm::NaiveBayes), "naive_bayes");
    EXPECT_TRUE(is_classifier(Algorithm::NaiveBayes));
    EXPECT_FALSE(is_classifier(Algorithm::LinearRegression));
    EXPECT_FALSE(is_classifier(Algorithm::Ridge));
}

TEST(ModelOptions, UnknownAlgorithmIsInvalid) {
    for (const char *name : {"", "deep_learning", "linear regression", "ridge ", "logistic regression", "MLP"})
        EXPECT_TRUE(throws_kind(ErrorKind::InvalidParameter, [&] { parse_algorithm(name); })) << '"' << name << '"';
}

TEST(ModelOptions, StrategyAutoResolvesToIncremental) {
    for (Algorithm a : {Algorithm::LinearRegression, Algorithm::Ridge, Algorithm::NaiveBayes}) {
        EXPECT_EQ(parse_strategy("auto", a), Strategy::Incremental);
        EXPECT_EQ(parse_strategy("incremental", a), Strategy::Incremental);
    }
    EXPECT_STREQ(strategy_name(Strategy::Incremental), "incremental");
}

TEST(ModelOptions, UnavailableOrUnknownStrategyIsInvalid) {
    for (const char *name : {"magic", ""})
        EXPECT_TRUE(throws_kind(ErrorKind::InvalidParameter, [&] { parse_strategy(name, Algorithm::Ridge); }))
            << '"' << name << '"';
    // sisa is for algorithms without a summation form, certified is not built yet
    EXPECT_TRUE(throws_kind(ErrorKind::FeatureNotSupported, [&] { parse_strategy("sisa", Algorithm::Ridge); }));
    EXPECT_TRUE(throws_kind(ErrorKind::FeatureNotSupported, [&] { parse_strategy("certified", Algorithm::Ridge); }));
    EXPECT_TRUE(throws_kind(ErrorKind::InvalidParameter,
                            [&] { parse_strategy("incremental", Algorithm::LogisticRegression); }));
    EXPECT_EQ(parse_strategy("sisa", Algorithm::Mlp), Strategy::Sisa);
}

TEST(ModelOptions, RidgeDefaultsToSklearnAlpha) {
    EXPECT_EQ(parse_options(Algorithm::Ridge, {}).l2, 1.0);  // Ridge()'s alpha
    EXPECT_EQ(parse_options(Algorithm::Ridge, {{"seed", 3}}).l2, 1.0);
    EXPECT_EQ(parse_options(Algorithm::Ridge, {{"l2", 0.25}}).l2, 0.25);
    EXPECT_EQ(parse_options(Algorithm::LinearRegression, {}).l2, 0.0);
    EXPECT_EQ(parse_options(Algorithm::NaiveBayes, {{"seed", 42}}).seed, 42);
    EXPECT_EQ(parse_options(Algorithm::LinearRegression, {{"seed", -7}}).seed, -7);
}

TEST(ModelOptions, BadOptionsAreInvalid) {
    using Raw = std::map<std::string, double>;
    const std::vector<std::pair<Algorithm, Raw>> bad = {
        {Algorithm::Ridge, {{"l2", 0.0}}},
        {Algorithm::Ridge, {{"l2", -1.0}}},
        {Algorithm::Ridge, {{"l2", -0.0}}},
        {Algorithm::Ridge, {{"l2", NAN}}},
        {Algorithm::Ridge, {{"l2", INFINITY}}},
        {Algorithm::Ridge, {{"alpha", 1.0}}},               // unknown key
        {Algorithm::LinearRegression, {{"l2", 1.0}}},       // only ridge has l2
        {Algorithm::NaiveBayes, {{"l2", 1.0}}},
        {Algorithm::NaiveBayes, {{"var_smoothing", 1e-9}}},
        {Algorithm::NaiveBayes, {{"seed", 1.5}}},           // seeds are integers
        {Algorithm::NaiveBayes, {{"seed", 1e16}}},          // beyond exact doubles
        {Algorithm::NaiveBayes, {{"seed", NAN}}},
        {Algorithm::Ridge, {{"l2", 1.0}, {"shards", 4}}},
    };
    for (const auto &c : bad) {  // c: (algorithm, raw options)
        std::string shown;
        for (const auto &kv : c.second) shown += kv.first + "=" + std::to_string(kv.second) + " ";
        EXPECT_TRUE(throws_kind(ErrorKind::InvalidParameter, [&] { parse_options(c.first, c.second); }))
            << algorithm_name(c.first) << ": " << shown;
    }
}
