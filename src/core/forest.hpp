// Random forests that forget exactly, in the manner of DaRE (Brophy & Lowd,
// "Machine Unlearning for Random Forests", ICML 2021): every node keeps the
// statistics its split decision depends on, so that forgetting (or learning)
// a row walks the row's path, updates them, and retrains only a subtree whose
// decision changes, from the rows that reach it.
//
// Exactness is stronger here than in DaRE: a forest is a pure function of
// (the multiset of rows it holds, its options, its seed). Forgetting a row
// therefore gives, bit for bit, the forest a retrain on the remaining rows
// would build, and verify checks exactly that. What makes it so:
//  - Feature sampling at a node depends only on the node's path (a seeded
//    stream keyed by seed, tree and the left/right turns from the root).
//  - Threshold candidates (the threshold rule): every value maps to a cell
//    of a fixed, data-independent grid (forest_cell: sign, exponent and the
//    top cell_bits mantissa bits). For a node and a sampled feature, every
//    cell c occupied by the rows reaching the node gets a hash h(path,
//    feature, c); the candidates are the k occupied cells with the smallest
//    hashes, and "x <= c" (c the cell's upper boundary) goes left. The set is
//    a function of the set of occupied cells at the node, never of row order
//    or keys. Each candidate keeps how many rows fall in its cell: forgetting
//    a row changes the set only when that count reaches 0 (the cell's last
//    row left the node: rare for coarse cells, unlike a continuous value's
//    one row), learning a row only when its cell is new at the node and
//    hashes below the largest candidate (or fewer than k cells were
//    occupied). Either way the subtree is retrained.
//  - The statistics are exact: class counts are integers, regression sums
//    are ExactSum (exact_sum.hpp), and a decision rounds them the same way
//    whichever order the rows came in.
//  - Why a forest that forgot a row holds no threshold that came from it: a
//    threshold is a grid point, not a row's value (unless the value is one,
//    e.g. a small integer); it is a candidate because some row is in its
//    cell, and a candidate's row count reaches 0 when the cell's last row is
//    forgotten, which retrains the subtree from the remaining rows, none of
//    them in that cell. More generally the forest equals a retrain on the
//    remaining rows, which never saw the row.
//  - Nodes that hold kStatsMinRows rows or fewer keep no candidate
//    statistics (a retrain from so few rows is cheap): any change of their
//    rows retrains them.
// The core stores no key and no row: only the statistics above. Rows for a
// retrain come from a callback (the boundary reads them from the table
// through lineage); the core filters those that reach the retrained node.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bytes.hpp"
#include "error.hpp"
#include "exact_sum.hpp"
#include "linear_stats.hpp"

namespace unlearn {

struct ForestOptions {
    int n_estimators = 100;
    int max_depth = 0;         // 0: unlimited (scikit-learn's None), bounded by kMaxDepth
    int min_samples_leaf = 1;
    double max_features = 0;   // 0: default ('sqrt' classification, 1.0 regression); <= 1 a fraction, else a count
    int k = 10;                // candidate thresholds per sampled feature
    int random_depth = 2;      // levels whose split is drawn at random (they never flip)
    uint64_t seed = 0;
    int cell_bits = 6;         // threshold cells: mantissa bits kept (forest_cell); 52: every value its own cell
};

constexpr int kMaxForestDepth = 500;
constexpr int kMaxTrees = 10000;
constexpr int kMaxCandidates = 1000;
constexpr int kMaxCellBits = 52;

// The threshold cell of a value: the smallest point >= v of a fixed grid,
// the doubles whose mantissa has at most `bits` leading bits (plus 0 and
// DBL_MAX). Cells are (previous grid point, grid point], of relative width
// 2^-bits; small integers and 0 are grid points; -0.0 is 0. Because the grid
// is data-independent and cell() is monotone, "x <= c" for a grid point c
// holds exactly when cell(x) <= c: a split's threshold is a cell's upper
// boundary and rows route by their raw values. bits >= 52 keeps every value.
inline double forest_cell(double v, int bits) {
    if (v == 0.0) return 0.0;  // -0.0 too
    if (bits >= kMaxCellBits || !std::isfinite(v)) return v;
    uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    const uint64_t sign = b & (uint64_t{1} << 63), low = (uint64_t{1} << (kMaxCellBits - bits)) - 1;
    uint64_t mag = b & ~sign;
    if (sign) {
        mag &= ~low;  // toward zero is up for a negative value
        if (mag == 0) return 0.0;
    } else if (mag & low) {
        mag = (mag | low) + 1;  // the next grid point; a carry is the next binade's first
        if (mag >= 0x7ff0000000000000ULL) return std::numeric_limits<double>::max();
    }
    b = sign | mag;
    double out;
    std::memcpy(&out, &b, sizeof out);
    return out;
}

// Nodes with this many rows or fewer keep no candidate statistics.
constexpr int32_t kStatsMinRows = 128;

// The rows a forest holds now: x, and y as class indices (classification,
// stored as doubles) or values (regression).
struct ForestRows {
    RowMatrix x;
    Vector y;
};
// Whether the forest needs a row (given its values) for the subtrees it
// retrains: true for exactly the rows that reach one of them. A source that
// reads a table asks about its rows a block at a time (mark): the paths are
// walked for many rows side by side, not one row after another.
class ForestRowFilter {
public:
    using One = std::function<bool(const double *x)>;
    // n rows, row i at rows + i * stride; sets keep[i] to 1 for the rows
    // needed, leaves the others as they were
    using Many = std::function<void(const double *rows, size_t n, size_t stride, char *keep)>;
    ForestRowFilter(One one, Many many) : one_(std::move(one)), many_(std::move(many)) {}
    bool operator()(const double *x) const { return one_(x); }
    void mark(const double *rows, size_t n, size_t stride, char *keep) const { many_(rows, n, stride, keep); }

private:
    One one_;
    Many many_;
};
// Hands the rows the forest holds after the change being applied, at least
// those the filter accepts (others are ignored): a source that reads a table
// keeps only the few rows that reach a retrained subtree.
using ForestRowSource = std::function<const ForestRows &(const ForestRowFilter &needed)>;
// Thrown by Forest::update when the rows handed for a retrained subtree are
// not as many as its statistics hold: rows the forest holds are gone.
struct ForestRowsMissing : Error {
    ForestRowsMissing() : Error(ErrorKind::CorruptState, "a forest was handed fewer or more rows than it holds") {}
};

// What an update did: subtrees retrained from their rows, and nodes whose
// candidate cells changed recounted from their rows (their split stayed,
// so their subtree did too).
struct ForestUpdate {
    int64_t retrained = 0;
    int64_t recounted = 0;
};

class Forest {
public:
    // classes: 0 for regression
    Forest(const ForestOptions &o, int features, int classes);
    // copies are deep: update changes a forest's trees in place
    Forest(const Forest &o);
    Forest &operator=(const Forest &o);
    Forest(Forest &&) noexcept = default;
    Forest &operator=(Forest &&) noexcept = default;
    ~Forest();

    // Trains every tree on the rows (x, y as in ForestRows); holds a copy of
    // x, as cells, while it trains.
    void fit(const RowMatrix &x, const Vector &y);
    // Forgets (sign -1) or learns (+1) rows given by their values; subtrees
    // whose decisions change retrain from rows(), which must already hold
    // the forest's rows after the change. Every tree is walked first, so
    // rows() is asked once per call, with the filter of all trees' retrained
    // subtrees; each subtree retrains once however many changed rows reach
    // it; a node that only gained or lost a candidate cell is recounted
    // from its rows and keeps its subtree when its split stays.
    ForestUpdate update(const RowMatrix &x, const Vector &y, int sign, const ForestRowSource &rows);

    // Mean over the trees of their leaf's class frequencies (as scikit-learn).
    Vector predict_proba(const double *x) const;
    void predict_proba(const double *x, double *p) const;  // into p[0..classes), no allocation
    // predict_proba's argmax (the first of equals, as numpy's), found from
    // the leaves' shares (forest_walk.hpp) when the class they put ahead
    // leads by more than their rounding could overturn, from predict_proba
    // when not. Past half the trees it stops walking once the trees left
    // could not overturn the leader (walked: how many it walked, for tests).
    int predict_class(const double *x, size_t *walked = nullptr) const;
    // Whether predict_class reads the shares under the walk in use (every
    // tree blocked and keeping shares, the trees of each group of 128 of
    // one shape): for tests.
    bool predicts_from_shares() const;
    double predict_value(const double *x) const;  // regression: mean of leaf means
    // scikit-learn's feature_importances_: impurity decrease per feature,
    // normalised per tree, averaged, normalised.
    Vector importances() const;
    // The forest without column j (exact: retrains from rows without it).
    void drop_feature(int j, const ForestRows &rows_without);

    int features() const { return features_; }
    int classes() const { return classes_; }
    int64_t rows() const;
    const ForestOptions &options() const { return o_; }
    size_t nodes() const;
    size_t bytes() const;  // memory estimate of the state held

    // Canonical (preorder) encoding: equal forests encode to equal bytes.
    void encode(ByteWriter &w) const;
    // In a given encoding: 3 (encode's) or 2, the form stored before cells
    // were ordinals, which decode still reads (tests make such states).
    void encode_as(ByteWriter &w, int encoding) const;
    // statistics false: the nodes' candidate statistics are read and
    // checked but not kept, a forest to predict from (a fraction of the
    // memory, decoded faster), which refuses to update or be encoded.
    static Forest decode(ByteReader &r, int features, int classes, bool statistics = true);
    // "" when equal, else what differs first (tree, node), for verify
    std::string difference(const Forest &o) const;

    // A tree's nodes in preorder, for tests and inspection.
    struct NodeView {
        bool split;
        int feature;
        double threshold;
        int32_t n;
    };
    std::vector<NodeView> tree_nodes(int tree) const;

    // The sampled-feature count the options give for this layout.
    int sampled_features() const;

    struct Tree;  // defined in forest.cpp

private:
    int predict_class_exactly(const double *x) const;  // predict_proba's argmax
    // How prediction walks each tree, built when first needed (defined with
    // the prediction code); fit and update drop it, a copy starts without.
    struct Plan;
    const Plan &plan() const;

    ForestOptions o_;
    int features_;
    int classes_;
    bool statistics_ = true;  // false: decoded to predict from (decode)
    std::vector<std::shared_ptr<Tree>> trees_;
    mutable std::shared_ptr<const Plan> plan_;

    void require_statistics(const char *what) const;
};

// Bytes a forest trained on `rows` rows may take at most (for the memory bound).
double forest_bytes_bound(const ForestOptions &o, int features, int classes, double rows);

}  // namespace unlearn
