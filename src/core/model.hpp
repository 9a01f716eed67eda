// A model as the core sees it: an algorithm, its options, and one state per
// shard. Summation-form shard states add up to the model, so forgetting is
// exact whatever the sharding; SISA shards each hold a constituent model
// (the checkpoint of their last slice) and the model aggregates them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "linear_stats.hpp"
#include "naive_bayes.hpp"
#include "certified.hpp"
#include "mlp.hpp"
#include "sisa.hpp"
#include "forest.hpp"

namespace unlearn {

enum class Algorithm : uint16_t {
    LinearRegression = 1,
    Ridge = 2,
    NaiveBayes = 3,
    LogisticRegression = 4,
    Mlp = 5,
    RandomForest = 6,           // classification (RandomForestClassifier)
    RandomForestRegressor = 7,  // regression (RandomForestRegressor)
};
enum class Strategy { Incremental, Sisa, Certified, Dare };

Algorithm parse_algorithm(const std::string &name);
const char *algorithm_name(Algorithm a);
bool is_classifier(Algorithm a);
bool has_summation_form(Algorithm a);
bool is_forest(Algorithm a);
// 'auto' resolves to incremental where the algorithm has a summation form,
// dare for random forests, else sisa.
Strategy parse_strategy(const std::string &name, Algorithm a);
const char *strategy_name(Strategy s);

// A model's options, in the one shape every layer reads. Numeric options
// arrive as key -> number (parse_options: the core decides which keys are
// valid for the algorithm); the parser in src/pg adds the textual ones.
struct Options {
    double l2 = 0.0;
    int64_t seed = 0;
    int hidden = 32, layers = 1, epochs = 200, batch_size = 200;  // mlp
    double learning_rate = 1e-3, tol = 1e-4;                       // mlp
    int n_iter_no_change = 10;                                     // mlp
    bool vote = false;  // SISA aggregation: majority vote instead of mean probabilities
    double holdout = 0.0;  // share of rows kept out of training (lineage role holdout)
    double noise = 1.0, epsilon = 1.0, delta = 1e-4;  // certified removal
    // random forests (scikit-learn's names); max_features 0 is the default,
    // -1 'sqrt', -2 'log2', <= 1 a fraction, else a count
    int n_estimators = 100, max_depth = 0, min_samples_leaf = 1, k = 10, random_depth = 2;
    int cell_bits = 0;  // a forest's threshold cells (forest_cell); 0: ForestOptions' default
    double max_features = 0;
    // Read by the boundary, never by an algorithm (parsed there, as text).
    bool learn_inserts = false;    // on_insert = 'learn'
    bool retrain_inline = false;   // retrain = 'inline': a SISA shard retrains inside the DELETE
    std::string monitor_group;     // a column whose groups' holdout metrics each DELETE reports
    double impact_warning = 0.05;  // a group whose metric worsens by more than this raises a WARNING
};
// The per-algorithm views of Options, each made here only.
CertifiedOptions certified_options(const Options &o);
MlpOptions mlp_options(const Options &o);
// features: the model's width ('sqrt' and 'log2' become counts)
ForestOptions forest_options(const Options &o, int features);
Options parse_options(Algorithm a, const std::map<std::string, double> &raw);

// One SISA shard: the model's classes and its last checkpoint.
struct SisaShard {
    ClassLabels classes;
    Checkpoint last;
};

// One certified shard: the model's two classes and its state.
struct CertifiedShard {
    ClassLabels classes;
    CertifiedState state;
};

// A random forest's one shard: its classes (none for regression) and trees.
struct ForestShard {
    ClassLabels classes;
    Forest forest;
};

using ShardState = std::variant<LinearStats, NaiveBayesStats, SisaShard, CertifiedShard, ForestShard>;

// The learner SISA trains a shard's slices with.
std::unique_ptr<Learner> make_learner(Algorithm a, const Options &o, int features, int classes);

ShardState empty_state(Algorithm a, int features);
// A summation-form shard (LinearStats, NaiveBayesStats) as its accumulator;
// SISA and certified shards have none, and asking is an internal error.
SummationForm &summation(ShardState &s);
const SummationForm &summation(const ShardState &s);
int64_t state_rows(const ShardState &s);
// Memory a decoded state holds, estimated as Forest::bytes does (a sum's
// header and limbs, a matrix's doubles, a constituent's parameters): a
// summation or certified state is (p + 2)^2 / 2 sums or 2 (p + 1)^2 doubles,
// megabytes at a few hundred features, not small next to a forest.
size_t state_bytes(const ShardState &s);
// Adds (sign +1) or takes away (-1) a summation-form state's rows: the fold
// of a delta that a concurrent transaction wrote into the base it changed.
// Exact: the sums are, so the order of folds does not change a bit.
void merge_state(ShardState &base, const ShardState &delta, int sign);

// Summation-form states are framed as format 2 (exact sums, pg_unlearn 0.5);
// format 1 (0.4's double-double sums) is refused with a hint to resync.
// SISA and certified states keep format 1.
constexpr uint16_t kExactStateFormat = 2;
std::vector<uint8_t> encode_state(Algorithm a, const ShardState &s);
// o: the model's options (an mlp's layout); summation-form states ignore it.
// forest_statistics false: a forest decoded to predict from (Forest::decode)
ShardState decode_state(Algorithm expected, int features, const uint8_t *data, size_t len, const Options &o = {},
                        bool forest_statistics = true);
// For verify: the first statistic in which two summation-form states of one
// layout differ, named like "sum(x2*y)" or "class #1: sum(x3^2)" (classes
// by rank in ascending order, not by label); "" when
// their stored forms are byte-identical.
std::string state_difference(Algorithm a, const ShardState &ours, const ShardState &theirs);
// A checkpoint as stored: the model's classes and the checkpoint.
std::vector<uint8_t> encode_checkpoint(Algorithm a, const ClassLabels &classes, const Checkpoint &c);

// The fitted model over all shards, cached by src/pg per model version.
struct SisaFit {
    ClassLabels classes;
    std::vector<ConstituentPtr> members;  // one per shard, null when it holds no row
    bool vote = false;
    int64_t rows = 0;
    Matrix proba(const RowMatrix &x) const { return aggregate(members, x, classes.size(), vote); }
};

struct ForestFit {
    ClassLabels classes;  // none for regression
    std::shared_ptr<const Forest> forest;
    int64_t rows = 0;
};

struct FittedModel {
    Algorithm algorithm;
    std::variant<LinearFit, NaiveBayesFit, SisaFit, ForestFit> fit;

    double predict(const Eigen::Ref<const Vector> &x) const;
    Vector predict_proba(const Eigen::Ref<const Vector> &x) const;  // classifiers only
    // The row's loss: log-loss of its class for classifiers (a class the
    // model does not know counts as probability 1e-15), squared error else.
    double loss(const Eigen::Ref<const Vector> &x, double y) const;
    // Parameters compared by verify: coefficients (and intercept last) for
    // linear models; priors, means and variances for naive Bayes; feature
    // importances for forests.
    Vector parameters() const;
    int64_t rows() const;
};

// reference: columns ordinary least squares leaves out (one-hot reference categories)
FittedModel fit_model(Algorithm a, const Options &o, const std::vector<ShardState> &shards,
                      const std::vector<int> &reference = {});
// The same from states no longer needed: a forest (megabytes of nodes) is
// moved into the fit, not copied.
FittedModel fit_model(Algorithm a, const Options &o, std::vector<ShardState> &&shards,
                      const std::vector<int> &reference = {});

}  // namespace unlearn
