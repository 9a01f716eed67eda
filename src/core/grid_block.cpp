#include "grid_block.hpp"

#include <cmath>
#include <cstring>

#include "error.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

namespace {
typedef double v4d __attribute__((vector_size(32)));

// Unaligned loads as a statement, not a function: a function taking or
// returning a 32-byte vector has another ABI with AVX than without, and clang
// refuses one in the default clone.
#define PGUL_LOAD(v, p) __builtin_memcpy(&(v), (p), sizeof(v4d))

// The column's scaled values t = v f1 f2 (exact: powers of two) as pieces
// t = p2 2^42 + p1 2^21 + p0, by floor and exact subtraction of integers
// below 2^62; a value off the grid (t not an integer) is flagged. Cloned for AVX2 like the kernel below.
// The flags are doubles, like the values, so that the loop vectorises.
__attribute__((target_clones("avx512f", "avx2", "default"))) void split_column(const double *__restrict v, Eigen::Index n,
                                                                     double f1, double f2, double *__restrict p0,
                                                                     double *__restrict p1, double *__restrict p2,
                                                                     double *__restrict off) {
    constexpr double up21 = 2097152.0, down21 = 1.0 / 2097152.0;
    constexpr double up42 = up21 * up21, down42 = down21 * down21;
    for (Eigen::Index r = 0; r < n; ++r) {
        const double t = v[r] * f1 * f2;
        const double h = std::floor(t * down42);
        const double rest = t - h * up42;  // the low 42 bits and any fraction: exact
        const double m = std::floor(rest * down21);
        const double l = rest - m * up21;
        p2[r] = h;
        p1[r] = m;
        p0[r] = l;
        // off the grid: t not an integer (a tiny negative t would round
        // away in rest), or a value so small that scaling it down underflowed to 0
        off[r] += ((t != std::floor(t)) | ((t == 0.0) & (v[r] != 0.0))) ? 1.0 : 0.0;
    }
}

thread_local GridBlock lent_block;
thread_local bool lent = false;
}  // namespace

GridBlockLease::GridBlockLease() : block_(lent_block) {
    if (lent) throw Error(ErrorKind::Internal, "the grid block is already in use");
    lent = true;
}

GridBlockLease::~GridBlockLease() {
    constexpr size_t kKeep = size_t{1} << 20;  // doubles
    if (block_.pieces.capacity() > kKeep) std::vector<double>().swap(block_.pieces);
    if (block_.values.capacity() > kKeep) std::vector<double>().swap(block_.values);
    lent = false;
}

void GridBlock::fill(Eigen::Index n, const std::vector<Column> &columns, Eigen::Index first,
                     const Eigen::Index *order) {
    if (n > kMaxRows) throw Error(ErrorKind::Internal, "grid block too long");
    rows = n;
    cols = static_cast<int>(columns.size());
    padded = (rows + 3) / 4 * 4;
    pieces.resize(static_cast<size_t>(3 * cols * padded));
    exp.assign(static_cast<size_t>(cols), 0);
    off_flags.assign(static_cast<size_t>(n), 0.0);
    values.resize(static_cast<size_t>(n));
    double *v = values.data();
    for (int c = 0; c < cols; ++c) {
        const double *base = columns[static_cast<size_t>(c)].base;
        const Eigen::Index stride = columns[static_cast<size_t>(c)].stride;
        if (order)
            for (Eigen::Index r = 0; r < n; ++r) v[r] = order[r] < 0 ? 0.0 : base[order[r] * stride];
        else
            for (Eigen::Index r = 0; r < n; ++r) v[r] = base[(first + r) * stride];
        // The magnitudes' bit patterns order as the magnitudes do, with
        // infinities and NaNs above every finite value.
        uint64_t most = 0;
        for (Eigen::Index r = 0; r < n; ++r) {
            uint64_t bits;
            std::memcpy(&bits, v + r, sizeof bits);
            bits &= ~(uint64_t{1} << 63);
            most = bits > most ? bits : most;
        }
        if (most >= 0x7ff0000000000000ULL) throw Error(ErrorKind::DataException, "a value is not a finite number");
        double largest;
        std::memcpy(&largest, &most, sizeof largest);
        double *p0 = pieces.data() + 3 * c * padded, *p1 = p0 + padded, *p2 = p1 + padded;
        std::fill(p0 + n, p0 + padded, 0.0);
        std::fill(p1 + n, p1 + padded, 0.0);
        std::fill(p2 + n, p2 + padded, 0.0);
        // |value| < 2^top; the grid is 2^(top - 62). Scaling by a power of
        // two is exact: the scaled values are below 2^62, and one factor
        // would overflow only for columns below 2^-961.
        const int top = largest == 0.0 ? 0 : std::ilogb(largest) + 1;
        exp[static_cast<size_t>(c)] = top - 62;
        const int up = 62 - top;
        const double f1 = std::ldexp(1.0, up > 1000 ? up - 600 : up);
        const double f2 = up > 1000 ? std::ldexp(1.0, 600) : 1.0;
        split_column(v, n, f1, f2, p0, p1, p2, off_flags.data());
    }
    off_grid.clear();
    for (Eigen::Index r = 0; r < n; ++r)
        if (off_flags[static_cast<size_t>(r)] != 0.0) {
            off_grid.push_back(r);
            for (int c = 0; c < cols; ++c)
                for (int k = 0; k < 3; ++k) pieces[static_cast<size_t>((3 * c + k) * padded + r)] = 0.0;
        }
}

namespace {

// Exact: every product of pieces is an integer below 2^42 and every lane's
// partial sum one below 3 * 2^42 * kMaxRows / 4 < 2^53, so no operation
// rounds, whether or not the compiler fuses the multiply-adds. Cloned for
// AVX2 (chosen at load time where the CPU has it) and for plain x86-64.
__attribute__((target_clones("avx512f", "avx2", "default"))) void piece_kernel(const double *x0, const double *x1,
                                                                             const double *x2, const double *y0,
                                                                             const double *y1, const double *y2,
                                                                             Eigen::Index n, int64_t out[5]) {
    v4d s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0, s4 = s0;
    for (Eigen::Index r = 0; r < n; r += 4) {
        v4d a0, a1, a2, b0, b1, b2;
        PGUL_LOAD(a0, x0 + r);
        PGUL_LOAD(a1, x1 + r);
        PGUL_LOAD(a2, x2 + r);
        PGUL_LOAD(b0, y0 + r);
        PGUL_LOAD(b1, y1 + r);
        PGUL_LOAD(b2, y2 + r);
        s0 += a0 * b0;
        s1 += a0 * b1 + a1 * b0;
        s2 += a0 * b2 + a1 * b1 + a2 * b0;
        s3 += a1 * b2 + a2 * b1;
        s4 += a2 * b2;
    }
    const v4d *s[5] = {&s0, &s1, &s2, &s3, &s4};
    for (int w = 0; w < 5; ++w) {
        out[w] = 0;
        for (int k = 0; k < 4; ++k) out[w] += static_cast<int64_t>((*s[w])[k]);
    }
}
}  // namespace

void piece_products(const GridBlock &g, int c, int d, Eigen::Index from, Eigen::Index n, int64_t s[5]) {
    piece_kernel(g.piece(c, 0) + from, g.piece(c, 1) + from, g.piece(c, 2) + from, g.piece(d, 0) + from,
                 g.piece(d, 1) + from, g.piece(d, 2) + from, n, s);
}

namespace {
// Sums of pieces are integers below 2^21 * kMaxRows: exact in double, in
// any order, so four lanes may sum them.
__attribute__((target_clones("avx512f", "avx2", "default"))) void piece_sums(const double *p0, const double *p1,
                                                                   const double *p2, Eigen::Index n,
                                                                   int64_t out[3]) {
    v4d s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0;
    for (Eigen::Index r = 0; r < n; r += 4) {
        v4d t0, t1, t2;
        PGUL_LOAD(t0, p0 + r);
        PGUL_LOAD(t1, p1 + r);
        PGUL_LOAD(t2, p2 + r);
        s0 += t0;
        s1 += t1;
        s2 += t2;
    }
    out[0] = static_cast<int64_t>(s0[0] + s0[1] + s0[2] + s0[3]);
    out[1] = static_cast<int64_t>(s1[0] + s1[1] + s1[2] + s1[3]);
    out[2] = static_cast<int64_t>(s2[0] + s2[1] + s2[2] + s2[3]);
}
}  // namespace

void add_piece_sum(ExactSum &sum, const GridBlock &g, int c, Eigen::Index from, Eigen::Index n, int exp, int sign) {
    int64_t s[3];
    piece_sums(g.piece(c, 0) + from, g.piece(c, 1) + from, g.piece(c, 2) + from, n, s);
    constexpr int b = GridBlock::kPieceBits;
    sum.add_scaled(sign * (static_cast<__int128>(s[0]) + (static_cast<__int128>(s[1]) << b) +
                           (static_cast<__int128>(s[2]) << (2 * b))),
                   exp);
}

void add_piece_products(ExactSum &sum, const int64_t s[5], int exp, int sign) {
    // |s_w| < 2^55: the low three weights fit one 128-bit add, the high two another
    constexpr int b = GridBlock::kPieceBits;
    const __int128 low = static_cast<__int128>(s[0]) + (static_cast<__int128>(s[1]) << b) +
                         (static_cast<__int128>(s[2]) << (2 * b));
    const __int128 high = static_cast<__int128>(s[3]) + (static_cast<__int128>(s[4]) << b);
    sum.add_scaled(sign * low, exp);
    sum.add_scaled(sign * high, exp + 3 * b);
}

}  // namespace unlearn
