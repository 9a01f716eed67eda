// Shared helpers for the core's unit tests: seeded data, independent
// reference solutions computed on the raw rows (never from the sufficient
// statistics under test), and an assertion on the kind of unlearn::Error.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "bytes.hpp"
#include "error.hpp"
#include "linear_stats.hpp"

namespace unlearn::testing {

using LongMatrix = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;
using LongVector = Eigen::Matrix<long double, Eigen::Dynamic, 1>;

struct Data {
    RowMatrix x;
    Vector y;
};

// Feature j is offset + scale_j * N(0, 1) with scale_j in 1e-2 .. 1e2 (very
// different units, one large common offset); the target depends on every
// feature in its own units, plus N(0, 1) noise.
inline Data make_data(int rows, int features, uint64_t seed, double offset = 1e4) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n01(0.0, 1.0);
    Data d{RowMatrix(rows, features), Vector(rows)};
    for (int i = 0; i < rows; ++i) {
        double y = 5.0;
        for (int j = 0; j < features; ++j) {
            const double scale = std::pow(10.0, j % 5 - 2);
            const double z = n01(rng);
            d.x(i, j) = offset + scale * z;
            y += (j + 1) * z;  // coefficient (j + 1) / scale_j on the raw feature
        }
        d.y(i) = y + n01(rng);
    }
    return d;
}

// The stored form of anything with encode(ByteWriter &): an ExactSum, a Forest.
template <typename T>
std::vector<uint8_t> bytes_of(const T &v) {
    ByteWriter w;
    v.encode(w);
    return w.bytes();
}

// Rows idx of rows (x and y, e.g. a ForestRows), in that order.
template <typename Rows>
Rows subset(const Rows &r, const std::vector<int> &idx) {
    Rows o{RowMatrix(static_cast<Eigen::Index>(idx.size()), r.x.cols()), Vector(static_cast<Eigen::Index>(idx.size()))};
    for (size_t i = 0; i < idx.size(); ++i) {
        o.x.row(static_cast<Eigen::Index>(i)) = r.x.row(idx[i]);
        o.y(static_cast<Eigen::Index>(i)) = r.y(idx[i]);
    }
    return o;
}

inline RowMatrix take_rows(const RowMatrix &x, const std::vector<Eigen::Index> &rows) {
    RowMatrix out(static_cast<Eigen::Index>(rows.size()), x.cols());
    for (size_t k = 0; k < rows.size(); ++k) out.row(static_cast<Eigen::Index>(k)) = x.row(rows[k]);
    return out;
}

inline Vector take_rows(const Vector &y, const std::vector<Eigen::Index> &rows) {
    Vector out(static_cast<Eigen::Index>(rows.size()));
    for (size_t k = 0; k < rows.size(); ++k) out(static_cast<Eigen::Index>(k)) = y(rows[k]);
    return out;
}

// [coef..., intercept] of ordinary least squares by column-pivoted Householder
// QR of the raw matrix [x 1]: no normal equations, no shift, no centring. It
// runs in long double so that its own rounding (~cond x 1e-19) is far below
// the tolerances the tests hold the core to.
inline Vector qr_reference(const RowMatrix &x, const Vector &y) {
    LongMatrix a(x.rows(), x.cols() + 1);
    a << x.cast<long double>(), LongMatrix::Ones(x.rows(), 1);
    LongVector b = y.cast<long double>();
    LongVector sol = a.colPivHouseholderQr().solve(b);
    return sol.cast<double>();
}

// scikit-learn's Ridge(alpha) with fit_intercept=True, written out: centre X
// and y, solve (XcᵀXc + αI) w = Xcᵀyc, intercept = ȳ - x̄ᵀw (not penalised).
inline Vector ridge_reference(const RowMatrix &x, const Vector &y, double alpha) {
    LongMatrix xl = x.cast<long double>();
    LongVector yl = y.cast<long double>();
    Eigen::Matrix<long double, 1, Eigen::Dynamic> mx = xl.colwise().mean();
    const long double my = yl.mean();
    LongMatrix xc = xl.rowwise() - mx;
    LongVector yc = yl.array() - my;
    LongMatrix a = xc.transpose() * xc;
    a.diagonal().array() += static_cast<long double>(alpha);
    LongVector w = a.colPivHouseholderQr().solve(LongVector(xc.transpose() * yc));
    LongVector out(w.size() + 1);
    out << w, my - mx.dot(w);
    return out.cast<double>();
}

inline Vector params(const LinearFit &f) {
    Vector v(f.coef.size() + 1);
    v << f.coef, f.intercept;
    return v;
}

// Largest relative difference over the parameters: max_k |a_k - b_k| / max(|b_k|, 1e-12).
inline double max_rel_err(const Vector &a, const Vector &b) {
    EXPECT_EQ(a.size(), b.size());
    double worst = 0.0;
    for (Eigen::Index k = 0; k < std::min(a.size(), b.size()); ++k) {
        const double e = std::abs(a(k) - b(k)) / std::max(std::abs(b(k)), 1e-12);
        worst = std::max(worst, std::isnan(e) ? INFINITY : e);
    }
    return worst;
}

inline std::vector<double> row_of(const RowMatrix &x, Eigen::Index i) {
    return {x.row(i).data(), x.row(i).data() + x.cols()};
}

// A model over the rows.
inline LinearStats linear_stats_of(const RowMatrix &x, const Vector &y) {
    LinearStats s(static_cast<int>(x.cols()));
    s.add_rows(x, y, +1);
    return s;
}

inline const char *kind_name(ErrorKind k) {
    switch (k) {
        case ErrorKind::InvalidParameter: return "InvalidParameter";
        case ErrorKind::DataException: return "DataException";
        case ErrorKind::Singular: return "Singular";
        case ErrorKind::CorruptState: return "CorruptState";
        case ErrorKind::Internal: return "Internal";
        default: return "(a kind raised by src/pg)";
    }
}

// EXPECT_TRUE(throws_kind(ErrorKind::X, [&] { ... })): the call must throw
// unlearn::Error of exactly that kind; anything else is reported.
template <class F>
::testing::AssertionResult throws_kind(ErrorKind kind, F &&f) {
    try {
        f();
    } catch (const Error &e) {
        if (e.kind() == kind) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure()
               << "threw " << kind_name(e.kind()) << " (" << e.what() << "), expected " << kind_name(kind);
    } catch (const std::exception &e) {
        return ::testing::AssertionFailure() << "threw a non-unlearn exception: " << e.what();
    } catch (...) {
        return ::testing::AssertionFailure() << "threw something that is not a std::exception";
    }
    return ::testing::AssertionFailure() << "did not throw, expected " << kind_name(kind);
}

// What hostile bytes did to a decoder: CorruptState is the only acceptable
// refusal; any other error (or a non-unlearn exception) is a defect.
enum class Outcome { Rejected, Accepted, Wrong };

template <typename DecodeAndUse>
Outcome outcome_of(DecodeAndUse &&decode_and_use, std::string *why) {
    try {
        decode_and_use();
        return Outcome::Accepted;
    } catch (const Error &e) {
        if (e.kind() == ErrorKind::CorruptState) return Outcome::Rejected;
        *why = std::string(kind_name(e.kind())) + ": " + e.what();
    } catch (const std::exception &e) {
        *why = std::string("non-unlearn exception: ") + e.what();
    } catch (...) {
        *why = "unknown exception";
    }
    return Outcome::Wrong;
}

}  // namespace unlearn::testing
