// The DaRE-style forest (forest.hpp): thresholds are cell boundaries of a
// fixed grid that routes rows as their cells; every split is the best a
// brute-force search over the cells of the rows reaching the node finds; the forest is a function of
// the multiset of rows (order never matters); after many random forgets and
// learns it is, byte for byte, the forest a fresh fit on the remaining rows
// builds; its stored form round-trips and refuses damaged bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <tuple>

#include "bytes.hpp"
#include "forest.hpp"
#include "forest_walk.hpp"
#include "testing.hpp"

using namespace unlearn;
using unlearn::testing::bytes_of;
using unlearn::testing::subset;

namespace {

using Rows = ForestRows;

// Features rounded to a few decimals (repeated values exercise the exact
// counts); classes from a noisy rule, or a noisy regression target.
Rows make_rows(int n, int p, int classes, uint64_t seed, double step = 0.1) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n01(0.0, 1.0);
    Rows r{RowMatrix(n, p), Vector(n)};
    for (int i = 0; i < n; ++i) {
        double s = 0;
        for (int j = 0; j < p; ++j) {
            r.x(i, j) = std::round(n01(rng) / step) * step;
            s += (j % 2 ? -1.0 : 1.0) * r.x(i, j) * (j + 1);
        }
        if (classes > 0) {
            const double z = s + 0.5 * n01(rng);
            r.y(i) = z < -1 ? 0 : (z < 1 || classes == 2 ? (z < 1 ? 1 : 0) : 2 % classes);
        } else {
            r.y(i) = s + 0.3 * n01(rng);
        }
    }
    return r;
}

// A forest of `trees` trees fitted on r: default options, or shallow
// enough to be blocked (max_depth) with a seed of its own.
Forest fitted(const Rows &r, int classes, int trees, int max_depth = 0, uint64_t seed = 0) {
    ForestOptions o;
    o.n_estimators = trees;
    if (max_depth > 0) {
        o.max_depth = max_depth;
        o.seed = seed;
    }
    Forest f(o, static_cast<int>(r.x.cols()), classes);
    f.fit(r.x, r.y);
    return f;
}

// The best score of any split "x_j <= cell(v)" over every feature and every
// value's threshold cell, from the raw rows: Gini's sum of squared counts over the
// side sizes, or squared error's (sum)^2 / n (larger is better). -inf when
// none leaves min_leaf rows on both sides.
double brute_best(const Rows &r, const std::vector<int> &idx, int classes, int min_leaf, int cell_bits) {
    double best = -INFINITY;
    for (Eigen::Index j = 0; j < r.x.cols(); ++j) {
        for (int a : idx) {
            const double v = forest_cell(r.x(a, j), cell_bits);
            std::vector<long double> cl(static_cast<size_t>(std::max(classes, 1)), 0), cr = cl;
            long double sl = 0, sr = 0;
            int nl = 0, nr = 0;
            for (int i : idx) {
                const bool left = r.x(i, j) <= v;
                (left ? nl : nr)++;
                if (classes > 0) (left ? cl : cr)[static_cast<size_t>(r.y(i))] += 1;
                else (left ? sl : sr) += r.y(i);
            }
            if (nl < min_leaf || nr < min_leaf) continue;
            double score;
            if (classes > 0) {
                long double ql = 0, qr = 0;
                for (size_t c = 0; c < cl.size(); ++c) {
                    ql += cl[c] * cl[c];
                    qr += cr[c] * cr[c];
                }
                score = static_cast<double>(ql / nl + qr / nr);
            } else {
                score = static_cast<double>(sl * sl / nl + sr * sr / nr);
            }
            best = std::max(best, score);
        }
    }
    return best;
}

double score_of(const Rows &r, const std::vector<int> &idx, int classes, int f, double thr) {
    std::vector<long double> cl(static_cast<size_t>(std::max(classes, 1)), 0), cr = cl;
    long double sl = 0, sr = 0;
    int nl = 0, nr = 0;
    for (int i : idx) {
        const bool left = r.x(i, f) <= thr;
        (left ? nl : nr)++;
        if (classes > 0) (left ? cl : cr)[static_cast<size_t>(r.y(i))] += 1;
        else (left ? sl : sr) += r.y(i);
    }
    if (classes > 0) {
        long double ql = 0, qr = 0;
        for (size_t c = 0; c < cl.size(); ++c) {
            ql += cl[c] * cl[c];
            qr += cr[c] * cr[c];
        }
        return static_cast<double>(ql / nl + qr / nr);
    }
    return static_cast<double>(sl * sl / nl + sr * sr / nr);
}

// Walks a tree's preorder nodes alongside the rows reaching each node and
// checks each split against the brute-force best.
void check_tree(const std::vector<Forest::NodeView> &nodes, size_t &at, const Rows &r, const std::vector<int> &idx,
                int classes, int min_leaf, int cell_bits) {
    const Forest::NodeView nd = nodes.at(at++);
    ASSERT_EQ(nd.n, static_cast<int32_t>(idx.size()));
    if (!nd.split) return;
    ASSERT_EQ(forest_cell(nd.threshold, cell_bits), nd.threshold);  // a cell's upper boundary
    const double best = brute_best(r, idx, classes, min_leaf, cell_bits);
    const double ours = score_of(r, idx, classes, nd.feature, nd.threshold);
    EXPECT_NEAR(ours, best, 1e-9 * std::max(1.0, std::fabs(best)));
    std::vector<int> left, right;
    for (int i : idx) (r.x(i, nd.feature) <= nd.threshold ? left : right).push_back(i);
    check_tree(nodes, at, r, left, classes, min_leaf, cell_bits);
    check_tree(nodes, at, r, right, classes, min_leaf, cell_bits);
}

// (classes, cell_bits): values on a 0.01 step share cells at 4 or 6 bits;
// at 52 bits every value is its own cell
class BruteForce : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(BruteForce, EverySplitIsTheBestOverAllCells) {
    const auto [classes, bits] = GetParam();
    const Rows r = make_rows(120, 4, classes, 11 + classes, 0.01);
    ForestOptions o;
    o.n_estimators = 3;
    o.max_features = 1.0;  // every feature
    o.k = 1000;            // every occupied cell is a candidate
    o.random_depth = 0;    // every level the best split
    o.min_samples_leaf = 2;
    o.cell_bits = bits;
    o.seed = 5;
    Forest f(o, 4, classes);
    f.fit(r.x, r.y);
    std::vector<int> all(120);
    std::iota(all.begin(), all.end(), 0);
    for (int t = 0; t < 3; ++t) {
        size_t at = 0;
        const auto nodes = f.tree_nodes(t);
        check_tree(nodes, at, r, all, classes, 2, bits);
        EXPECT_EQ(at, nodes.size());
    }
}

INSTANTIATE_TEST_SUITE_P(Forest, BruteForce, ::testing::Combine(::testing::Values(0, 2, 3), ::testing::Values(4, 6, 52)));

// The grid: a cell is the smallest grid point >= v (monotone, idempotent),
// within a relative 2^-bits of v, and "v <= c" for a grid point c is
// "cell(v) <= c", which is why rows route by their raw values.
TEST(Forest, CellsAreAGridThatRoutesLikeTheirValues) {
    std::mt19937_64 rng(3);
    std::vector<double> v{0.0, -0.0, 1.0, 2.0, 3.0, 17.0, -5.0, 0.5, std::numeric_limits<double>::max(),
                          -std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min(),
                          -std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::min()};
    std::normal_distribution<double> n01;
    for (int i = 0; i < 3000; ++i) v.push_back(std::ldexp(n01(rng), static_cast<int>(rng() % 80) - 40));
    for (int bits : {1, 4, 6, 7, 52}) {
        const int exact = bits < 11 ? 1 << (bits + 1) : 4096;  // integers up to 2^(bits+1) are their own cells
        for (int s = 0; s <= exact; ++s) EXPECT_EQ(forest_cell(s, bits), s);
        if (bits < 11) {
            EXPECT_EQ(forest_cell(exact + 1, bits), exact + 2);
        }
        EXPECT_EQ(std::signbit(forest_cell(-0.0, bits)), false);
        std::vector<double> cells;
        for (double a : v) {
            const double c = forest_cell(a, bits);
            ASSERT_GE(c, a);
            ASSERT_EQ(forest_cell(c, bits), c) << a;
            if (std::fabs(a) >= std::numeric_limits<double>::min() && std::fabs(a) < 1e300) {
                ASSERT_LE(c - a, std::ldexp(std::fabs(a), 1 - bits)) << a;
            }
            cells.push_back(c);
        }
        for (size_t i = 0; i < v.size(); ++i)
            for (size_t j = 0; j < v.size(); j += 37) {
                if (v[i] <= v[j]) {
                    ASSERT_LE(cells[i], cells[j]);
                }
                ASSERT_EQ(v[i] <= cells[j], cells[i] <= cells[j]) << v[i] << " " << cells[j];
            }
    }
    EXPECT_EQ(forest_cell(0.1, 52), 0.1);
    EXPECT_NE(forest_cell(0.1, 6), 0.1);
}

// One feature, 50 values four rows each (label: x >= 0.5) and one far row
// alone in its cell; a single tree of one split over every cell. Forgetting
// one of four rows of a cell keeps the split and retrains nothing; the far
// row's cell is a candidate that empties, and the tree retrains; either way
// the forest is a fresh fit's. The threshold is a cell boundary no row holds.
// A cell's last row leaving a node changes its candidates: the node is
// recounted from its rows and keeps its subtree while its split stays; only
// the split's own cell emptying retrains it. Rows in a cell with others
// change counts alone.
TEST(Forest, ALastRowLeavingItsCellRecountsAndOnlyTheSplitsCellRetrains) {
    Rows pool{RowMatrix(201, 1), Vector(201)};
    for (int i = 0; i < 200; ++i) {
        pool.x(i, 0) = (i % 50) / 50.0;
        pool.y(i) = pool.x(i, 0) >= 0.5 ? 1 : 0;
    }
    pool.x(200, 0) = 1000.0;
    pool.y(200) = 1;
    ForestOptions o;
    o.n_estimators = 1;
    o.max_depth = 1;
    o.random_depth = 0;
    o.k = 1000;
    o.seed = 9;
    Forest f(o, 1, 2);
    f.fit(pool.x, pool.y);
    const auto nodes = f.tree_nodes(0);
    ASSERT_TRUE(nodes[0].split);
    const double threshold = nodes[0].threshold;
    EXPECT_EQ(forest_cell(threshold, o.cell_bits), threshold);
    for (Eigen::Index i = 0; i < pool.x.rows(); ++i) EXPECT_NE(pool.x(i, 0), threshold);
    std::vector<int> held(201);
    std::iota(held.begin(), held.end(), 0);
    auto forget = [&](int row) {
        held.erase(std::find(held.begin(), held.end(), row));
        const Rows now = subset(pool, held), c = subset(pool, {row});
        const ForestUpdate done = f.update(c.x, c.y, -1, [&](const ForestRowFilter &) -> const ForestRows & {
            static ForestRows rows;
            rows.x = now.x;
            rows.y = now.y;
            return rows;
        });
        Forest fresh(o, 1, 2);
        fresh.fit(now.x, now.y);
        EXPECT_EQ(bytes_of(f), bytes_of(fresh));
        return std::make_pair(done.retrained, done.recounted);
    };
    EXPECT_EQ(forget(7), std::make_pair(int64_t{0}, int64_t{0}));    // 0.14: three rows left in its cell
    EXPECT_EQ(forget(200), std::make_pair(int64_t{0}, int64_t{1}));  // 1000: its cell's last row, not the split's
    // the split's cell, its rows one by one: the last one retrains the tree
    std::vector<int> in_split_cell;
    for (int i : held)
        if (forest_cell(pool.x(i, 0), o.cell_bits) == threshold) in_split_cell.push_back(i);
    ASSERT_GT(in_split_cell.size(), 1u);
    int64_t retrained = 0;
    for (int i : in_split_cell) retrained += forget(i).first;
    EXPECT_GE(retrained, 1);
    EXPECT_NE(f.tree_nodes(0)[0].threshold, threshold);
}

// A forest stored before threshold cells (encoding 1, no cell_bits) decodes
// as every value its own cell, and re-encodes as the same forest.
TEST(Forest, AnEncodingOneForestDecodesWithExactValueCells) {
    const Rows r = make_rows(300, 3, 2, 4);
    ForestOptions o;
    o.n_estimators = 2;
    o.cell_bits = kMaxCellBits;
    Forest f(o, 3, 2);
    f.fit(r.x, r.y);
    ByteWriter whole;
    f.encode_as(whole, 2);  // encoding 1 was encoding 2 without cell_bits
    const std::vector<uint8_t> b = whole.bytes();
    const size_t cell_bits_at = 2 + 4 + 4 + 4 + 8 + 4 + 4 + 8;  // version and options before it
    ASSERT_EQ(b[cell_bits_at], kMaxCellBits);
    std::vector<uint8_t> old(b.begin(), b.begin() + cell_bits_at);
    old.insert(old.end(), b.begin() + cell_bits_at + 1, b.end());
    old[0] = 1;
    old[1] = 0;
    ByteReader rd(old.data(), old.size());
    const Forest g = Forest::decode(rd, 3, 2);
    EXPECT_EQ(g.options().cell_bits, kMaxCellBits);
    EXPECT_EQ(bytes_of(g), bytes_of(f));
}

// Encoding 2 (cells, thresholds and small fields whole) still decodes, to
// the forest that wrote it; encoding 3 holds the same forest in fewer
// bytes, also when cells are negative, zero, or DBL_MAX (the top cell, off
// the grid), and for every cell width.
TEST(Forest, EncodingTwoDecodesAndEncodingThreeIsTheSameForestSmaller) {
    for (int bits : {1, 6, 23, 51, kMaxCellBits}) {
        Rows r = make_rows(400, 3, 2, 11);
        for (Eigen::Index i = 0; i < r.x.rows(); ++i) {
            if (i % 7 == 0) r.x(i, 0) = -r.x(i, 0) * 1e5;
            if (i % 11 == 0) r.x(i, 1) = 0.0;
            if (i % 13 == 0) r.x(i, 2) = i % 2 ? std::numeric_limits<double>::max() : -std::numeric_limits<double>::max();
        }
        ForestOptions o;
        o.n_estimators = 3;
        o.cell_bits = bits;
        o.k = 50;
        Forest f(o, 3, 2);
        f.fit(r.x, r.y);
        ByteWriter two;
        f.encode_as(two, 2);
        ByteReader rd(two.bytes().data(), two.bytes().size());
        const Forest g = Forest::decode(rd, 3, 2);
        EXPECT_EQ(g.difference(f), "") << bits;
        const std::vector<uint8_t> three = bytes_of(f);
        EXPECT_EQ(bytes_of(g), three) << bits;
        ByteReader rd3(three.data(), three.size());
        EXPECT_EQ(Forest::decode(rd3, 3, 2).difference(f), "") << bits;
        if (bits <= 23) {
            EXPECT_LT(three.size() * 10, two.bytes().size() * 7) << bits;  // at least 30% smaller
        }
    }
}

TEST(Forest, RowOrderDoesNotMatter) {
    for (int classes : {0, 3}) {
        const Rows r = make_rows(400, 5, classes, 3);
        std::vector<int> perm(400);
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), std::mt19937(9));
        ForestOptions o;
        o.n_estimators = 5;
        o.seed = 42;
        Forest a(o, 5, classes), b(o, 5, classes);
        a.fit(r.x, r.y);
        const Rows s = subset(r, perm);
        b.fit(s.x, s.y);
        EXPECT_EQ(bytes_of(a), bytes_of(b));
    }
}

// Random forgets and learns, one row or a batch at a time; after each the
// forest must be byte-identical to a fresh fit on the rows it holds.
void forget_and_learn(int classes, int random_depth, int min_leaf, int rounds, int cell_bits = ForestOptions().cell_bits,
                      double step = 0.1) {
    const Rows pool = make_rows(900, 6, classes, 77 + classes, step);
    ForestOptions o;
    o.cell_bits = cell_bits;
    o.n_estimators = 4;
    o.k = 5;
    o.random_depth = random_depth;
    o.min_samples_leaf = min_leaf;
    o.max_depth = classes == 0 ? 8 : 0;
    o.seed = 1234;
    std::vector<int> held(600), out;
    std::iota(held.begin(), held.end(), 0);
    for (int i = 600; i < 900; ++i) out.push_back(i);
    Forest f(o, 6, classes);
    {
        const Rows h = subset(pool, held);
        f.fit(h.x, h.y);
    }
    std::mt19937 rng(classes * 100 + random_depth);
    int64_t retrained = 0, recounted = 0;
    for (int round = 0; round < rounds; ++round) {
        const bool forget = (rng() % 2 == 0 && held.size() > 50) || out.empty();
        const int batch = rng() % 5 == 0 ? 1 + static_cast<int>(rng() % 20) : 1;
        std::vector<int> changed;
        auto &from = forget ? held : out;
        auto &to = forget ? out : held;
        for (int b = 0; b < batch && !from.empty(); ++b) {
            const size_t at = rng() % from.size();
            changed.push_back(from[at]);
            to.push_back(from[at]);
            from.erase(from.begin() + static_cast<std::ptrdiff_t>(at));
        }
        Rows now = subset(pool, held);
        const Rows c = subset(pool, changed);
        int fetched = 0;
        const ForestUpdate done = f.update(c.x, c.y, forget ? -1 : 1, [&](const ForestRowFilter &needed) -> const ForestRows & {
            // only the rows the filter asks for, as a table read keeps them
            static ForestRows rows;
            std::vector<Eigen::Index> keep;
            for (Eigen::Index i = 0; i < now.x.rows(); ++i)
                if (needed(now.x.row(i).data())) keep.push_back(i);
            rows.x = now.x(keep, Eigen::all);
            rows.y = now.y(keep);
            ++fetched;
            return rows;
        });
        retrained += done.retrained;
        recounted += done.recounted;
        ASSERT_LE(fetched, 1);  // once per update, for all trees
        if (round % 25 == 24 || round == rounds - 1) {
            Forest fresh(o, 6, classes);
            fresh.fit(now.x, now.y);
            ASSERT_EQ(f.difference(fresh), "") << "round " << round;
            ASSERT_EQ(bytes_of(f), bytes_of(fresh)) << "round " << round;
            ASSERT_EQ(f.rows(), static_cast<int64_t>(held.size()));
        }
    }
    EXPECT_GT(retrained, 0);
    if (cell_bits < kMaxCellBits) {
        EXPECT_GT(recounted, 0);  // the path that keeps a subtree ran, and stayed exact
    }
}

TEST(Forest, ForgetAndLearnEqualAFreshFitClassification) { forget_and_learn(3, 0, 1, 300); }
TEST(Forest, ForgetAndLearnEqualAFreshFitBinaryRandomLevels) { forget_and_learn(2, 2, 3, 300); }
TEST(Forest, ForgetAndLearnEqualAFreshFitRegression) { forget_and_learn(0, 1, 2, 200); }
// values that share cells (a fine step, coarse cells), and every value its own cell
TEST(Forest, ForgetAndLearnEqualAFreshFitSharedCells) { forget_and_learn(3, 1, 1, 300, 4, 0.01); }
TEST(Forest, ForgetAndLearnEqualAFreshFitExactValues) { forget_and_learn(2, 0, 1, 200, kMaxCellBits, 0.01); }

TEST(Forest, EncodingRoundTripsAndRefusesDamage) {
    for (int classes : {0, 2}) {
        const Rows r = make_rows(200, 3, classes, 5);
        const Forest f = fitted(r, classes, 2);
        const auto b = bytes_of(f);
        ByteReader rd(b.data(), b.size());
        Forest g = Forest::decode(rd, 3, classes);
        EXPECT_EQ(rd.remaining(), 0u);
        EXPECT_EQ(bytes_of(g), b);
        for (size_t cut : {size_t{0}, size_t{1}, b.size() / 3, b.size() / 2, b.size() - 1}) {
            ByteReader part(b.data(), cut);
            EXPECT_THROW(Forest::decode(part, 3, classes), Error);
        }
        for (size_t i = 0; i < b.size(); i += 7) {
            auto bad = b;
            bad[i] ^= 0xa5;
            try {
                ByteReader br(bad.data(), bad.size());
                Forest::decode(br, 3, classes);
            } catch (const Error &) {
            }
        }
    }
}

// A forest decoded to predict from (no statistics) predicts and ranks
// features bit for bit as the forest it was stored from, checks the bytes
// as strictly, and refuses to change or be stored again.
TEST(Forest, DecodedToPredictFromPredictsAlikeAndRefusesToChange) {
    for (int classes : {0, 2, 3}) {
        const Rows r = make_rows(500, 4, classes, 9);
        const Forest f = fitted(r, classes, 4);
        const auto b = bytes_of(f);
        ByteReader rd(b.data(), b.size());
        const Forest g = Forest::decode(rd, 4, classes, false);
        EXPECT_EQ(rd.remaining(), 0u);
        EXPECT_LT(g.bytes(), f.bytes()) << classes;
        for (Eigen::Index i = 0; i < r.x.rows(); ++i) {
            if (classes > 0) {
                const Vector a = f.predict_proba(r.x.row(i).data()), c = g.predict_proba(r.x.row(i).data());
                EXPECT_EQ(std::memcmp(a.data(), c.data(), sizeof(double) * static_cast<size_t>(classes)), 0) << i;
            } else {
                const double a = f.predict_value(r.x.row(i).data()), c = g.predict_value(r.x.row(i).data());
                EXPECT_EQ(std::memcmp(&a, &c, sizeof a), 0) << i;
            }
        }
        const Vector fi = f.importances(), gi = g.importances();
        EXPECT_EQ(std::memcmp(fi.data(), gi.data(), sizeof(double) * 4), 0);
        Forest h = g;
        ByteWriter w;
        EXPECT_THROW(h.encode(w), Error);
        EXPECT_THROW(h.update(r.x.topRows(1), r.y.head(1), -1, [&](const ForestRowFilter &) -> const ForestRows & {
            static const ForestRows none;
            return none;
        }), Error);
        for (size_t cut : {size_t{1}, b.size() / 2, b.size() - 1}) {
            ByteReader part(b.data(), cut);
            EXPECT_THROW(Forest::decode(part, 4, classes, false), Error);
        }
    }
}

TEST(Forest, PredictsAndRanksFeatures) {
    const Rows r = make_rows(600, 4, 2, 8);
    ForestOptions o;
    o.n_estimators = 20;
    Forest f(o, 4, 2);
    f.fit(r.x, r.y);
    int hits = 0;
    for (Eigen::Index i = 0; i < r.x.rows(); ++i) {
        const Vector p = f.predict_proba(r.x.row(i).data());
        EXPECT_NEAR(p.sum(), 1.0, 1e-12);
        Eigen::Index top;
        p.maxCoeff(&top);
        hits += top == static_cast<Eigen::Index>(r.y(i));
    }
    EXPECT_GT(hits, 550);
    const Vector imp = f.importances();
    EXPECT_NEAR(imp.sum(), 1.0, 1e-12);
    EXPECT_GT(imp(3), imp(0));  // the rule weighs feature j by j + 1
}

TEST(Forest, RefusesBadOptions) {
    ForestOptions o;
    o.n_estimators = 0;
    EXPECT_THROW(Forest(o, 3, 2), Error);
    o = ForestOptions{};
    o.max_depth = kMaxForestDepth + 1;
    EXPECT_THROW(Forest(o, 3, 2), Error);
    o = ForestOptions{};
    o.k = 0;
    EXPECT_THROW(Forest(o, 3, 2), Error);
    for (int bits : {0, kMaxCellBits + 1}) {
        o = ForestOptions{};
        o.cell_bits = bits;
        EXPECT_THROW(Forest(o, 3, 2), Error);
    }
}

}  // namespace

// Prediction reads steps built from the nodes when first needed; every
// update must drop them: predictions after forgets made between predictions
// are, bit for bit, a fresh fit's on the remaining rows.
TEST(Forest, PredictionsFollowUpdates) {
    for (int classes : {0, 3}) {
        const Rows pool = make_rows(400, 4, classes, 11);
        ForestOptions o;
        o.n_estimators = 5;
        o.seed = 3;
        std::vector<int> held(400);
        std::iota(held.begin(), held.end(), 0);
        Forest f(o, 4, classes);
        f.fit(pool.x, pool.y);
        for (int round = 0; round < 30; ++round) {
            if (classes > 0) f.predict_proba(pool.x.row(round).data());
            else f.predict_value(pool.x.row(round).data());
            const std::vector<int> gone{held[static_cast<size_t>(round * 7 % held.size())]};
            held.erase(std::find(held.begin(), held.end(), gone[0]));
            const Rows now = subset(pool, held), c = subset(pool, gone);
            f.update(c.x, c.y, -1, [&](const ForestRowFilter &) -> const ForestRows & {
                static ForestRows rows;
                rows.x = now.x;
                rows.y = now.y;
                return rows;
            });
        }
        const Rows now = subset(pool, held);
        Forest fresh(o, 4, classes);
        fresh.fit(now.x, now.y);
        for (Eigen::Index i = 0; i < pool.x.rows(); ++i) {
            const double *x = pool.x.row(i).data();
            if (classes > 0) ASSERT_TRUE((f.predict_proba(x).array() == fresh.predict_proba(x).array()).all()) << i;
            else ASSERT_EQ(f.predict_value(x), fresh.predict_value(x)) << i;
        }
    }
}

namespace {

uint64_t bits_of_double(double v) {
    uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

// The reference prediction: each tree's preorder nodes walked node by node,
// each leaf's class frequencies (count / n) or mean (exact sum / n) computed
// from the rows the forest was fitted on that reach it, summed in tree
// order. The fast walk (blocks for a shallow dense tree of float
// thresholds, 8-byte steps where every threshold is a float, 16-byte steps
// elsewhere), whichever code walks it, must give the same bits.
struct ReferenceForest {
    struct Tree {
        std::vector<Forest::NodeView> nodes;
        std::vector<size_t> right;                  // per split: its right child
        std::vector<std::vector<double>> counts;    // per leaf: class counts
        std::vector<ExactSum> sums;                 // per leaf
        bool floats = true;                         // every threshold exactly a float
        bool coded = true;                          // every threshold has a cell code
        int depth = 0, leaves = 0;
        // what forest_walk.hpp lays out in blocks
        bool blocked(int features) const {
            return floats && depth <= kMaxBlockedDepth && static_cast<size_t>(features) <= kMaxBlockedFeatures &&
                   (size_t{1} << depth) <= 8 * static_cast<size_t>(leaves);
        }
    };
    std::vector<Tree> trees;
    int classes;

    size_t leaf_of(const Tree &t, const double *x) const {
        size_t at = 0;
        while (t.nodes[at].split) at = x[t.nodes[at].feature] <= t.nodes[at].threshold ? at + 1 : t.right[at];
        return at;
    }

    ReferenceForest(const Forest &f, const Rows &r, int n_trees) : classes(f.classes()) {
        for (int ti = 0; ti < n_trees; ++ti) {
            Tree t;
            t.nodes = f.tree_nodes(ti);
            t.right.assign(t.nodes.size(), 0);
            std::vector<size_t> open;  // splits whose left subtree is being listed
            for (size_t i = 0; i < t.nodes.size(); ++i) {
                if (t.nodes[i].split) {
                    t.floats = t.floats && static_cast<double>(static_cast<float>(t.nodes[i].threshold)) == t.nodes[i].threshold;
                    int16_t code;
                    t.coded = t.coded && threshold_code(static_cast<float>(t.nodes[i].threshold), &code);
                    open.push_back(i);
                    continue;
                }
                // a leaf ends the left subtrees of the splits it closes:
                // the next node is the right child of the last open split
                if (!open.empty() && i + 1 < t.nodes.size()) {
                    t.right[open.back()] = i + 1;
                    open.pop_back();
                }
            }
            std::vector<std::pair<size_t, int>> todo{{0, 0}};  // node, depth
            while (!todo.empty()) {
                const auto [i, d] = todo.back();
                todo.pop_back();
                if (!t.nodes[i].split) {
                    ++t.leaves;
                    t.depth = std::max(t.depth, d);
                    continue;
                }
                todo.push_back({i + 1, d + 1});
                todo.push_back({t.right[i], d + 1});
            }
            t.counts.assign(t.nodes.size(), std::vector<double>(static_cast<size_t>(std::max(classes, 1)), 0));
            t.sums.assign(t.nodes.size(), ExactSum());
            std::vector<int32_t> n(t.nodes.size(), 0);
            for (Eigen::Index i = 0; i < r.x.rows(); ++i) {
                const size_t leaf = leaf_of(t, r.x.row(i).data());
                ++n[leaf];
                if (classes > 0) t.counts[leaf][static_cast<size_t>(r.y(i))] += 1;
                else t.sums[leaf].add(r.y(i));
            }
            for (size_t i = 0; i < t.nodes.size(); ++i) {
                if (!t.nodes[i].split) {
                    EXPECT_EQ(n[i], t.nodes[i].n) << "tree " << ti << " leaf " << i;
                }
            }
            trees.push_back(std::move(t));
        }
    }

    Vector predict(const double *x) const {
        Vector p = Vector::Zero(std::max(classes, 1));
        for (const Tree &t : trees) {
            const size_t leaf = leaf_of(t, x);
            const int32_t n = t.nodes[leaf].n;
            if (n == 0) continue;
            if (classes > 0)
                for (int c = 0; c < classes; ++c) p(c) += t.counts[leaf][static_cast<size_t>(c)] / n;
            else
                p(0) += t.sums[leaf].value() / n;
        }
        return p / static_cast<double>(trees.size());
    }
};

// Fits, then compares every row's prediction (and rows with NaN, infinite
// or huge values, and rows at, just above and just below each threshold of
// the first trees, signed zeros and subnormals) with the reference bit for
// bit, under every walk this CPU runs (each lays the trees out afresh);
// returns how many trees have only float thresholds (the 8-byte steps, or
// blocks) and how many not, in blocked how many blocks would take and in
// coded how many of those coded blocks.
std::pair<int, int> check_walks(const Rows &r, int classes, const ForestOptions &o, int *blocked = nullptr,
                                int *coded = nullptr) {
    const int p = static_cast<int>(r.x.cols());
    Forest f(o, p, classes);
    f.fit(r.x, r.y);
    const ReferenceForest ref(f, r, o.n_estimators);
    std::vector<std::vector<double>> probes;
    for (Eigen::Index i = 0; i < r.x.rows(); ++i) probes.emplace_back(r.x.row(i).data(), r.x.row(i).data() + p);
    const double odd[] = {std::nan(""), -std::nan(""), INFINITY, -INFINITY, 1e300, -1e300, 0.0, -0.0, 1e-310, -1e-310, 1e-45, -1e-45};
    for (double v : odd)
        for (int k = 0; k < 2; ++k) {
            std::vector<double> x(r.x.row(k).data(), r.x.row(k).data() + p);
            for (int j = k; j < p; j += 2) x[static_cast<size_t>(j)] = v;
            probes.push_back(x);
        }
    for (size_t ti = 0; ti < std::min<size_t>(3, ref.trees.size()); ++ti)
        for (const Forest::NodeView &nd : ref.trees[ti].nodes) {
            if (!nd.split) continue;
            for (double v : {nd.threshold, std::nextafter(nd.threshold, INFINITY), std::nextafter(nd.threshold, -INFINITY)}) {
                std::vector<double> x(r.x.row(0).data(), r.x.row(0).data() + p);
                x[static_cast<size_t>(nd.feature)] = v;
                probes.push_back(x);
            }
        }
    const ForestWalk was = forest_walk();
    for (ForestWalk w : {ForestWalk::Scalar, ForestWalk::Avx512}) {
        if (!set_forest_walk(w)) continue;
        for (size_t i = 0; i < probes.size(); ++i) {
            const double *x = probes[i].data();
            const Vector want = ref.predict(x);
            if (classes > 0) {
                const Vector got = f.predict_proba(x);
                for (int c = 0; c < classes; ++c)
                    EXPECT_EQ(bits_of_double(got(c)), bits_of_double(want(c))) << "walk " << static_cast<int>(w) << " row " << i << " class " << c;
                // the class from the leaves' shares is the probabilities' argmax, the first of equals
                EXPECT_EQ(f.predict_class(x), static_cast<int>(std::max_element(want.data(), want.data() + classes) - want.data()))
                    << "walk " << static_cast<int>(w) << " row " << i;
            } else {
                EXPECT_EQ(bits_of_double(f.predict_value(x)), bits_of_double(want(0))) << "walk " << static_cast<int>(w) << " row " << i;
            }
        }
    }
    set_forest_walk(was);
    int floats = 0;
    if (blocked) *blocked = 0;
    if (coded) *coded = 0;
    for (const auto &t : ref.trees) {
        floats += t.floats;
        if (blocked) *blocked += t.blocked(p);
        if (coded) *coded += t.blocked(p) && t.coded;
    }
    return {floats, o.n_estimators - floats};
}

}  // namespace

// Blocks (a shallow dense tree of float thresholds), 8-byte steps (every
// threshold of the tree a float) and the 16-byte fallback predict what
// walking the nodes predicts, bit for bit, whichever code walks them.
// A cell code compares as the value does: for every threshold with a code
// (grid points of 6 bits, signed zeros, subnormal floats, the extremes) and
// any float x (the threshold, its neighbours, NaN of either sign, infinities),
// x <= t exactly when cell_code(x) <= threshold_code(t).
TEST(Forest, CellCodesCompareAsTheirValues) {
    std::vector<float> thresholds = {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                                     -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::min(),
                                     -std::numeric_limits<float>::min()};
    std::mt19937_64 rng(4);
    for (int k = 0; k < 4000; ++k) {
        // any sign and exponent, the top 6 mantissa bits
        const uint32_t b = static_cast<uint32_t>(rng()) & 0xfffe0000u;
        float t;
        std::memcpy(&t, &b, sizeof t);
        if (!std::isnan(t)) thresholds.push_back(t);
    }
    int coded = 0;
    for (float t : thresholds) {
        int16_t code;
        if (!threshold_code(t, &code)) continue;
        ++coded;
        std::vector<float> xs = {t, std::nextafter(t, INFINITY), std::nextafter(t, -INFINITY), 0.0f, -0.0f,
                                 std::nanf(""), -std::nanf(""), INFINITY, -INFINITY, -t};
        for (int k = 0; k < 20; ++k) {
            const auto b = static_cast<uint32_t>(rng());
            float x;
            std::memcpy(&x, &b, sizeof x);
            xs.push_back(x);
        }
        for (float x : xs) EXPECT_EQ(x <= t, cell_code(x) <= code) << x << " " << t;
    }
    EXPECT_EQ(coded, static_cast<int>(thresholds.size()));
    // a threshold of more mantissa bits has none (its tree takes float blocks)
    int16_t code;
    EXPECT_FALSE(threshold_code(1.0f + 1.0f / 1024, &code));
    EXPECT_FALSE(threshold_code(-1.0f - 1.0f / 1024, &code));
    EXPECT_FALSE(threshold_code(std::nanf(""), &code));
}

TEST(Forest, PredictionWalksMatchTheNodesBitForBit) {
    for (int classes : {0, 2, 3}) {
        // shallow trees, in blocks: one level of blocks (depth 5), two
        // (depth 8: 3 levels, then 5) and three (depth 12: 2, 5, 5)
        // (labels at random: trees grow to the depth, dense), of 4
        // features and of as many as the vector walk keeps in registers;
        // cells of 6 bits (coded blocks) and of 10 (float blocks)
        for (int depth : {5, 8, 12})
            for (int features : {4, 32})
                for (int cell_bits : {6, 10}) {
                    ForestOptions o;
                    o.n_estimators = 4;
                    o.seed = 3;
                    o.max_depth = depth;
                    o.cell_bits = cell_bits;
                    Rows r = make_rows(depth == 12 ? 16000 : 600, features, classes, 22, 0.001);
                    std::mt19937_64 rng(9);
                    for (Eigen::Index i = 0; i < r.y.size(); ++i)
                        r.y(i) = classes > 0 ? static_cast<double>(rng() % static_cast<uint64_t>(classes)) : static_cast<double>(rng() % 1000);
                    int blocked = 0, coded = 0;
                    EXPECT_EQ(check_walks(r, classes, o, &blocked, &coded), std::make_pair(4, 0)) << depth << " " << features;
                    EXPECT_GT(blocked, 0) << depth << " " << features;
                    if (cell_bits == 6)
                        EXPECT_EQ(coded, blocked) << depth << " " << features;
                    else
                        EXPECT_LT(coded, blocked) << depth << " " << features;
                }
        ForestOptions o;
        o.n_estimators = 12;
        o.seed = 5;
        // cells of 6 bits: every threshold a float
        const Rows r = make_rows(500, 4, classes, 21);
        EXPECT_EQ(check_walks(r, classes, o), std::make_pair(12, 0));
        // every value its own cell: values on a 0.1 step are no floats
        o.cell_bits = kMaxCellBits;
        EXPECT_EQ(check_walks(r, classes, o), std::make_pair(0, 12));
        // huge values: their cells are beyond float's range
        Rows huge = r;
        huge.x.col(1) *= 1e300;
        o.cell_bits = 6;
        const auto [narrow, wide] = check_walks(huge, classes, o);
        EXPECT_GT(wide, 0);
        EXPECT_EQ(narrow + wide, 12);
        // one forest of both: stumps on an integer column (floats at 52
        // bits) or on a 0.1-step column (not)
        Rows mixed = r;
        for (Eigen::Index i = 0; i < mixed.x.rows(); ++i) mixed.x(i, 0) = std::round(mixed.x(i, 0) * 10);
        o.cell_bits = kMaxCellBits;
        o.max_depth = 1;
        o.max_features = 0.25;  // one feature per tree
        o.n_estimators = 40;
        const auto [n2, w2] = check_walks(mixed, classes, o);
        EXPECT_GT(n2, 0);
        EXPECT_GT(w2, 0);
    }
}

// predict's class comes from the leaves' shares only when it leads by more
// than their rounding could overturn: at a tie (every row twice, once of
// each of two classes: every leaf half and half) it is the probabilities'
// argmax, the first of equals, under every walk; when the shares tie but
// the probabilities do not, the probabilities decide.
TEST(Forest, PredictedClassAtTiesIsTheFirstOfEquals) {
    for (int classes : {2, 3}) {
        const Rows half = make_rows(300, 4, classes, 31);
        Rows r{RowMatrix(2 * half.x.rows(), 4), Vector(2 * half.x.rows())};
        for (Eigen::Index i = 0; i < half.x.rows(); ++i)
            for (int k = 0; k < 2; ++k) {
                r.x.row(2 * i + k) = half.x.row(i);
                r.y(2 * i + k) = static_cast<double>((k + i) % 2);
            }
        const Forest f = fitted(r, classes, 7, 6, 2);
        const ForestWalk was = forest_walk();
        for (ForestWalk w : {ForestWalk::Scalar, ForestWalk::Avx512}) {
            if (!set_forest_walk(w)) continue;
            EXPECT_EQ(f.predicts_from_shares(), w == ForestWalk::Avx512);
            for (Eigen::Index i = 0; i < half.x.rows(); ++i) {
                const Vector p = f.predict_proba(half.x.row(i).data());
                ASSERT_EQ(p(0), p(1)) << "row " << i;
                EXPECT_EQ(f.predict_class(half.x.row(i).data()), 0) << "walk " << static_cast<int>(w) << " row " << i;
            }
        }
        set_forest_walk(was);
    }
}

// Shares that tie over probabilities that do not: 70,000 rows of one value,
// 34,999 of class 0 and 35,001 of class 1, so each tree is one leaf whose
// frequencies (0.49999, 0.50001) both round to 16,384 units. The class must
// be 1, from predict_proba: taking the shares' first of equals would say 0.
TEST(Forest, PredictedClassWhenSharesTieIsTheProbabilities) {
    Rows r{RowMatrix(70000, 2), Vector(70000)};
    for (Eigen::Index i = 0; i < r.x.rows(); ++i) {
        r.x(i, 0) = 1;
        r.x(i, 1) = 2;
        r.y(i) = i < 34999 ? 0 : 1;
    }
    ForestOptions o;
    o.n_estimators = 3;
    o.seed = 4;
    Forest f(o, 2, 2);
    f.fit(r.x, r.y);
    const double x[2] = {1, 2};
    const Vector p = f.predict_proba(x);
    ASSERT_GT(p(1), p(0));
    const ForestWalk was = forest_walk();
    for (ForestWalk w : {ForestWalk::Scalar, ForestWalk::Avx512}) {
        if (!set_forest_walk(w)) continue;
        EXPECT_EQ(f.predicts_from_shares(), w == ForestWalk::Avx512);
        EXPECT_EQ(f.predict_class(x), 1) << "walk " << static_cast<int>(w);
    }
    set_forest_walk(was);
}

// The rule that stops the walk early: a lead decides only when the trees
// left, each giving its whole share (kShareOne) to the runner-up, still
// leave it trees + 2 or more, the lead predict_class takes from every tree.
TEST(Forest, ADecidedClassSurvivesTheWorstTreesLeft) {
    for (int64_t trees : {3, 41, 100}) {
        for (int64_t left : {int64_t{0}, int64_t{1}, trees / 2}) {
            const int64_t need = trees + 2 + left * kShareOne;
            int64_t q[3] = {5 * kShareOne, 5 * kShareOne - need, 5 * kShareOne - need - 7};
            EXPECT_EQ(decided_class(q, 3, trees, left), 0) << trees << " trees, " << left << " left";
            q[1] += 1;  // one unit short
            EXPECT_EQ(decided_class(q, 3, trees, left), -1) << trees << " trees, " << left << " left";
            q[1] -= 1;
            // the worst the trees left can do: all their shares to class 1, the closest
            q[1] += left * kShareOne;
            EXPECT_EQ(decided_class(q, 3, trees, 0), 0) << trees << " trees, " << left << " left";
        }
    }
    const int64_t tie[2] = {7 * kShareOne, 7 * kShareOne};
    EXPECT_EQ(decided_class(tie, 2, 10, 0), -1);  // equal sums: predict_proba decides
}

// Past half the trees predict_class stops once the trees left could not
// overturn the leader. Every row's class must still be predict_proba's
// argmax: rows decided early, rows walked to the end and rows near a tie
// (the labels are noisy, so many leaves are mixed), with 2 and 3 classes.
TEST(Forest, PredictedClassDecidedEarlyIsTheProbabilities) {
    for (int classes : {2, 3}) {
        const Rows r = make_rows(3000, 6, classes, static_cast<uint64_t>(40 + classes));
        const Forest f = fitted(r, classes, 41, 8, 9);
        const ForestWalk was = forest_walk();
        for (ForestWalk w : {ForestWalk::Scalar, ForestWalk::Avx512}) {
            if (!set_forest_walk(w)) continue;
            size_t early = 0, whole = 0;
            for (Eigen::Index i = 0; i < r.x.rows(); ++i) {
                const double *x = r.x.row(i).data();
                const Vector p = f.predict_proba(x);
                size_t walked = 0;
                Eigen::Index best = 0;
                p.maxCoeff(&best);  // the first of equals
                ASSERT_EQ(f.predict_class(x, &walked), best) << classes << " classes, row " << i << ", walk "
                                                             << static_cast<int>(w);
                ASSERT_GT(walked, 0u);
                ASSERT_LE(walked, 41u);
                (walked < 41 ? early : whole) += 1;
            }
            if (f.predicts_from_shares()) {
                EXPECT_GT(early, 1000u) << classes << " classes";  // decided early
                EXPECT_GT(whole, 0u) << classes << " classes";      // and walked to the end
            } else {
                EXPECT_EQ(early, 0u);
            }
        }
        set_forest_walk(was);
    }
}
