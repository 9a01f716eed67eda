#include "linear_stats.hpp"

#include <algorithm>
#include <cmath>

#include "error.hpp"
#include "interrupt.hpp"
#include "grid_block.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

namespace {
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

LinearStats::LinearStats(int features)
    : p_(features), m_(static_cast<size_t>(features + 2) * (features + 3) / 2) {}

size_t LinearStats::index(int a, int b) const {
    // row a of the packed upper triangle starts after a rows of decreasing length
    const size_t q = static_cast<size_t>(p_) + 2;
    return static_cast<size_t>(a) * q - static_cast<size_t>(a) * (a - 1) / 2 + static_cast<size_t>(b - a);
}

void LinearStats::add_rows(const RowMatrix &x, const Vector &y, int sign) {
    if (x.cols() != p_ || x.rows() != y.size())
        throw Error(ErrorKind::Internal, "row block does not match the model's features");
    const int q = p_ + 2;
    // the grid holds z_1..z_{p+1} = (x, y): z_a is its column a - 1
    std::vector<GridBlock::Column> cols(static_cast<size_t>(q) - 1);
    for (int j = 0; j < p_; ++j) cols[static_cast<size_t>(j)] = {x.data() + j, x.outerStride()};
    cols[static_cast<size_t>(p_)] = {y.data(), 1};
    GridBlockLease lease;
    GridBlock &g = lease.block();
    for (Eigen::Index start = 0; start < x.rows(); start += GridBlock::kMaxRows) {
        const Eigen::Index len = std::min(GridBlock::kMaxRows, x.rows() - start);
        check_interrupts();  // a grid block of rows: well under a millisecond
        g.fill(len, cols, start);
        auto exp = [&](int a) { return g.exp[static_cast<size_t>(a) - 1]; };
        // z_0 = 1: the sums of the columns
        for (int b = 1; b < q; ++b) add_piece_sum(m(0, b), g, b - 1, 0, g.padded, exp(b), sign);
        int64_t pieces[5];
        for (int a = 1; a < q; ++a)
            for (int b = a; b < q; ++b) {
                piece_products(g, a - 1, b - 1, 0, g.padded, pieces);
                add_piece_products(m(a, b), pieces, exp(a) + exp(b), sign);
            }
        // rare: the rows off the grid, one exact product at a time
        for (Eigen::Index r : g.off_grid) {
            auto z = [&](int a) { return a == q - 1 ? y(start + r) : x(start + r, a - 1); };
            for (int b = 1; b < q; ++b) m(0, b).add(z(b), sign);
            for (int a = 1; a < q; ++a)
                for (int b = a; b < q; ++b) m(a, b).add_product(z(a), z(b), sign);
        }
        n_ += sign * len;
    }
    // as merge refuses it: forgetting rows the state does not hold must not pass silently
    if (n_ < 0) throw Error(ErrorKind::CorruptState, "a row count went negative: a row was forgotten twice");
}

void LinearStats::merge(const LinearStats &o, int sign) {
    if (o.p_ != p_) throw Error(ErrorKind::CorruptState, "shard states of one model disagree on their layout");
    for (size_t k = 0; k < m_.size(); ++k) m_[k].add(o.m_[k], sign);
    n_ += sign * o.n_;
    if (n_ < 0) throw Error(ErrorKind::CorruptState, "a row count went negative: a row was forgotten twice");
}

double LinearStats::column_total(int j) const { return m(0, j + 1).value(); }

double LinearStats::centred(int a, int b) const {
    ExactSum c;
    c.add_product(m(a, b), n_);
    c.add_product(m(0, a), m(0, b), -1);
    return c.value();
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
    // Centred co-moments from the exact sums: n Σxy - Σx Σy is exact, so the
    // only roundings are its conversion to double and the division by n.
    const double n = static_cast<double>(n_);
    const int ycol = p_ + 1;
    Vector bx(p_);
    Eigen::MatrixXd a(p_, p_);
    for (int i = 0; i < p_; ++i) {
        bx(i) = centred(i + 1, ycol) / n;
        for (int j = i; j < p_; ++j) a(i, j) = a(j, i) = centred(i + 1, j + 1) / n;
    }
    a.diagonal().array() += alpha;

    // Judge the rank on the correlation scale so that units do not matter. A
    // constant feature has a centred variance of exactly 0.
    const Vector d = a.diagonal();
    bool singular = p_ > 0 && !(d.minCoeff() > 0 && a.allFinite());
    if (!singular && p_ > 0) {
        Vector inv = d.array().sqrt().inverse();
        Eigen::MatrixXd corr = inv.asDiagonal() * a * inv.asDiagonal();
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(corr, Eigen::EigenvaluesOnly);
        singular = !(eig.eigenvalues().minCoeff() > 1e-12 * eig.eigenvalues().maxCoeff());
    }
    if (singular) throw singular_error(alpha, n_, d);

    LinearFit fit;
    fit.coef = a.ldlt().solve(bx);
    // intercept = (Σy - Σ_j coef_j Σx_j) / n, the numerator exact
    ExactSum t = m(0, ycol);
    for (int j = 0; j < p_; ++j) {
        ExactSum c;
        c.add(fit.coef(j));
        t.add_product(m(0, j + 1), c, -1);
    }
    fit.intercept = t.value() / n;
    fit.rows = n_;
    return fit;
}

void LinearStats::drop_feature(int j) {
    if (j < 0 || j >= p_) throw Error(ErrorKind::Internal, "feature index out of range");
    const int q = p_ + 2, gone = j + 1;
    std::vector<ExactSum> kept;
    kept.reserve(static_cast<size_t>(q - 1) * q / 2);
    for (int a = 0; a < q; ++a)
        for (int b = a; b < q; ++b)
            if (a != gone && b != gone) kept.push_back(std::move(m(a, b)));
    m_ = std::move(kept);
    --p_;
}

std::vector<ExactSum *> LinearStats::sums() {
    std::vector<ExactSum *> out;
    for (size_t k = 1; k < m_.size(); ++k) out.push_back(&m_[k]);
    return out;
}

std::vector<const ExactSum *> LinearStats::sums() const {
    auto mut = const_cast<LinearStats *>(this)->sums();
    return {mut.begin(), mut.end()};
}

}  // namespace unlearn
