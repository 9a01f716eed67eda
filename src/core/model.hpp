// A model as the core sees it: an algorithm, its options, and one state per
// shard. Shard states are summation-form statistics, so the model is their sum
// and forgetting is exact whatever the sharding.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "linear_stats.hpp"
#include "naive_bayes.hpp"

namespace unlearn {

enum class Algorithm : uint16_t { LinearRegression = 1, Ridge = 2, NaiveBayes = 3 };
enum class Strategy { Incremental };

Algorithm parse_algorithm(const std::string &name);
const char *algorithm_name(Algorithm a);
bool is_classifier(Algorithm a);
// 'auto' resolves to the exact strategy the algorithm supports.
Strategy parse_strategy(const std::string &name, Algorithm a);
const char *strategy_name(Strategy s);

// Options arrive as key -> number; the parser in src/pg hands over only
// numeric values and the core decides which keys are valid for the algorithm.
struct Options {
    double l2 = 0.0;
    int64_t seed = 0;
};
Options parse_options(Algorithm a, const std::map<std::string, double> &raw);

using ShardState = std::variant<LinearStats, NaiveBayesStats>;

// shift and y_shift: any one row of the data (its features and target).
ShardState empty_state(Algorithm a, int features, const std::vector<double> &shift, double y_shift);
void add_rows(ShardState &s, const RowMatrix &x, const Vector &y, int sign);
int64_t state_rows(const ShardState &s);
void drop_feature(ShardState &s, int j);
double column_total(const ShardState &s, int j);

std::vector<uint8_t> encode_state(Algorithm a, const ShardState &s);
ShardState decode_state(Algorithm expected, int features, const uint8_t *data, size_t len);

// The fitted model over all shards, cached by src/pg per model version.
struct FittedModel {
    Algorithm algorithm;
    std::variant<LinearFit, NaiveBayesFit> fit;

    double predict(const Eigen::Ref<const Vector> &x) const;
    Vector predict_proba(const Eigen::Ref<const Vector> &x) const;  // classifiers only
    // Parameters compared by verify: coefficients (and intercept last) for
    // linear models; priors, means and variances for naive Bayes.
    Vector parameters() const;
    int64_t rows() const;
};

// reference: columns ordinary least squares leaves out (one-hot reference categories)
FittedModel fit_model(Algorithm a, const Options &o, const std::vector<ShardState> &shards,
                      const std::vector<int> &reference = {});

}  // namespace unlearn
