// Double-double accumulator: a running sum kept as an unevaluated pair hi + lo.
//
// Forgetting subtracts terms from sums that were built by adding them. With
// plain doubles every add and subtract leaves a rounding error of the size of
// the whole sum, so deleting most of a table one row at a time leaves the
// remaining statistics dominated by the errors of rows long gone. Keeping the
// error term (Knuth's TwoSum) makes each update exact to ~1e-32 relative.
#pragma once

namespace unlearn {

struct DDSum {
    double hi = 0.0;
    double lo = 0.0;

    void add(double x) {
        double s = hi + x;
        double bp = s - hi;
        double err = (hi - (s - bp)) + (x - bp);
        hi = s;
        lo += err;
        renormalise();
    }
    void add(const DDSum &o) {
        add(o.hi);
        add(o.lo);
    }
    void sub(const DDSum &o) {
        add(-o.hi);
        add(-o.lo);
    }
    double value() const { return hi + lo; }

private:
    void renormalise() {
        double s = hi + lo;
        lo = lo - (s - hi);
        hi = s;
    }
};

}  // namespace unlearn
