// The forest's core costs without PostgreSQL: fit time, state size, and the
// distribution of single-row forget costs (each followed by the forest a
// retrain would build, from rows held in memory) against a full fit.
//   forest_bench [rows] [features] [trees] [max_depth] [forgets] [random_depth] [cell_bits]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "bytes.hpp"
#include "forest.hpp"
#include "forest_walk.hpp"

using namespace unlearn;
using Clock = std::chrono::steady_clock;

static double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// The least work any exact update must do, whatever it keeps: where a
// node's split differs between the forest before and after (or a leaf
// became a split, or a split a leaf), the node's own statistics can have
// been kept up to date, but its new children hold new sets of rows, so every
// node below it is built from its rows. Counted in node-rows (a node of n
// rows counts n), the unit of a fit's work, which is the sum over all nodes.
namespace {
using Nodes = std::vector<Forest::NodeView>;
// one past the subtree at i (preorder), adding its node-rows below i to *rows
size_t skip(const Nodes &t, size_t i, int64_t *rows) {
    const size_t root = i;
    size_t pending = 1;
    while (pending > 0) {
        if (i != root) *rows += t[i].n;
        pending += t[i].split ? 1 : -1;
        ++i;
    }
    return i;
}
// compares the subtrees at i (before) and j (after); returns where each
// ends. shifts: a split that kept its feature and moved its threshold is
// counted as free (its children could be kept and only the rows between the
// two thresholds moved; their cost is not counted), a looser bound.
// *reached: the rows of the changed nodes, which their new children are
// built from (rows needed back, counted once per tree).
std::pair<size_t, size_t> changed(const Nodes &a, size_t i, const Nodes &b, size_t j, bool shifts, int64_t *rows,
                                  int64_t *reached) {
    if (!a[i].split && !b[j].split) return {i + 1, j + 1};  // a leaf's values follow its kept counts
    if (a[i].split != b[j].split || a[i].feature != b[j].feature || (!shifts && a[i].threshold != b[j].threshold)) {
        int64_t ignore = 0;
        *reached += b[j].split ? b[j].n : 0;
        return {skip(a, i, &ignore), skip(b, j, rows)};
    }
    auto [ia, jb] = changed(a, i + 1, b, j + 1, shifts, rows, reached);
    return changed(a, ia, b, jb, shifts, rows, reached);
}
// of a sorted, non-empty vector
double median(const std::vector<double> &v) { return v[v.size() / 2]; }
double p99(const std::vector<double> &v) { return v[std::min(v.size() - 1, v.size() * 99 / 100)]; }
struct Work {
    int64_t needed = 0, shifted = 0, fit = 0;  // node-rows an exact update must build (threshold shifts counted, or not); of a fit
    int64_t reached = 0;  // rows the strict count needs back, summed over trees
};
Work least_work(const Forest &before, const Forest &after) {
    Work w;
    for (int t = 0; t < after.options().n_estimators; ++t) {
        const Nodes a = before.tree_nodes(t), b = after.tree_nodes(t);
        int64_t ignore = 0;
        changed(a, 0, b, 0, false, &w.needed, &w.reached);
        changed(a, 0, b, 0, true, &w.shifted, &ignore);
        for (const auto &nd : b) w.fit += nd.n;
    }
    return w;
}
}  // namespace

int main(int argc, char **argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 200000;
    const int p = argc > 2 ? std::atoi(argv[2]) : 20;
    const int trees = argc > 3 ? std::atoi(argv[3]) : 100;
    const int depth = argc > 4 ? std::atoi(argv[4]) : 0;
    const int forgets = argc > 5 ? std::atoi(argv[5]) : 200;
    const int random_depth = argc > 6 ? std::atoi(argv[6]) : ForestOptions().random_depth;
    const int cell_bits = argc > 7 ? std::atoi(argv[7]) : ForestOptions().cell_bits;
    std::mt19937_64 rng(1);
    std::normal_distribution<double> n01;
    // a row of p N(0, 1) features into x; returns its label, from the first
    // five with noise
    const auto draw = [&](std::mt19937_64 &stream, double *x) {
        double s = 0;
        for (int j = 0; j < p; ++j) {
            x[j] = n01(stream);
            s += (j < 5 ? 1.0 : 0.1) * x[j];
        }
        return s + 0.5 * n01(stream) > 0 ? 1 : 0;
    };
    ForestRows all{RowMatrix(n, p), Vector(n)};
    for (int i = 0; i < n; ++i) all.y(i) = draw(rng, all.x.row(i).data());
    ForestOptions o;
    o.n_estimators = trees;
    o.max_depth = depth;
    o.random_depth = random_depth;
    o.cell_bits = cell_bits;
    o.seed = 7;
    Forest f(o, p, 2);
    auto t0 = Clock::now();
    f.fit(all.x, all.y);
    const double fit_ms = ms_since(t0);
    // held-out accuracy, on rows of the same distribution from a stream of
    // their own (the forgets below draw from rng as before)
    double accuracy = 0;
    {
        std::mt19937_64 test_rng(2);
        const int m = 20000;
        std::vector<double> row(static_cast<size_t>(p));
        int right = 0;
        for (int i = 0; i < m; ++i) {
            const int label = draw(test_rng, row.data());
            right += (f.predict_proba(row.data())(1) > 0.5 ? 1 : 0) == label;
        }
        accuracy = static_cast<double>(right) / m;
    }
    // encoding, the best of three (the first also faults its buffer in),
    // and the frame's checksum over the result, as a change's write does
    ByteWriter w;
    double enc_ms = 1e300;
    for (int pass = 0; pass < 3; ++pass) {
        ByteWriter again;
        t0 = Clock::now();
        f.encode(again);
        enc_ms = std::min(enc_ms, ms_since(t0));
        if (pass == 2) w = std::move(again);
    }
    // the frame's checksum (word_sum64 from stop 28; hash64, a byte a step, before)
    t0 = Clock::now();
    volatile uint64_t checksum = word_sum64(w.bytes().data(), w.bytes().size());
    const double sum_ms = ms_since(t0);
    t0 = Clock::now();
    checksum = hash64(w.bytes().data(), w.bytes().size());
    (void)checksum;
    const double byte_sum_ms = ms_since(t0);
    t0 = Clock::now();
    {
        ByteReader r(w.bytes().data(), w.bytes().size());
        const Forest back = Forest::decode(r, p, 2);
    }
    const double dec_ms = ms_since(t0);
    std::printf("fit %d x %d, %d trees, max_depth %d, random_depth %d, cell_bits %d: %.0f ms; %zu nodes, state %.1f MB (encode %.1f ms, its checksum %.1f ms (a byte a step %.1f ms), decode %.0f ms); held-out accuracy %.4f\n",
                n, p, trees, depth, random_depth, cell_bits, fit_ms, f.nodes(), w.bytes().size() / 1e6, enc_ms, sum_ms, byte_sum_ms, dec_ms, accuracy);
    // scoring every row with each walk this CPU runs (each lays the trees
    // out afresh), the faster of two passes each, probabilities and the
    // class alone; the walks must agree bit for bit
    {
        const ForestWalk was = forest_walk();
        std::printf("predict every row:");
        double first = 0;
        for (ForestWalk w : {ForestWalk::Scalar, ForestWalk::Avx512}) {
            if (!set_forest_walk(w)) continue;
            double best = 1e300, sum = 0;
            for (int pass = 0; pass < 2; ++pass) {
                sum = 0;
                t0 = Clock::now();
                for (int i = 0; i < n; ++i) sum += f.predict_proba(all.x.row(i).data())(1);
                best = std::min(best, ms_since(t0));
            }
            if (w == ForestWalk::Scalar) first = sum;
            // the class alone (predict), the faster of two passes; it must be
            // the probabilities' argmax
            double best_class = 1e300;
            std::vector<int> got(static_cast<size_t>(n));
            for (int pass = 0; pass < 2; ++pass) {
                t0 = Clock::now();
                for (int i = 0; i < n; ++i) got[static_cast<size_t>(i)] = f.predict_class(all.x.row(i).data());
                best_class = std::min(best_class, ms_since(t0));
            }
            int64_t differ = 0;
            for (int i = 0; i < n; ++i) {
                const Vector pr = f.predict_proba(all.x.row(i).data());
                Eigen::Index top;
                pr.maxCoeff(&top);  // the first of equals
                differ += got[static_cast<size_t>(i)] != static_cast<int>(top);
            }
            std::printf(" %s walk %.0f ms (%.0f ns a row), the class alone %.0f ms (%.0f ns)%s",
                        w == ForestWalk::Scalar ? "scalar" : "avx-512", best, best * 1e6 / n, best_class,
                        best_class * 1e6 / n, sum == first && differ == 0 ? "" : " DIFFERENT");
        }
        std::printf("\n");
        set_forest_walk(was);
    }
    std::vector<double> cost, source;  // source: the row source's share (a table scan in PostgreSQL)
    std::vector<double> compute, needed_rows;  // the update without its row source; rows the retrains needed
    std::vector<double> least, loosest;  // least_work's share of a fit, per forget (threshold shifts counted, or free)
    std::vector<double> reached;  // rows it needs back, summed over trees
    int64_t retrained = 0, recounted = 0;
    ForestRows held = all, wanted;
    for (int k = 0; k < forgets; ++k) {
        const Eigen::Index victim = static_cast<Eigen::Index>(rng() % static_cast<uint64_t>(held.x.rows()));
        RowMatrix cx = held.x.row(victim);
        Vector cy = held.y.segment(victim, 1);
        // the rows after the change: the victim swapped out
        const Eigen::Index last = held.x.rows() - 1;
        held.x.row(victim) = held.x.row(last);
        held.y(victim) = held.y(last);
        held.x.conservativeResize(last, Eigen::NoChange);
        held.y.conservativeResize(last);
        int fetches = 0;
        source.push_back(0);
        needed_rows.push_back(0);
        const Forest before = f;
        t0 = Clock::now();
        const ForestUpdate done = f.update(cx, cy, -1, [&](const ForestRowFilter &needed) -> const ForestRows & {
            // the rows the filter asks for, as the boundary keeps them from its table scan
            ++fetches;
            const auto s0 = Clock::now();
            std::vector<char> marked(static_cast<size_t>(held.x.rows()), 0);
            needed.mark(held.x.data(), marked.size(), static_cast<size_t>(held.x.cols()), marked.data());
            std::vector<Eigen::Index> keep;
            for (Eigen::Index i = 0; i < held.x.rows(); ++i)
                if (marked[static_cast<size_t>(i)]) keep.push_back(i);
            needed_rows.back() += static_cast<double>(keep.size());
            wanted.x = held.x(keep, Eigen::all);
            wanted.y = held.y(keep);
            source.back() += ms_since(s0);
            return wanted;
        });
        retrained += done.retrained;
        recounted += done.recounted;
        cost.push_back(ms_since(t0));
        compute.push_back(cost.back() - source.back());
        const Work w = least_work(before, f);
        least.push_back(static_cast<double>(w.needed) / static_cast<double>(w.fit));
        loosest.push_back(static_cast<double>(w.shifted) / static_cast<double>(w.fit));
        reached.push_back(static_cast<double>(w.reached));
    }
    std::sort(reached.begin(), reached.end());
    std::sort(least.begin(), least.end());
    std::sort(loosest.begin(), loosest.end());
    std::sort(cost.begin(), cost.end());
    std::sort(source.begin(), source.end());
    std::sort(compute.begin(), compute.end());
    std::sort(needed_rows.begin(), needed_rows.end());
    int none = 0;
    for (double s : source) none += s == 0;
    if (!cost.empty())
        std::printf("forget one row: median %.3f ms, p99 %.3f ms, max %.3f ms; %.1f subtrees retrained and %.1f nodes recounted per row; fit/median %.0fx\n",
                    median(cost), p99(cost), cost.back(),
                    static_cast<double>(retrained) / forgets, static_cast<double>(recounted) / forgets,
                    fit_ms / median(cost));
    if (!source.empty())
        std::printf("of which handing the rows (a table read in PostgreSQL): median %.3f ms; forgets that retrained nothing: %d of %d\n",
                    median(source), none, forgets);
    // what no layout of the state or the table removes: the retrains' own
    // work with their rows at hand, and how many rows they need (each a
    // fetch by key at best)
    if (!compute.empty())
        std::printf("the retrains alone (rows at hand): median %.3f ms, p99 %.3f ms; rows they needed: median %.0f, p99 %.0f\n",
                    median(compute), p99(compute),
                    median(needed_rows), p99(needed_rows));
    if (!least.empty())
        std::printf("least work of any exact update (node-rows below a changed split, as a share of a fit's): median %.5f (fit / it %.0fx), p99 %.5f; "
                    "rows of the changed nodes, summed over trees: median %.0f\n",
                    median(least), 1 / median(least), p99(least),
                    median(reached));
    if (!loosest.empty())
        std::printf("  the same with a threshold that moved on its feature counted free: median %.5f (fit / it %.0fx), p99 %.5f\n",
                    median(loosest), 1 / median(loosest), p99(loosest));
    // 1% of the rows in one update (one DELETE statement), against a fit
    // of the rows left, checked equal to it
    const Eigen::Index bulk = held.x.rows() / 100, left = held.x.rows() - bulk;
    if (bulk > 0) {
        const RowMatrix cx = held.x.bottomRows(bulk);
        const Vector cy = held.y.tail(bulk);
        held.x.conservativeResize(left, Eigen::NoChange);
        held.y.conservativeResize(left);
        const Forest before = f;
        t0 = Clock::now();
        const ForestUpdate done = f.update(cx, cy, -1, [&](const ForestRowFilter &) -> const ForestRows & { return held; });
        const double bulk_ms = ms_since(t0);
        Forest fresh(o, p, 2);
        t0 = Clock::now();
        fresh.fit(held.x, held.y);
        const double refit_ms = ms_since(t0);
        std::printf("forget 1%% (%ld rows) in one update: %.0f ms, %ld subtrees retrained, %ld nodes recounted; fit of the rest %.0f ms (%.1fx); %s\n",
                    static_cast<long>(bulk), bulk_ms, static_cast<long>(done.retrained), static_cast<long>(done.recounted),
                    refit_ms, refit_ms / bulk_ms, f.difference(fresh).empty() ? "equal to it" : "DIFFERENT");
        const Work w = least_work(before, f);
        std::printf("least work of any exact update of that 1%%: %.3f of a fit's node-rows (fit / it %.1fx); a moved threshold free: %.3f (%.1fx)\n",
                    static_cast<double>(w.needed) / static_cast<double>(w.fit), static_cast<double>(w.fit) / static_cast<double>(w.needed),
                    static_cast<double>(w.shifted) / static_cast<double>(w.fit), static_cast<double>(w.fit) / static_cast<double>(w.shifted));
    }
    return 0;
}
