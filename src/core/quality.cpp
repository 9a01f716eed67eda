#include "quality.hpp"

#include <cmath>
#include <limits>
#include <map>

#include "metrics.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {
namespace {

constexpr double kUndefined = std::numeric_limits<double>::quiet_NaN();

double mean(const std::vector<double> &v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? kUndefined : s / static_cast<double>(v.size());
}

// f1 per label of the truth or the predictions, averaged unweighted; a
// label never predicted and never true is not counted (scikit-learn's
// labels = unique(y_true ∪ y_pred))
double macro_f1(const std::vector<double> &y, const std::vector<double> &predicted) {
    struct Counts { double tp = 0, fp = 0, fn = 0; };
    std::map<double, Counts> per;
    for (size_t i = 0; i < y.size(); ++i) {
        if (y[i] == predicted[i]) {
            per[y[i]].tp += 1;
        } else {
            per[y[i]].fn += 1;
            per[predicted[i]].fp += 1;
        }
    }
    if (per.empty()) return kUndefined;
    double sum = 0;
    for (const auto &kv : per) {
        const double d = 2 * kv.second.tp + kv.second.fp + kv.second.fn;
        sum += d > 0 ? 2 * kv.second.tp / d : 0.0;
    }
    return sum / static_cast<double>(per.size());
}

}  // namespace

std::vector<double> class_labels(const FittedModel &fit) {
    if (const auto *sisa = std::get_if<SisaFit>(&fit.fit)) {
        std::vector<double> out;
        for (int i = 0; i < sisa->classes.size(); ++i) out.push_back(sisa->classes.label(i));
        return out;
    }
    if (const auto *nb = std::get_if<NaiveBayesFit>(&fit.fit)) return nb->classes;
    return {};
}

QualityAccumulator::QualityAccumulator(const FittedModel &fit)
    : fit_(fit), classifier_(is_classifier(fit.algorithm)), labels_(class_labels(fit)) {}

void QualityAccumulator::add(const Eigen::Ref<const Vector> &x, double y) {
    y_.push_back(y);
    if (!classifier_) {
        predicted_.push_back(fit_.predict(x));
        return;
    }
    const Vector p = fit_.predict_proba(x);
    Eigen::Index top = 0;
    p.maxCoeff(&top);  // first of equals, as predict does
    predicted_.push_back(labels_.at(static_cast<size_t>(top)));
    int c = -1;
    for (size_t k = 0; k < labels_.size(); ++k)
        if (labels_[k] == y) c = static_cast<int>(k);
    loss_.push_back(-std::log(std::max(c < 0 ? 0.0 : p(c), 1e-15)));
    if (p.size() == 2) score_.push_back(p(1));
}

Quality QualityAccumulator::result() const {
    Quality q;
    q.classifier = classifier_;
    q.rows = static_cast<int64_t>(y_.size());
    if (!classifier_) {
        const double ybar = mean(y_);
        double ss_res = 0, ss_tot = 0, abs_err = 0;
        for (size_t i = 0; i < y_.size(); ++i) {
            const double e = y_[i] - predicted_[i];
            ss_res += e * e;
            abs_err += std::abs(e);
            ss_tot += (y_[i] - ybar) * (y_[i] - ybar);
        }
        const double n = static_cast<double>(y_.size());
        q.r2 = ss_tot > 0 ? 1 - ss_res / ss_tot : kUndefined;
        q.rmse = y_.empty() ? kUndefined : std::sqrt(ss_res / n);
        q.mae = y_.empty() ? kUndefined : abs_err / n;
        return q;
    }
    double hits = 0;
    for (size_t i = 0; i < y_.size(); ++i) hits += y_[i] == predicted_[i];
    q.accuracy = y_.empty() ? kUndefined : hits / static_cast<double>(y_.size());
    q.log_loss = mean(loss_);
    q.macro_f1 = macro_f1(y_, predicted_);
    q.roc_auc = kUndefined;
    if (labels_.size() == 2 && score_.size() == y_.size()) {
        std::vector<double> positive, negative;
        for (size_t i = 0; i < y_.size(); ++i) (y_[i] == labels_[1] ? positive : negative).push_back(score_[i]);
        if (!positive.empty() && !negative.empty()) q.roc_auc = threshold_attack(positive, negative).auc;
    }
    return q;
}

}  // namespace unlearn
