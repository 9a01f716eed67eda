#include "linear_stats.hpp"

#include <algorithm>
#include <cmath>

#include "error.hpp"
#include "interrupt.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

namespace {
// Rows are multiplied in blocks with Eigen (vectorised) and each block's
// result is folded into the double-double sums: fast, and the rounding inside
// one block is of the size of that block, not of the whole table.
constexpr Eigen::Index kBlock = 256;

// Why the system could not be solved, and the fix that fits it: features
// whose spreads differ beyond what double precision resolves need rescaling
// (no penalty bridges that gap); collinear features need one dropped, or a
// penalty (ridge) large enough against their spread.
Error singular_error(double alpha, int64_t rows, const Vector &diagonal) {
    const double dmax = diagonal.size() ? diagonal.maxCoeff() : 0.0, dmin = diagonal.size() ? diagonal.minCoeff() : 0.0;
    const std::string held = " on the " + std::to_string(rows) + " rows the model holds";
    const std::string system = alpha > 0 ? "the ridge system" : "the normal equations";
    if (dmin > 0 && (!std::isfinite(dmax) || dmax / dmin > 1e13))
        return Error(ErrorKind::Singular,
                     system + " cannot be solved in double precision: the features' spreads differ by a factor of "
                              "more than 1e13" + held,
                     "Rescale the features to comparable ranges (standardise them), or leave out the feature with "
                     "extreme values; no l2 bridges that gap.");
    if (alpha > 0)
        return Error(ErrorKind::Singular,
                     "the ridge system is numerically singular: features are collinear and l2 is small against "
                     "their spread" + held,
                     "Raise l2, rescale the features, or drop a redundant feature.");
    return Error(ErrorKind::Singular,
                 "the normal equations are singular: features are constant or collinear" + held,
                 "Drop a redundant feature, or use algorithm 'ridge' with options '{\"l2\": 1.0}'.");
}
}  // namespace

LinearStats::LinearStats(int features, std::vector<double> shift, double y_shift)
    : p_(features),
      shift_(std::move(shift)),
      y_shift_(y_shift),
      sx_(features),
      sxx_(static_cast<size_t>(features) * (features + 1) / 2),
      sxy_(features) {
    if (static_cast<int>(shift_.size()) != p_)
        throw Error(ErrorKind::Internal, "shift has the wrong length");
}

size_t LinearStats::index(int i, int j) const {
    // row i of the packed upper triangle starts after i rows of decreasing length
    return static_cast<size_t>(i) * p_ - static_cast<size_t>(i) * (i - 1) / 2 + (j - i);
}

void LinearStats::add_rows(const RowMatrix &x, const Vector &y, int sign) {
    if (x.cols() != p_ || x.rows() != y.size())
        throw Error(ErrorKind::Internal, "row block does not match the model's features");
    const Eigen::Map<const Eigen::RowVectorXd> c(shift_.data(), p_);
    for (Eigen::Index start = 0; start < x.rows(); start += kBlock) {
        check_interrupts();  // a block of 256 rows: well under a millisecond at 100 features
        Eigen::Index len = std::min(kBlock, x.rows() - start);
        RowMatrix z = x.middleRows(start, len).rowwise() - c;
        Vector yb = y.segment(start, len).array() - y_shift_;
        Eigen::MatrixXd zz = Eigen::MatrixXd::Zero(p_, p_);
        zz.selfadjointView<Eigen::Upper>().rankUpdate(z.transpose());
        Eigen::VectorXd zy = z.transpose() * yb;
        Eigen::VectorXd zs = z.colwise().sum().transpose();
        double s = sign;
        for (int i = 0; i < p_; ++i) {
            sx_[i].add(s * zs(i));
            sxy_[i].add(s * zy(i));
            for (int j = i; j < p_; ++j) xx(i, j).add(s * zz(i, j));
        }
        sy_.add(s * yb.sum());
        syy_.add(s * yb.squaredNorm());
        n_ += sign * len;
    }
}

void LinearStats::merge(const LinearStats &o) {
    if (o.p_ != p_ || o.shift_ != shift_ || o.y_shift_ != y_shift_)
        throw Error(ErrorKind::CorruptState, "shard states of one model disagree on their layout");
    auto mine = sums();
    auto theirs = o.sums();
    for (size_t k = 0; k < mine.size(); ++k) mine[k]->add(*theirs[k]);
    n_ += o.n_;
}

double LinearStats::column_total(int j) const {
    DDSum t = sx_[static_cast<size_t>(j)];
    t.add(static_cast<double>(n_) * shift_[static_cast<size_t>(j)]);
    return t.value();
}

LinearFit LinearStats::solve(double alpha, const std::vector<int> &excluded) const {
    if (!excluded.empty()) {
        LinearStats reduced = *this;
        std::vector<int> drop(excluded);
        std::sort(drop.rbegin(), drop.rend());
        for (int j : drop) reduced.drop_feature(j);
        LinearFit f = reduced.solve(alpha);
        Vector coef = Vector::Zero(p_);
        for (int j = 0, k = 0; j < p_; ++j)
            if (std::find(excluded.begin(), excluded.end(), j) == excluded.end()) coef(j) = f.coef(k++);
        f.coef = coef;
        return f;
    }
    if (n_ <= 0)
        throw Error(ErrorKind::DataException, "the model holds no rows",
                    "Every row it was trained on has been forgotten; train it again on new data.");
    const double n = static_cast<double>(n_);
    Vector mx(p_), bx(p_);
    Eigen::MatrixXd a(p_, p_);
    const double my = sy_.value() / n;
    for (int i = 0; i < p_; ++i) mx(i) = sx_[i].value() / n;
    for (int i = 0; i < p_; ++i) {
        bx(i) = sxy_[i].value() - n * mx(i) * my;
        for (int j = i; j < p_; ++j) a(i, j) = a(j, i) = xx(i, j).value() - n * mx(i) * mx(j);
    }
    a.diagonal().array() += alpha;

    // Judge the rank on the correlation scale so that units do not matter.
    Vector d = a.diagonal();
    const double dmax = p_ ? d.maxCoeff() : 0.0;
    bool singular = p_ > 0 && !(d.minCoeff() > 1e-13 * dmax && dmax > 0);
    if (!singular && p_ > 0) {
        Vector inv = d.array().sqrt().inverse();
        Eigen::MatrixXd corr = inv.asDiagonal() * a * inv.asDiagonal();
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(corr, Eigen::EigenvaluesOnly);
        singular = !(eig.eigenvalues().minCoeff() > 1e-12 * eig.eigenvalues().maxCoeff());
    }
    if (singular) throw singular_error(alpha, n_, d);

    LinearFit fit;
    fit.coef = a.ldlt().solve(bx);
    // undo the shift: the intercept is relative to the original feature scale
    const Eigen::Map<const Vector> c(shift_.data(), p_);
    fit.intercept = y_shift_ + my - (mx + c).dot(fit.coef);
    fit.rows = n_;
    return fit;
}

void LinearStats::drop_feature(int j) {
    if (j < 0 || j >= p_) throw Error(ErrorKind::Internal, "feature index out of range");
    std::vector<DDSum> sxx;
    for (int a = 0; a < p_; ++a)
        for (int b = a; b < p_; ++b)
            if (a != j && b != j) sxx.push_back(xx(a, b));
    sxx_ = std::move(sxx);
    sx_.erase(sx_.begin() + j);
    sxy_.erase(sxy_.begin() + j);
    shift_.erase(shift_.begin() + j);
    --p_;
}

std::vector<DDSum *> LinearStats::sums() {
    std::vector<DDSum *> out;
    for (auto &s : sx_) out.push_back(&s);
    out.push_back(&sy_);
    for (auto &s : sxx_) out.push_back(&s);
    for (auto &s : sxy_) out.push_back(&s);
    out.push_back(&syy_);
    return out;
}

std::vector<const DDSum *> LinearStats::sums() const {
    auto mut = const_cast<LinearStats *>(this)->sums();
    return {mut.begin(), mut.end()};
}

}  // namespace unlearn
