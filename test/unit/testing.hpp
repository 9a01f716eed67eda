// Shared helpers for the core's unit tests: seeded data and an independent
// least-squares solve on the raw rows (QR, no normal equations).
#pragma once
#include <random>

#include <Eigen/Dense>

#include "linear_stats.hpp"

namespace unlearn::testing {

struct Data {
    RowMatrix x;
    Vector y;
};

// Features of very different scales, one with a large common offset, and a
// linear target with noise.
inline Data make_data(int rows, int features, uint64_t seed, double offset = 1e4) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n01(0.0, 1.0);
    Data d{RowMatrix(rows, features), Vector(rows)};
    for (int i = 0; i < rows; ++i) {
        double y = 3.0;
        for (int j = 0; j < features; ++j) {
            double scale = std::pow(10.0, j % 3 - 1);
            double v = (j == 0 ? offset : 0.0) + scale * n01(rng);
            d.x(i, j) = v;
            y += (j + 1) * 0.5 * v / scale;
        }
        d.y(i) = y + 0.1 * n01(rng);
    }
    return d;
}

// [coef..., intercept] by column-pivoted QR of [x 1]: independent of the
// sufficient statistics.
inline Vector qr_solve(const RowMatrix &x, const Vector &y) {
    Eigen::MatrixXd a(x.rows(), x.cols() + 1);
    a << x, Eigen::VectorXd::Ones(x.rows());
    return a.colPivHouseholderQr().solve(y);
}

inline Vector as_params(const LinearFit &f) {
    Vector v(f.coef.size() + 1);
    v << f.coef, f.intercept;
    return v;
}

inline double max_rel_diff(const Vector &a, const Vector &b) {
    return (a - b).cwiseAbs().maxCoeff() / std::max(b.cwiseAbs().maxCoeff(), 1e-300);
}

inline LinearStats stats_of(const RowMatrix &x, const Vector &y) {
    LinearStats s(static_cast<int>(x.cols()), std::vector<double>(x.row(0).data(), x.row(0).data() + x.cols()), y(0));
    s.add_rows(x, y, +1);
    return s;
}

}  // namespace unlearn::testing
