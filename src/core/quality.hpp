// How good a fitted model is on rows it was not trained on: the figures
// scikit-learn users read. Regressors: R², RMSE, MAE (r2_score,
// mean_squared_error ** 0.5, mean_absolute_error); classifiers: accuracy,
// log-loss (each row's probability of its own class, floored at 1e-15 as
// FittedModel::loss does), ROC AUC for two classes (the second class's
// probability as the score) and macro F1 over the labels seen in the truth
// or the predictions (f1_score(average='macro')).
#pragma once

#include <cstdint>
#include <vector>

#include "model.hpp"

namespace unlearn {

struct Quality {
    bool classifier = false;
    int64_t rows = 0;
    // NaN when undefined (R² of a constant target, AUC of one class or of
    // more than two, anything of no row)
    double r2 = 0, rmse = 0, mae = 0;
    double accuracy = 0, log_loss = 0, roc_auc = 0, macro_f1 = 0;
};

// Collects rows one at a time (a scan hands them out in batches), then
// computes every figure at once.
class QualityAccumulator {
public:
    explicit QualityAccumulator(const FittedModel &fit);
    void add(const Eigen::Ref<const Vector> &x, double y);
    Quality result() const;

private:
    FittedModel fit_;  // a copy: cheap (shared constituents, small fits), and no reference to outlive
    bool classifier_;
    std::vector<double> labels_;  // the model's classes, ascending
    std::vector<double> y_, predicted_, loss_, score_;
};

// The model's class labels, ascending (empty for a regressor).
std::vector<double> class_labels(const FittedModel &fit);

}  // namespace unlearn
