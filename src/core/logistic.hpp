// L2-regularised logistic regression as scikit-learn's LogisticRegression(C=1/λ)
// defines it: minimise Σ log-loss + (λ/2)‖w‖², intercept not penalised; one
// weight vector (sigmoid) for two classes, one per class (softmax) for more.
// Solved by damped Newton steps to a tight tolerance.
#pragma once

#include "classifier.hpp"

namespace unlearn {

struct LogisticParams {
    // classes this constituent saw, as indices into the model's classes;
    // the others get probability 0 (sklearn fitted on these rows alone)
    std::vector<int> present;
    Matrix coef;       // 1 × p for two present classes, one row per class for more, 0 × p for one
    Vector intercept;  // one per row of coef (softmax intercepts centred to sum 0)
    int classes = 0;   // K of the model
    int64_t rows = 0;
    int iterations = 0;
};

struct LogisticOptions {
    double l2 = 1.0;
    double tolerance = 1e-10;  // Newton step, relative to the parameters
    int max_iterations = 100;
    // certified removal's objective perturbation: adds bᵀθ (θ = [w; intercept],
    // two classes only); empty for none
    Vector linear;
};

// y: class indices in [0, classes). warm: a starting point (same present classes) or null.
LogisticParams fit_logistic(const RowMatrix &x, const std::vector<int> &y, int classes, const LogisticOptions &o,
                            const LogisticParams *warm = nullptr);
Matrix logistic_proba(const LogisticParams &m, const RowMatrix &x);
// Σ log-loss + (λ/2)‖w‖² at m: what the solver minimises (tests use it)
double logistic_objective(const LogisticParams &m, const RowMatrix &x, const std::vector<int> &y, double l2);

class LogisticLearner : public Learner {
public:
    LogisticLearner(int features, int classes, LogisticOptions o) : p_(features), k_(classes), o_(o) {}
    ConstituentPtr fit(const RowMatrix &x, const std::vector<int> &y, const Constituent *resume,
                       uint64_t stream, int32_t slice = 0) const override;
    ConstituentPtr decode(ByteReader &r) const override;

private:
    int p_, k_;
    LogisticOptions o_;
};

// The constituent a LogisticLearner makes (coefficients reads it).
class LogisticConstituent : public Constituent {
public:
    explicit LogisticConstituent(LogisticParams m) : m_(std::move(m)) {}
    Matrix proba(const RowMatrix &x) const override { return logistic_proba(m_, x); }
    Vector parameters() const override;
    void encode(ByteWriter &w) const override;
    const LogisticParams &params() const { return m_; }

private:
    LogisticParams m_;
};

}  // namespace unlearn
