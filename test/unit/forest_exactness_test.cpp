// A second, adversarial reading of Forest::update: over many random
// configurations (classes, random levels, min_samples_leaf, k, cell widths,
// depth, sampled features) and data built to hit the awkward cases (few
// distinct values, cells shared by many rows, extreme magnitudes, nodes
// around kStatsMinRows rows, batches of every size, forgets and learns),
// the forest after every update is, byte for byte, a fresh fit's on the
// rows it then holds. Also: a source that hands fewer rows than a
// retrained or recounted node holds is refused (ForestRowsMissing).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "bytes.hpp"
#include "forest.hpp"
#include "testing.hpp"

using namespace unlearn;
using unlearn::testing::bytes_of;
using unlearn::testing::subset;

namespace {

using Pool = ForestRows;

// Column kinds: few distinct small integers (cells shared by many rows),
// a fine normal (values that share cells at coarse widths), a normal on a
// wide exponent range, and one with extremes mixed in.
double value_of(int kind, std::mt19937_64 &rng) {
    std::normal_distribution<double> n01;
    switch (kind) {
    case 0: return static_cast<double>(rng() % 4);
    case 1: return std::round(n01(rng) * 100) / 100;
    case 2: return std::ldexp(n01(rng), static_cast<int>(rng() % 40) - 20);
    default: {
        static const double extremes[] = {0.0, -0.0, std::numeric_limits<double>::denorm_min(),
                                          -std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::min(),
                                          1e100, -1e100, 1e300, -1e300, std::numeric_limits<double>::max(),
                                          -std::numeric_limits<double>::max()};
        if (rng() % 4 == 0) return extremes[rng() % (sizeof extremes / sizeof extremes[0])];
        return n01(rng);
    }
    }
}

Pool make_pool(int n, int p, int classes, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n01;
    Pool r{RowMatrix(n, p), Vector(n)};
    std::vector<int> kinds(static_cast<size_t>(p));
    for (int j = 0; j < p; ++j) kinds[static_cast<size_t>(j)] = static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) {
        double s = 0;
        for (int j = 0; j < p; ++j) {
            r.x(i, j) = value_of(kinds[static_cast<size_t>(j)], rng);
            const double v = r.x(i, j);
            s += (j % 2 ? -1.0 : 1.0) * (std::fabs(v) < 10 ? v : (v > 0 ? 3.0 : -3.0));
        }
        if (classes > 0) {
            const double z = s + n01(rng);
            r.y(i) = static_cast<double>(z < -1 ? 0 : z < 1 ? 1 % classes : (classes - 1));
            if (rng() % 10 == 0) r.y(i) = static_cast<double>(rng() % static_cast<uint64_t>(classes));
        } else {
            r.y(i) = s + 0.3 * n01(rng);
            if (rng() % 17 == 0) r.y(i) = (rng() % 2 ? 1e12 : -1e-12) * n01(rng);  // exact sums must cancel outliers
        }
    }
    return r;
}

struct Config {
    ForestOptions o;
    int classes, features, rows;
};

Config config_of(uint64_t seed) {
    std::mt19937_64 rng(seed * 7919 + 1);
    Config c;
    c.classes = static_cast<int>(std::vector<int>{0, 2, 3, 5}[rng() % 4]);
    c.features = 1 + static_cast<int>(rng() % 5);
    c.rows = 150 + static_cast<int>(rng() % 500);
    c.o.n_estimators = 1 + static_cast<int>(rng() % 4);
    c.o.max_depth = std::vector<int>{0, 0, 2, 4, 7}[rng() % 5];
    c.o.min_samples_leaf = std::vector<int>{1, 1, 2, 5, 40}[rng() % 5];
    c.o.max_features = std::vector<double>{0, 1.0, 0.5, 2}[rng() % 4];
    c.o.k = std::vector<int>{1, 2, 3, 5, 10, 1000}[rng() % 6];
    c.o.random_depth = std::vector<int>{0, 0, 1, 2, 3, 50}[rng() % 6];
    c.o.cell_bits = std::vector<int>{1, 2, 3, 4, 6, 10, kMaxCellBits}[rng() % 7];
    c.o.seed = rng();
    return c;
}

struct Totals {
    int64_t retrained = 0, recounted = 0, multi_recount = 0;
};

// Random forgets and learns; after every update the forest must be a fresh
// fit's on the rows it holds (compared by difference and by bytes).
void check_config(uint64_t seed, int rounds, Totals &tot) {
    const Config c = config_of(seed);
    const Pool pool = make_pool(c.rows + c.rows / 2, c.features, c.classes, seed);
    std::vector<int> held(static_cast<size_t>(c.rows)), out;
    std::iota(held.begin(), held.end(), 0);
    for (int i = c.rows; i < pool.x.rows(); ++i) out.push_back(i);
    Forest f(c.o, c.features, c.classes);
    {
        const Pool h = subset(pool, held);
        f.fit(h.x, h.y);
    }
    std::mt19937_64 rng(seed ^ 0xabcdef);
    const std::string where = "seed " + std::to_string(seed) + " classes " + std::to_string(c.classes) + " bits " +
                              std::to_string(c.o.cell_bits) + " k " + std::to_string(c.o.k) + " random_depth " +
                              std::to_string(c.o.random_depth) + " msl " + std::to_string(c.o.min_samples_leaf) +
                              " max_depth " + std::to_string(c.o.max_depth);
    for (int round = 0; round < rounds; ++round) {
        const bool forget = (rng() % 2 == 0 && held.size() > 20) || out.empty();
        // mostly single rows, sometimes a few, sometimes a large share
        const auto &from_now = forget ? held : out;
        size_t batch = 1;
        switch (rng() % 6) {
        case 0: batch = 2 + rng() % 8; break;
        case 1: batch = 1 + rng() % std::max<size_t>(1, from_now.size() / 3); break;
        default: break;
        }
        // sometimes rows that share a cell with another changed row, or
        // repeat one row's values (a duplicate row forgotten or learned)
        std::vector<int> changed;
        auto &from = forget ? held : out;
        auto &to = forget ? out : held;
        for (size_t b = 0; b < batch && !from.empty(); ++b) {
            const size_t at = rng() % from.size();
            changed.push_back(from[at]);
            to.push_back(from[at]);
            from.erase(from.begin() + static_cast<std::ptrdiff_t>(at));
        }
        const Pool now = subset(pool, held), ch = subset(pool, changed);
        const int mode = static_cast<int>(rng() % 3);  // filtered rows, every row, every row reversed
        ForestRows given;
        const ForestUpdate done = f.update(ch.x, ch.y, forget ? -1 : 1, [&](const ForestRowFilter &needed) -> const ForestRows & {
            // the filter a table read uses (a block of rows side by side)
            // asks for exactly the rows the one-row filter does
            std::vector<char> marked(static_cast<size_t>(now.x.rows()), 0);
            needed.mark(now.x.data(), marked.size(), static_cast<size_t>(now.x.cols()), marked.data());
            std::vector<Eigen::Index> keep;
            for (Eigen::Index i = 0; i < now.x.rows(); ++i) {
                EXPECT_EQ(marked[static_cast<size_t>(i)] != 0, needed(now.x.row(i).data())) << where << " row " << i;
                if (mode != 0 || marked[static_cast<size_t>(i)]) keep.push_back(i);
            }
            if (mode == 2) std::reverse(keep.begin(), keep.end());
            given.x = now.x(keep, Eigen::all);
            given.y = now.y(keep);
            return given;
        });
        tot.retrained += done.retrained;
        tot.recounted += done.recounted;
        tot.multi_recount += done.recounted > 1;
        Forest fresh(c.o, c.features, c.classes);
        fresh.fit(now.x, now.y);
        ASSERT_EQ(f.difference(fresh), "") << where << " round " << round << (forget ? " forget " : " learn ") << changed.size();
        ASSERT_EQ(bytes_of(f), bytes_of(fresh)) << where << " round " << round;
        ASSERT_EQ(f.rows(), static_cast<int64_t>(held.size())) << where;
    }
}

TEST(ForestExactness, UpdatesEqualAFreshFitOverRandomConfigurations) {
    Totals tot;
    // PGUL_FOREST_SEEDS=n searches further (a review ran 2000)
    const char *more = std::getenv("PGUL_FOREST_SEEDS");
    const uint64_t seeds = more ? std::strtoull(more, nullptr, 10) : 60;
    for (uint64_t seed = 1; seed <= seeds; ++seed) {
        check_config(seed, 30, tot);
        if (HasFatalFailure()) return;
    }
    // the paths under test ran
    EXPECT_GT(tot.retrained, 0);
    EXPECT_GT(tot.recounted, 0);
    EXPECT_GT(tot.multi_recount, 0);
}

// One tree, every level random, coarse cells and many candidates: most
// changes reach restat nodes at random depth, several per update.
TEST(ForestExactness, RecountsAtRandomLevelsAndUnderOtherRecounts) {
    for (int classes : {0, 2, 3}) {
        for (int random_depth : {1, 3, 100}) {
            const Pool pool = make_pool(1500, 3, classes, 40 + static_cast<uint64_t>(classes));
            ForestOptions o;
            o.n_estimators = 2;
            o.k = 8;
            o.cell_bits = 2;
            o.random_depth = random_depth;
            o.min_samples_leaf = 3;
            o.seed = 77;
            std::vector<int> held(1000), out;
            std::iota(held.begin(), held.end(), 0);
            for (int i = 1000; i < 1500; ++i) out.push_back(i);
            Forest f(o, 3, classes);
            f.fit(subset(pool, held).x, subset(pool, held).y);
            std::mt19937 rng(static_cast<unsigned>(classes * 31 + random_depth));
            int64_t recounted = 0;
            for (int round = 0; round < 40; ++round) {
                const bool forget = round % 2 == 0;
                auto &from = forget ? held : out;
                auto &to = forget ? out : held;
                std::vector<int> changed;
                for (int b = 0; b < 25; ++b) {
                    const size_t at = rng() % from.size();
                    changed.push_back(from[at]);
                    to.push_back(from[at]);
                    from.erase(from.begin() + static_cast<std::ptrdiff_t>(at));
                }
                const Pool now = subset(pool, held), ch = subset(pool, changed);
                const ForestUpdate done = f.update(ch.x, ch.y, forget ? -1 : 1, [&](const ForestRowFilter &) -> const ForestRows & {
                    static ForestRows rows;
                    rows.x = now.x;
                    rows.y = now.y;
                    return rows;
                });
                recounted += done.recounted;
                Forest fresh(o, 3, classes);
                fresh.fit(now.x, now.y);
                ASSERT_EQ(f.difference(fresh), "") << classes << " " << random_depth << " round " << round;
            }
            EXPECT_GT(recounted, 0) << classes << " " << random_depth;
        }
    }
}

// A source that lacks a row the forest holds is refused, whether the row
// reaches a retrained subtree or a recounted node; a forget of a row the
// forest never held cannot make a node's count negative unnoticed.
TEST(ForestExactness, MissingRowsAreRefused) {
    for (int classes : {0, 2}) {
        const Pool pool = make_pool(600, 2, classes, 5);
        ForestOptions o;
        o.n_estimators = 3;
        o.k = 1000;
        o.cell_bits = 3;
        o.seed = 1;
        std::vector<int> held(600);
        std::iota(held.begin(), held.end(), 0);
        int refused = 0, tried = 0;
        for (int gone = 0; gone < 600; gone += 7) {
            Forest f(o, 2, classes);
            f.fit(pool.x, pool.y);
            std::vector<int> rest = held;
            rest.erase(rest.begin() + gone);
            const Pool now = subset(pool, rest), ch = subset(pool, {gone});
            // the source also drops the row of another cell than the forgotten one
            const int also = (gone + 301) % 600;
            std::vector<int> handed;
            for (int i : rest)
                if (i != also) handed.push_back(i);
            const Pool given = subset(pool, handed);
            ForestUpdate done;
            bool threw = false;
            bool asked_for_also = false;
            try {
                done = f.update(ch.x, ch.y, -1, [&](const ForestRowFilter &needed) -> const ForestRows & {
                    asked_for_also = needed(pool.x.row(also).data());
                    static ForestRows rows;
                    rows.x = given.x;
                    rows.y = given.y;
                    return rows;
                });
            } catch (const ForestRowsMissing &) {
                threw = true;
            }
            // a row the update needs (it reaches a retrained or recounted
            // node) and is missing must be noticed
            if (asked_for_also) {
                ++tried;
                EXPECT_TRUE(threw) << classes << " " << gone;
                refused += threw;
            }
        }
        EXPECT_GT(tried, 0);
    }
}

// Training and recounts route rows by their cells (cells_of), updates and
// the row filter by their raw values: the two agree for every threshold a
// forest can hold (a grid point, or DBL_MAX, the top cell) at every width,
// also for values next to a grid point, subnormals, and values above the
// largest grid point (whose cell is DBL_MAX).
TEST(ForestExactness, RoutingByCellsIsRoutingByValuesAtEveryWidth) {
    std::mt19937_64 rng(17);
    const double max = std::numeric_limits<double>::max(), tiny = std::numeric_limits<double>::denorm_min();
    std::vector<double> base{0.0, -0.0, tiny, -tiny, std::numeric_limits<double>::min(), max, -max, 1.0, -1.0, 1e100, -1e100};
    std::normal_distribution<double> n01;
    for (int i = 0; i < 150; ++i) base.push_back(std::ldexp(n01(rng), static_cast<int>(rng() % 2100) - 1075));
    for (int bits = 1; bits <= kMaxCellBits; ++bits) {
        std::vector<double> values = base, thresholds{max};
        for (const double v : base) {
            const double c = forest_cell(v, bits);
            thresholds.push_back(c);
            // the values on either side of the grid point
            values.push_back(std::nextafter(c, INFINITY));
            values.push_back(std::nextafter(c, -INFINITY));
        }
        for (const double v : values) {
            if (!std::isfinite(v)) continue;
            const double cv = forest_cell(v, bits);
            ASSERT_EQ(forest_cell(cv, bits), cv) << bits << " " << v;
            for (const double t : thresholds) {
                if (!std::isfinite(t)) continue;
                ASSERT_EQ(forest_cell(t, bits), t) << bits << " " << t;
                ASSERT_EQ(v <= t, cv <= t) << "bits " << bits << " value " << v << " cell " << cv << " threshold " << t;
            }
        }
    }
}

}  // namespace
