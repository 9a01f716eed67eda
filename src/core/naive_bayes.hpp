// Gaussian naive Bayes in summation form: per class a count, the exact sum and
// sum of squares of every feature (ExactSum). Forgetting subtracts them; a
// class whose last row is forgotten leaves the model, as it would be unknown
// to a retrain. The state, and so the fit, is a function of the rows held.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "exact_sum.hpp"
#include "linear_stats.hpp"

namespace unlearn {

// Memory: 2p sums of ~80 bytes each (see LinearStats) per class.
struct ClassStats {
    int64_t n = 0;
    std::vector<ExactSum> sx;   // sum of x
    std::vector<ExactSum> sxx;  // sum of x^2
};

// The fitted parameters, with scikit-learn's GaussianNB conventions:
// classes ascending, priors from counts, population variances plus
// var_smoothing times the largest variance of any feature over all rows.
struct NaiveBayesFit {
    std::vector<double> classes;
    Vector priors;
    Eigen::MatrixXd theta;  // classes x features
    Eigen::MatrixXd var;    // classes x features
    double epsilon = 0.0;
    int64_t rows = 0;

    Vector joint_log_likelihood(const Eigen::Ref<const Vector> &x) const;
    Vector predict_proba(const Eigen::Ref<const Vector> &x) const;
    double predict(const Eigen::Ref<const Vector> &x) const;
};

class NaiveBayesStats final : public SummationForm {
public:
    // What a stored state may hold (states written before the shared class
    // label rule took up to 1000); training and learning follow
    // check_class_label and check_class_count (classifier.hpp).
    static constexpr size_t kMaxClasses = 1000;
    static constexpr double kVarSmoothing = 1e-9;

    NaiveBayesStats() = default;
    explicit NaiveBayesStats(int features);

    // Adding (sign +1) refuses, before any change, a label that is not a
    // class label or one that would take the model past kMaxClassLabels.
    void add_rows(const RowMatrix &x, const Vector &y, int sign) override;
    // sign -1 takes away another state's rows (a delta of forgotten rows)
    void merge(const NaiveBayesStats &other, int sign = 1);
    NaiveBayesFit solve() const;
    void drop_feature(int j) override;  // exact: features are independent given the class
    double column_total(int j) const override;

    int features() const override { return p_; }
    int64_t rows() const override;
    const std::map<double, ClassStats> &classes() const { return classes_; }
    std::map<double, ClassStats> &classes() { return classes_; }
    ClassStats &class_stats(double label);

private:
    void check_new_labels(const Vector &y) const;
    void drop_empty_classes();

    int p_ = 0;
    std::map<double, ClassStats> classes_;
};

}  // namespace unlearn
