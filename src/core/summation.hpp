// The summation form (MADlib's accumulator; Cao & Yang's statistics): a
// state that rows are added to and subtracted from, whose sums add up over
// shards and from which the fit is computed alone. Forgetting a row is
// subtracting its terms, exactly. LinearStats and NaiveBayesStats are the
// two; the incremental strategy sees them only through this interface.
#pragma once

#include <cstdint>

#include <Eigen/Dense>

namespace unlearn {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

class SummationForm {
public:
    virtual ~SummationForm() = default;
    // sign = +1 learns the rows, -1 forgets them; values must be finite.
    virtual void add_rows(const RowMatrix &x, const Vector &y, int sign) = 0;
    // Forgets feature j exactly: the statistics become those of a table without it.
    virtual void drop_feature(int j) = 0;
    // sum of column j over the rows held, rounded once
    virtual double column_total(int j) const = 0;
    virtual int features() const = 0;
    virtual int64_t rows() const = 0;

protected:
    SummationForm() = default;
    SummationForm(const SummationForm &) = default;
    SummationForm &operator=(const SummationForm &) = default;
    SummationForm(SummationForm &&) = default;
    SummationForm &operator=(SummationForm &&) = default;
};

}  // namespace unlearn
