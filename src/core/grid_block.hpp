// A block of rows as integers on one binary grid per column, so that the
// exact sums of a block's products cost one integer multiply-add each.
//
// Column c's values are a * 2^exp[c] with |a| < 2^62, where 2^(exp[c] + 62)
// bounds the column's largest magnitude in the block. Nearly every value of a
// column of one scale lies on that grid (a double has 53 significant bits; a
// value is off the grid only if it is 2^9 times smaller than the block's
// largest and has bits below the grid). A row with any value off the grid is
// listed, its integers are set to 0, and the caller adds its products exactly
// one at a time instead.
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

    // A column of the source: row i at base[i * stride] (stride 0: a
    // constant column).
    struct Column {
        const double *base;
        Eigen::Index stride;
    };

    Eigen::Index rows = 0;
    int cols = 0;
    std::vector<int64_t> a;                // column-major (if asked for)
    std::vector<int> exp;                  // per column
    std::vector<Eigen::Index> off_grid;    // block rows whose integers are 0
    std::vector<uint8_t> scratch;
    std::vector<double> values;

    // Block row r is source row first + r, or order[r] if order is given.
    // rows <= kMaxRows; throws DataException on a value that is not finite.
    // integers: also fill a (for col()); the pieces are always filled.
    void fill(Eigen::Index rows, const std::vector<Column> &columns, Eigen::Index first,
              const Eigen::Index *order = nullptr, bool integers = false);
    const int64_t *col(int c) const { return a.data() + c * rows; }

    // Each integer as three pieces of 21 bits, a = p2 2^42 + p1 2^21 + p0
    // (p0, p1 in [0, 2^21), p2 in [-2^20, 2^20)), held as doubles: products
    // of pieces are below 2^42 and their sums over a block below 2^53, so
    // the vector unit's floating-point multiply-adds compute them exactly,
    // four or eight rows at a time. Rows are padded with zeros to a multiple
    // of 4.
    static constexpr int kPieceBits = 21;
    Eigen::Index padded = 0;
    std::vector<double> pieces;  // column c, piece k at (3 c + k) * padded
    const double *piece(int c, int k) const { return pieces.data() + (3 * c + k) * padded; }
};

// The five sums s_w = Σ_r Σ_{i+j=w} x.piece(c, i)_r y.piece(d, j)_r, exact:
// Σ_r x_r y_r = Σ_w s_w 2^(21 w).
void piece_products(const GridBlock &g, int c, int d, int64_t s[5]);
// sum += sign * Σ_r (column c's integer)_r 2^exp, from the pieces
void add_piece_sum(ExactSum &sum, const GridBlock &g, int c, int exp, int sign);
// sum += sign * Σ_w s_w 2^(exp + 21 w)
void add_piece_products(ExactSum &sum, const int64_t s[5], int exp, int sign);

// The exact sum of products x_r * y_r of grid integers over a block, before
// it is scaled by 2^(exp[c] + exp[d]).
struct ProductSum {
    unsigned __int128 lo = 0;  // sum of the low 64 bits of each product
    __int128 hi = 0;           // sum of the rest

    static ProductSum dot(const int64_t *x, const int64_t *y, Eigen::Index n) {
        // Four independent accumulators in locals: the add-with-carry chains
        // of one would serialise the loop; four keep the multiplier busy.
        unsigned __int128 lo[4] = {0, 0, 0, 0};
        __int128 hi[4] = {0, 0, 0, 0};
        Eigen::Index r = 0;
        for (; r + 4 <= n; r += 4)
            for (int k = 0; k < 4; ++k) {
                const __int128 p = static_cast<__int128>(x[r + k]) * y[r + k];
                lo[k] += static_cast<uint64_t>(p);
                hi[k] += static_cast<int64_t>(p >> 64);
            }
        for (; r < n; ++r) {
            const __int128 p = static_cast<__int128>(x[r]) * y[r];
            lo[0] += static_cast<uint64_t>(p);
            hi[0] += static_cast<int64_t>(p >> 64);
        }
        ProductSum s;
        s.lo = lo[0] + lo[1] + lo[2] + lo[3];
        s.hi = hi[0] + hi[1] + hi[2] + hi[3];
        return s;
    }
    // sum += sign * this * 2^exp
    void flush(ExactSum &sum, int exp, int sign) const {
        if (lo) sum.add_scaled(sign * static_cast<__int128>(lo), exp);
        if (hi) sum.add_scaled(sign * hi, exp + 64);
    }
};

// sum_r x_r, |.| < 2^72
inline __int128 grid_sum(const int64_t *x, Eigen::Index n) {
    __int128 s = 0;
    for (Eigen::Index r = 0; r < n; ++r) s += x[r];
    return s;
}

}  // namespace unlearn
