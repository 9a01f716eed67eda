#include "grid_block.hpp"

#include <cmath>

#include "error.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

void GridBlock::fill(Eigen::Index n, const std::vector<Column> &columns) {
    if (n > kMaxRows) throw Error(ErrorKind::Internal, "grid block too long");
    rows = n;
    cols = static_cast<int>(columns.size());
    a.resize(static_cast<size_t>(n * cols));
    exp.assign(static_cast<size_t>(cols), 0);
    off_grid.assign(static_cast<size_t>(n), 0);
    for (int c = 0; c < cols; ++c) {
        const double *v = columns[static_cast<size_t>(c)].base;
        const Eigen::Index stride = columns[static_cast<size_t>(c)].stride;
        double largest = 0.0;
        for (Eigen::Index r = 0; r < n; ++r) largest = std::fmax(largest, std::fabs(v[r * stride]));
        bool finite = std::isfinite(largest);
        for (Eigen::Index r = 0; r < n && finite; ++r) finite = !std::isnan(v[r * stride]);  // fmax skips NaN
        if (!finite) throw Error(ErrorKind::DataException, "a value is not a finite number");
        int64_t *out = a.data() + c;
        if (largest == 0.0) {
            for (Eigen::Index r = 0; r < n; ++r) out[r * cols] = 0;
            continue;
        }
        // |value| < 2^top; the grid is 2^(top - 62)
        const int top = std::ilogb(largest) + 1;
        exp[static_cast<size_t>(c)] = top - 62;
        // scaling by a power of two is exact: the scaled values are below
        // 2^62, and one factor would overflow only for columns below 2^-961
        const int up = 62 - top;
        const double f1 = std::ldexp(1.0, up > 1000 ? up - 600 : up);
        const double f2 = up > 1000 ? std::ldexp(1.0, 600) : 1.0;
        for (Eigen::Index r = 0; r < n; ++r) {
            const double t = v[r * stride] * f1 * f2;
            const auto i = static_cast<int64_t>(t);
            out[r * cols] = i;
            if (static_cast<double>(i) != t) off_grid[static_cast<size_t>(r)] = 1;
        }
    }
}

}  // namespace unlearn
