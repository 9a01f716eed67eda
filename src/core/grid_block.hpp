// A block of rows as integers on one binary grid per column, so that the
// exact sums of a block's products cost one integer multiply-add each.
//
// Column c's values are a * 2^exp[c] with |a| < 2^62, where 2^(exp[c] + 62)
// bounds the column's largest magnitude in the block. Nearly every value of a
// column of one scale lies on that grid (a double has 53 significant bits; a
// value is off the grid only if it is 2^9 times smaller than the block's
// largest and has bits below the grid). A row with any value off the grid is
// flagged, and its products are added exactly one at a time instead.
//
// The product of two grid values is below 2^124: summed over at most
// kMaxRows rows as a 64-bit low part (unsigned) and a high part (signed), in
// 128-bit integers, it never overflows, and each block's sum enters the
// ExactSum once.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "exact_sum.hpp"

namespace unlearn {

struct GridBlock {
    static constexpr Eigen::Index kMaxRows = 1024;

    // A column of the block: rows at base[0], base[stride], ... (stride 0: a
    // constant column).
    struct Column {
        const double *base;
        Eigen::Index stride;
    };

    Eigen::Index rows = 0;
    int cols = 0;
    std::vector<int64_t> a;         // rows x cols, row-major
    std::vector<int> exp;           // per column
    std::vector<uint8_t> off_grid;  // per row

    // rows <= kMaxRows; throws DataException on a value that is not finite
    void fill(Eigen::Index rows, const std::vector<Column> &columns);
    const int64_t *row(Eigen::Index r) const { return a.data() + r * cols; }
};

// The exact sum of a block's products a_r,c * a_r,d over its on-grid rows,
// before it is scaled by 2^(exp[c] + exp[d]).
struct ProductSum {
    unsigned __int128 lo = 0;  // sum of the low 64 bits of each product
    __int128 hi = 0;           // sum of the rest

    void add(int64_t x, int64_t y) {
        const __int128 p = static_cast<__int128>(x) * y;
        lo += static_cast<uint64_t>(p);
        hi += static_cast<int64_t>(p >> 64);
    }
    // sum += sign * this * 2^exp, then this = 0
    void flush(ExactSum &sum, int exp, int sign) {
        if (lo) sum.add_scaled(sign * static_cast<__int128>(lo), exp);
        if (hi) sum.add_scaled(sign * hi, exp + 64);
        lo = 0;
        hi = 0;
    }
};

}  // namespace unlearn
