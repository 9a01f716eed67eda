// Sufficient statistics of least squares (the summation form of Cao & Yang):
// counts, sums, cross-products of features and target. Adding a row adds its
// terms; forgetting a row subtracts them, and the fit is then exactly the fit
// of the remaining rows.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "ddsum.hpp"

namespace unlearn {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

struct LinearFit {
    Vector coef;
    double intercept = 0.0;
    int64_t rows = 0;
};

class LinearStats {
public:
    LinearStats() = default;
    // Rows are accumulated relative to shift (any typical row's features)
    // and y_shift (its target) so that the centred statistics do not lose
    // digits to a large common offset.
    LinearStats(int features, std::vector<double> shift, double y_shift = 0.0);

    // sign = +1 learns the rows, -1 forgets them.
    void add_rows(const RowMatrix &x, const Vector &y, int sign);
    void merge(const LinearStats &other);

    // alpha = 0: ordinary least squares; alpha > 0: ridge with the intercept
    // not penalised (the centred formulation scikit-learn uses).
    // excluded columns get coefficient 0: one-hot reference categories,
    // which together with the intercept would make the system singular.
    LinearFit solve(double alpha, const std::vector<int> &excluded = {}) const;
    // sum of column j over the rows held, exact for indicator columns
    double column_total(int j) const;

    // Forgets feature j exactly: its sums and cross-products leave the
    // statistics, which are then those of a table without that column.
    void drop_feature(int j);

    int features() const { return p_; }
    int64_t rows() const { return n_; }
    const std::vector<double> &shift() const { return shift_; }
    double y_shift() const { return y_shift_; }

    // Serialisation access: sums in a fixed order (sx, sy, sxx upper, sxy, syy).
    std::vector<DDSum *> sums();
    std::vector<const DDSum *> sums() const;
    void set_rows(int64_t n) { n_ = n; }

private:
    DDSum &xx(int i, int j) { return sxx_[index(i, j)]; }
    const DDSum &xx(int i, int j) const { return sxx_[index(i, j)]; }
    size_t index(int i, int j) const;  // i <= j, packed upper triangle

    int p_ = 0;
    int64_t n_ = 0;
    std::vector<double> shift_;
    double y_shift_ = 0.0;
    std::vector<DDSum> sx_;
    DDSum sy_;
    std::vector<DDSum> sxx_;
    std::vector<DDSum> sxy_;
    DDSum syy_;
};

}  // namespace unlearn
