#include "naive_bayes.hpp"

#include <cmath>
#include <string>

#include "error.hpp"
#include "interrupt.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

NaiveBayesStats::NaiveBayesStats(int features, std::vector<double> shift)
    : p_(features), shift_(std::move(shift)) {
    if (static_cast<int>(shift_.size()) != p_)
        throw Error(ErrorKind::Internal, "shift has the wrong length");
}

int64_t NaiveBayesStats::rows() const {
    int64_t n = 0;
    for (const auto &kv : classes_) n += kv.second.n;
    return n;
}

ClassStats &NaiveBayesStats::class_stats(double label) {
    auto it = classes_.find(label);
    if (it != classes_.end()) return it->second;
    if (classes_.size() >= kMaxClasses)
        throw Error(ErrorKind::DataException,
                    "naive_bayes target has more than " + std::to_string(kMaxClasses) + " distinct classes",
                    "Is the target a continuous value? Use linear_regression or ridge for it.");
    ClassStats &cs = classes_[label];
    cs.sx.resize(p_);
    cs.sxx.resize(p_);
    return cs;
}

void NaiveBayesStats::add_rows(const RowMatrix &x, const Vector &y, int sign) {
    if (x.cols() != p_ || x.rows() != y.size())
        throw Error(ErrorKind::Internal, "row block does not match the model's features");
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
        if (r % 1024 == 0) check_interrupts();
        if (!std::isfinite(y(r)))
            throw Error(ErrorKind::DataException, "naive_bayes class labels must be finite");
        ClassStats &cs = class_stats(y(r));
        for (int j = 0; j < p_; ++j) {
            double z = x(r, j) - shift_[j];
            cs.sx[j].add(sign * z);
            cs.sxx[j].add(sign * z * z);
        }
        cs.n += sign;
    }
    drop_empty_classes();
}

void NaiveBayesStats::merge(const NaiveBayesStats &o) {
    if (o.p_ != p_ || o.shift_ != shift_)
        throw Error(ErrorKind::CorruptState, "shard states of one model disagree on their layout");
    for (const auto &kv : o.classes_) {
        ClassStats &cs = class_stats(kv.first);
        cs.n += kv.second.n;
        for (int j = 0; j < p_; ++j) {
            cs.sx[j].add(kv.second.sx[j]);
            cs.sxx[j].add(kv.second.sxx[j]);
        }
    }
    drop_empty_classes();
}

void NaiveBayesStats::drop_empty_classes() {
    for (auto it = classes_.begin(); it != classes_.end();) {
        if (it->second.n < 0)
            throw Error(ErrorKind::CorruptState, "a class count went negative: a row was forgotten twice");
        it = it->second.n == 0 ? classes_.erase(it) : std::next(it);
    }
}

double NaiveBayesStats::column_total(int j) const {
    DDSum t;
    for (const auto &kv : classes_) {
        t.add(kv.second.sx[static_cast<size_t>(j)]);
        t.add(static_cast<double>(kv.second.n) * shift_[static_cast<size_t>(j)]);
    }
    return t.value();
}

void NaiveBayesStats::drop_feature(int j) {
    if (j < 0 || j >= p_) throw Error(ErrorKind::Internal, "feature index out of range");
    for (auto &kv : classes_) {
        kv.second.sx.erase(kv.second.sx.begin() + j);
        kv.second.sxx.erase(kv.second.sxx.begin() + j);
    }
    shift_.erase(shift_.begin() + j);
    --p_;
}

NaiveBayesFit NaiveBayesStats::solve() const {
    NaiveBayesFit fit;
    fit.rows = rows();
    if (fit.rows <= 0)
        throw Error(ErrorKind::DataException, "the model holds no rows",
                    "Every row it was trained on has been forgotten; train it again on new data.");
    const size_t k = classes_.size();
    fit.classes.reserve(k);
    fit.priors.resize(k);
    fit.theta.resize(k, p_);
    fit.var.resize(k, p_);

    // overall variance of each feature, from the sums of all classes together
    std::vector<DDSum> tx(p_), txx(p_);
    size_t c = 0;
    for (const auto &kv : classes_) {
        const ClassStats &cs = kv.second;
        const double n = static_cast<double>(cs.n);
        fit.classes.push_back(kv.first);
        fit.priors(c) = n / static_cast<double>(fit.rows);
        for (int j = 0; j < p_; ++j) {
            double m = cs.sx[j].value() / n;
            fit.theta(c, j) = shift_[j] + m;
            fit.var(c, j) = std::max(0.0, cs.sxx[j].value() / n - m * m);
            tx[j].add(cs.sx[j]);
            txx[j].add(cs.sxx[j]);
        }
        ++c;
    }
    double max_var = 0.0;
    for (int j = 0; j < p_; ++j) {
        double n = static_cast<double>(fit.rows);
        double m = tx[j].value() / n;
        max_var = std::max(max_var, txx[j].value() / n - m * m);
    }
    fit.epsilon = kVarSmoothing * max_var;
    fit.var.array() += fit.epsilon;
    if ((fit.var.array() <= 0.0).any())
        throw Error(ErrorKind::DataException, "every feature is constant on the rows the model holds",
                    "naive_bayes needs at least one feature that varies.");
    return fit;
}

Vector NaiveBayesFit::joint_log_likelihood(const Eigen::Ref<const Vector> &x) const {
    const Eigen::Index k = static_cast<Eigen::Index>(classes.size());
    Vector jll(k);
    for (Eigen::Index c = 0; c < k; ++c) {
        auto v = var.row(c).array();
        auto d = x.transpose().array() - theta.row(c).array();
        jll(c) = std::log(priors(c)) - 0.5 * (2.0 * M_PI * v).log().sum() - 0.5 * (d * d / v).sum();
    }
    return jll;
}

Vector NaiveBayesFit::predict_proba(const Eigen::Ref<const Vector> &x) const {
    Vector jll = joint_log_likelihood(x);
    double m = jll.maxCoeff();
    Vector e = (jll.array() - m).exp();
    return e / e.sum();
}

double NaiveBayesFit::predict(const Eigen::Ref<const Vector> &x) const {
    Eigen::Index best;
    joint_log_likelihood(x).maxCoeff(&best);
    return classes[static_cast<size_t>(best)];
}

}  // namespace unlearn
