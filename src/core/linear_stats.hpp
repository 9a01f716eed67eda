// Sufficient statistics of least squares (the summation form of Cao & Yang):
// the count and the exact sums of every product of two of (1, x_1..x_p, y).
// Adding a row adds its terms; forgetting a row subtracts them. The sums are
// exact (ExactSum), so the state after any sequence of learning and
// forgetting is the state a retrain on the remaining rows builds, bit for
// bit, and so is the fit, which is computed from the sums alone.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "exact_sum.hpp"
#include "summation.hpp"

namespace unlearn {

struct LinearFit {
    Vector coef;
    double intercept = 0.0;
    int64_t rows = 0;
};

// Memory: (p + 2)(p + 3) / 2 - 1 sums of ~80 bytes each for features of one
// scale (32 bytes of header and ~6 limbs of 8 bytes; a sum whose terms span
// 1e-300 .. 1e100 has up to ~80 limbs): ~6 KB at p = 10, ~110 MB at p = 1600.
class LinearStats final : public SummationForm {
public:
    LinearStats() = default;
    explicit LinearStats(int features);

    // sign = +1 learns the rows, -1 forgets them; values must be finite.
    void add_rows(const RowMatrix &x, const Vector &y, int sign) override;
    // sign -1 takes away another state's rows (a delta of forgotten rows)
    void merge(const LinearStats &other, int sign = 1);

    // alpha = 0: ordinary least squares; alpha > 0: ridge with the intercept
    // not penalised (the centred formulation scikit-learn uses).
    // excluded columns get coefficient 0: one-hot reference categories,
    // which together with the intercept would make the system singular.
    LinearFit solve(double alpha, const std::vector<int> &excluded = {}) const;
    // sum of column j over the rows held, rounded once
    double column_total(int j) const override;

    // Forgets feature j exactly: its sums and cross-products leave the
    // statistics, which are then those of a table without that column.
    void drop_feature(int j) override;

    int features() const override { return p_; }
    int64_t rows() const override { return n_; }

    // Serialisation access: the sums Σ z_a z_b for a <= b over
    // z = (1, x_1..x_p, y) in row-major order of the upper triangle, without
    // (0, 0), which is the row count.
    std::vector<ExactSum *> sums();
    std::vector<const ExactSum *> sums() const;
    void set_rows(int64_t n) { n_ = n; }

private:
    // moment (a, b) = Σ z_a z_b, a <= b, packed upper triangle of order p + 2
    ExactSum &m(int a, int b) { return m_[index(a, b)]; }
    const ExactSum &m(int a, int b) const { return m_[index(a, b)]; }
    size_t index(int a, int b) const;
    // n Σ z_a z_b - Σ z_a Σ z_b, exactly, then rounded: n^2 times the
    // centred co-moment, a function of the rows held alone
    double centred(int a, int b) const;

    int p_ = 0;
    int64_t n_ = 0;
    std::vector<ExactSum> m_;
};

}  // namespace unlearn
