// Throughput of the summation-form accumulation in the core: 1M rows x 10
// features added to LinearStats and NaiveBayesStats in blocks of 4096 rows
// (train's RowBatch), against a copy of 0.4's accumulation (double-double
// sums of Eigen-multiplied 256-row blocks, shifted by the first row) in the
// same binary, so both run on the same machine state.
//
//   cmake --build build --target accumulate_bench && build/bench/accumulate_bench [rows] [repeat]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "linear_stats.hpp"
#include "naive_bayes.hpp"

using namespace unlearn;

namespace legacy {

struct DDSum {  // 0.4's ddsum.hpp
    double hi = 0.0, lo = 0.0;
    void add(double x) {
        double s = hi + x, bp = s - hi, err = (hi - (s - bp)) + (x - bp);
        hi = s;
        lo += err;
        double t = hi + lo;
        lo = lo - (t - hi);
        hi = t;
    }
};

struct Linear {  // 0.4's LinearStats::add_rows
    int p;
    std::vector<double> shift;
    double y_shift;
    std::vector<DDSum> sx, sxx, sxy;
    DDSum sy, syy;
    int64_t n = 0;
    Linear(int p_, std::vector<double> s, double ys)
        : p(p_), shift(std::move(s)), y_shift(ys), sx(p_), sxx(static_cast<size_t>(p_) * (p_ + 1) / 2), sxy(p_) {}
    void add_rows(const RowMatrix &x, const Vector &y, int sign) {
        const Eigen::Map<const Eigen::RowVectorXd> c(shift.data(), p);
        for (Eigen::Index start = 0; start < x.rows(); start += 256) {
            Eigen::Index len = std::min<Eigen::Index>(256, x.rows() - start);
            RowMatrix z = x.middleRows(start, len).rowwise() - c;
            Vector yb = y.segment(start, len).array() - y_shift;
            Eigen::MatrixXd zz = Eigen::MatrixXd::Zero(p, p);
            zz.selfadjointView<Eigen::Upper>().rankUpdate(z.transpose());
            Eigen::VectorXd zy = z.transpose() * yb;
            Eigen::VectorXd zs = z.colwise().sum().transpose();
            double s = sign;
            size_t k = 0;
            for (int i = 0; i < p; ++i) {
                sx[i].add(s * zs(i));
                sxy[i].add(s * zy(i));
                for (int j = i; j < p; ++j) sxx[k++].add(s * zz(i, j));
            }
            sy.add(s * yb.sum());
            syy.add(s * yb.squaredNorm());
            n += sign * len;
        }
    }
};

struct NaiveBayes {  // 0.4's NaiveBayesStats::add_rows
    struct Class {
        int64_t n = 0;
        std::vector<DDSum> sx, sxx;
    };
    int p;
    std::vector<double> shift;
    std::map<double, Class> classes;
    NaiveBayes(int p_, std::vector<double> s) : p(p_), shift(std::move(s)) {}
    void add_rows(const RowMatrix &x, const Vector &y, int sign) {
        for (Eigen::Index r = 0; r < x.rows(); ++r) {
            Class &cs = classes[y(r)];
            if (cs.sx.empty()) {
                cs.sx.resize(p);
                cs.sxx.resize(p);
            }
            for (int j = 0; j < p; ++j) {
                double z = x(r, j) - shift[j];
                cs.sx[j].add(sign * z);
                cs.sxx[j].add(sign * z * z);
            }
            cs.n += sign;
        }
    }
};

}  // namespace legacy

namespace {

using Clock = std::chrono::steady_clock;

template <class F>
double seconds(F &&f) {
    auto t0 = Clock::now();
    f();
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char **argv) {
    const Eigen::Index rows = argc > 1 ? std::atol(argv[1]) : 1000000;
    const int repeat = argc > 2 ? std::atoi(argv[2]) : 5;
    const std::string only = argc > 3 ? argv[3] : "";  // one of old-linear new-linear old-nb new-nb (profiling)
    auto run = [&](const char *name) { return only.empty() || only == name; };
    const int p = 10;
    const Eigen::Index block = 4096;
    // the benchmark's data: features uniform in [-1, 1), y linear plus noise, label y > 0
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::normal_distribution<double> noise(0.0, 0.1);
    RowMatrix x(rows, p);
    Vector y(rows), label(rows);
    for (Eigen::Index i = 0; i < rows; ++i) {
        double t = 0.0;
        for (int j = 0; j < p; ++j) {
            x(i, j) = u(rng);
            t += (j + 1) * x(i, j);
        }
        y(i) = t + noise(rng);
        label(i) = y(i) > 0 ? 1.0 : 0.0;
    }
    std::vector<RowMatrix> xs;
    std::vector<Vector> ys, ls;
    for (Eigen::Index s = 0; s < rows; s += block) {
        const Eigen::Index len = std::min(block, rows - s);
        xs.push_back(x.middleRows(s, len));
        ys.push_back(y.segment(s, len));
        ls.push_back(label.segment(s, len));
    }
    const std::vector<double> shift(x.row(0).data(), x.row(0).data() + p);

    std::vector<double> t_old_lin, t_new_lin, t_old_nb, t_new_nb;
    double sink = 0.0;
    for (int r = 0; r < repeat; ++r) {
        if (run("old-linear")) t_old_lin.push_back(seconds([&] {
            legacy::Linear s(p, shift, y(0));
            for (size_t b = 0; b < xs.size(); ++b) s.add_rows(xs[b], ys[b], +1);
            sink += s.sxx[0].hi;
        }));
        if (run("new-linear")) t_new_lin.push_back(seconds([&] {
            LinearStats s(p);
            for (size_t b = 0; b < xs.size(); ++b) s.add_rows(xs[b], ys[b], +1);
            sink += s.column_total(0);
        }));
        if (run("old-nb")) t_old_nb.push_back(seconds([&] {
            legacy::NaiveBayes s(p, shift);
            for (size_t b = 0; b < xs.size(); ++b) s.add_rows(xs[b], ls[b], +1);
            sink += s.classes.size();
        }));
        if (run("new-nb")) t_new_nb.push_back(seconds([&] {
            NaiveBayesStats s(p);
            for (size_t b = 0; b < xs.size(); ++b) s.add_rows(xs[b], ls[b], +1);
            sink += s.column_total(0);
        }));
    }
    std::printf("%lld rows x %d features, blocks of %lld, median of %d (sink %g)\n", static_cast<long long>(rows), p,
                static_cast<long long>(block), repeat, sink);
    std::printf("| state | 0.4 double-double | exact | exact / 0.4 |\n|---|---|---|---|\n");
    std::printf("| LinearStats | %.1f ms | %.1f ms | %.2f |\n", 1e3 * median(t_old_lin), 1e3 * median(t_new_lin),
                median(t_new_lin) / median(t_old_lin));
    std::printf("| NaiveBayesStats | %.1f ms | %.1f ms | %.2f |\n", 1e3 * median(t_old_nb), 1e3 * median(t_new_nb),
                median(t_new_nb) / median(t_old_nb));
    return 0;
}
