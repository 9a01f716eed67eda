#include "naive_bayes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>

#include "classifier.hpp"
#include "error.hpp"
#include "interrupt.hpp"
#include "grid_block.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

NaiveBayesStats::NaiveBayesStats(int features) : p_(features) {}

int64_t NaiveBayesStats::rows() const {
    int64_t n = 0;
    for (const auto &kv : classes_) n += kv.second.n;
    return n;
}

ClassStats &NaiveBayesStats::class_stats(double label) {
    // -0.0 and 0.0 are one class (== and the map's order say so): its key is
    // +0.0 whichever came first, so the bytes do not depend on row order
    if (label == 0) label = 0.0;
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

void NaiveBayesStats::check_new_labels(const Vector &y) const {
    std::set<double> added;
    double last = std::numeric_limits<double>::quiet_NaN();  // runs of one label are checked once
    for (Eigen::Index r = 0; r < y.size(); ++r) {
        const double v = y(r);
        if (v == last) continue;
        check_class_label(v);
        last = v;
        if (!classes_.count(v)) added.insert(v == 0 ? 0.0 : v);
    }
    check_class_count(classes_.size() + added.size());
}

void NaiveBayesStats::add_rows(const RowMatrix &x, const Vector &y, int sign) {
    if (x.cols() != p_ || x.rows() != y.size())
        throw Error(ErrorKind::Internal, "row block does not match the model's features");
    if (sign > 0) check_new_labels(y);
    for (Eigen::Index r = 0; r < y.size(); ++r)
        if (!std::isfinite(y(r))) throw Error(ErrorKind::DataException, "naive_bayes class labels must be finite");
    // Source blocks of a quarter of a grid block: each class's run of rows is
    // padded to a multiple of 4 (the vector kernel's width), which at most
    // quadruples the block.
    constexpr Eigen::Index kRows = GridBlock::kMaxRows / 4;
    std::vector<GridBlock::Column> cols(static_cast<size_t>(p_));
    for (int j = 0; j < p_; ++j) cols[static_cast<size_t>(j)] = {x.data() + j, x.outerStride()};
    GridBlockLease lease;
    GridBlock &g = lease.block();
    std::vector<double> labels;       // the block's classes, in order of appearance
    std::vector<ClassStats *> stats;  // and their sums
    std::vector<int> slot;            // each row's class in labels
    std::vector<Eigen::Index> begin, order;
    for (Eigen::Index start = 0; start < x.rows(); start += kRows) {
        check_interrupts();
        const Eigen::Index len = std::min(kRows, x.rows() - start);
        labels.clear();
        stats.clear();
        slot.assign(static_cast<size_t>(len), 0);
        for (Eigen::Index r = 0; r < len; ++r) {
            const double label = y(start + r);
            size_t s = r ? static_cast<size_t>(slot[static_cast<size_t>(r) - 1]) : 0;
            if (s >= labels.size() || labels[s] != label) {
                s = static_cast<size_t>(std::find(labels.begin(), labels.end(), label) - labels.begin());
                if (s == labels.size()) {
                    labels.push_back(label);
                    stats.push_back(&class_stats(label));
                }
            }
            slot[static_cast<size_t>(r)] = static_cast<int>(s);
        }
        // the block's rows grouped by class, each class one run padded with
        // rows of zeros (order -1) to a multiple of 4
        std::vector<Eigen::Index> count(labels.size(), 0);
        for (int s : slot) ++count[static_cast<size_t>(s)];
        begin.assign(labels.size() + 1, 0);
        for (size_t s = 0; s < labels.size(); ++s) begin[s + 1] = begin[s] + (count[s] + 3) / 4 * 4;
        order.assign(static_cast<size_t>(begin.back()), -1);
        {
            std::vector<Eigen::Index> next(begin.begin(), begin.end() - 1);
            for (Eigen::Index r = 0; r < len; ++r)
                order[static_cast<size_t>(next[static_cast<size_t>(slot[static_cast<size_t>(r)])]++)] = start + r;
        }
        g.fill(begin.back(), cols, 0, order.data());
        for (size_t s = 0; s < labels.size(); ++s) {
            const Eigen::Index from = begin[s], n = begin[s + 1] - begin[s];
            ClassStats &cs = *stats[s];
            cs.n += sign * count[s];
            for (int j = 0; j < p_; ++j) {
                const int e = g.exp[static_cast<size_t>(j)];
                int64_t squares[5];
                add_piece_sum(cs.sx[static_cast<size_t>(j)], g, j, from, n, e, sign);
                piece_products(g, j, j, from, n, squares);
                add_piece_products(cs.sxx[static_cast<size_t>(j)], squares, 2 * e, sign);
            }
        }
        // rare: the rows off the grid, exact one value at a time
        for (Eigen::Index r : g.off_grid) {
            const Eigen::Index src = order[static_cast<size_t>(r)];
            ClassStats &cs = *stats[static_cast<size_t>(slot[static_cast<size_t>(src - start)])];
            for (int j = 0; j < p_; ++j) {
                const double v = x(src, j);
                cs.sx[static_cast<size_t>(j)].add(v, sign);
                cs.sxx[static_cast<size_t>(j)].add_product(v, v, sign);
            }
        }
    }
    check_counts();
}

void NaiveBayesStats::merge(const NaiveBayesStats &o, int sign) {
    if (o.p_ != p_) throw Error(ErrorKind::CorruptState, "shard states of one model disagree on their layout");
    if (sign > 0) {  // the classes added here count against the limit, as add_rows counts them
        size_t added = 0;
        for (const auto &kv : o.classes_) added += classes_.count(kv.first) ? 0 : 1;
        check_class_count(classes_.size() + added);
    }
    for (const auto &kv : o.classes_) {
        ClassStats &cs = class_stats(kv.first);
        cs.n += sign * kv.second.n;
        for (int j = 0; j < p_; ++j) {
            cs.sx[j].add(kv.second.sx[j], sign);
            cs.sxx[j].add(kv.second.sxx[j], sign);
        }
    }
    check_counts();
}

void NaiveBayesStats::keep_empty_classes_of(const NaiveBayesStats &other) {
    for (const auto &kv : other.classes_)
        if (kv.second.n == 0) class_stats(kv.first);
}

void NaiveBayesStats::check_counts() const {
    for (const auto &kv : classes_)
        if (kv.second.n < 0)
            throw Error(ErrorKind::CorruptState, "a class count went negative: a row was forgotten twice");
}

double NaiveBayesStats::column_total(int j) const {
    ExactSum t;
    for (const auto &kv : classes_) t.add(kv.second.sx[static_cast<size_t>(j)]);
    return t.value();
}

void NaiveBayesStats::drop_feature(int j) {
    if (j < 0 || j >= p_) throw Error(ErrorKind::Internal, "feature index out of range");
    for (auto &kv : classes_) {
        kv.second.sx.erase(kv.second.sx.begin() + j);
        kv.second.sxx.erase(kv.second.sxx.begin() + j);
    }
    --p_;
}

namespace {
// The population variance (n Σx² - (Σx)²) / n², the numerator exact: a
// function of the values alone, never negative.
double variance(int64_t n, const ExactSum &sx, const ExactSum &sxx) {
    ExactSum c;
    c.add_product(sxx, n);
    c.add_product(sx, sx, -1);
    const double d = static_cast<double>(n);
    return c.value() / d / d;
}
}  // namespace

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
    std::vector<ExactSum> tx(p_), txx(p_);
    size_t c = 0;
    for (const auto &kv : classes_) {
        const ClassStats &cs = kv.second;
        const double n = static_cast<double>(cs.n);
        fit.classes.push_back(kv.first);
        fit.priors(c) = n / static_cast<double>(fit.rows);
        if (cs.n == 0) {  // a forgotten class: probability 0 whatever x is
            fit.theta.row(c).setZero();
            fit.var.row(c).setZero();
            ++c;
            continue;
        }
        for (int j = 0; j < p_; ++j) {
            fit.theta(c, j) = cs.sx[j].value() / n;
            fit.var(c, j) = variance(cs.n, cs.sx[j], cs.sxx[j]);
            tx[j].add(cs.sx[j]);
            txx[j].add(cs.sxx[j]);
        }
        ++c;
    }
    double max_var = 0.0;
    for (int j = 0; j < p_; ++j) max_var = std::max(max_var, variance(fit.rows, tx[j], txx[j]));
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
        if (priors(c) == 0) {  // a class that holds no row
            jll(c) = -std::numeric_limits<double>::infinity();
            continue;
        }
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
    // Eigen's vectorised exp clamps its argument: exp(-inf) would come out
    // as 4.6e-309, not the 0 a class that holds no row has
    for (Eigen::Index c = 0; c < e.size(); ++c)
        if (priors(c) == 0) e(c) = 0;
    return e / e.sum();
}

double NaiveBayesFit::predict(const Eigen::Ref<const Vector> &x) const {
    Eigen::Index best;
    joint_log_likelihood(x).maxCoeff(&best);
    return classes[static_cast<size_t>(best)];
}

}  // namespace unlearn
