// A block of rows as integers on one binary grid per column, so that the
// exact sums of a block's products cost a few vector multiply-adds each.
//
// Column c's values are a * 2^exp[c] with |a| < 2^62, where 2^(exp[c] + 62)
// bounds the column's largest magnitude in the block. Nearly every value of a
// column of one scale lies on that grid (a double has 53 significant bits; a
// value is off the grid only if it is 2^9 times smaller than the block's
// largest and has bits below the grid). A row with any value off the grid is
// listed, its pieces are set to 0, and the caller adds its products exactly
// one at a time instead.
//
// Each block's sums of products enter the ExactSum once (see the pieces).
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
    std::vector<int> exp;                  // per column
    std::vector<Eigen::Index> off_grid;    // block rows whose integers are 0
    std::vector<double> off_flags;         // per row: off the grid if not 0
    std::vector<double> values;

    // Block row r is source row first + r, or order[r] if order is given
    // (order[r] = -1: a row of zeros, to pad a run of rows to a multiple of 4).
    // rows <= kMaxRows; throws DataException on a value that is not finite.
    void fill(Eigen::Index rows, const std::vector<Column> &columns, Eigen::Index first,
              const Eigen::Index *order = nullptr);

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

// The thread's one grid block, lent to one accumulation at a time: a fresh
// block's ~300 kB per batch of rows would be a fresh mapping from the
// allocator, paid in page faults. When the lease ends, on any exit, a block
// a wide model made large (over 8 MB) gives its memory back, so a backend
// keeps only a narrow model's block between statements.
class GridBlockLease {
public:
    GridBlockLease();  // throws Internal if the block is already lent
    ~GridBlockLease();
    GridBlockLease(const GridBlockLease &) = delete;
    GridBlockLease &operator=(const GridBlockLease &) = delete;
    GridBlock &block() { return block_; }

private:
    GridBlock &block_;
};

// The five sums s_w = Σ_r Σ_{i+j=w} piece(c, i)_r piece(d, j)_r over block
// rows [from, from + n), exact: Σ_r a_c,r a_d,r = Σ_w s_w 2^(21 w). from and
// n are multiples of 4.
void piece_products(const GridBlock &g, int c, int d, Eigen::Index from, Eigen::Index n, int64_t s[5]);
// sum += sign * Σ_r a_c,r 2^exp over block rows [from, from + n), from the
// pieces; from and n multiples of 4
void add_piece_sum(ExactSum &sum, const GridBlock &g, int c, Eigen::Index from, Eigen::Index n, int exp, int sign);
// sum += sign * Σ_w s_w 2^(exp + 21 w)
void add_piece_products(ExactSum &sum, const int64_t s[5], int exp, int sign);

}  // namespace unlearn
