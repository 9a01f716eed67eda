// Which code walks a forest's trees to predict, chosen at run time (the
// library is built for any CPU): on a CPU with AVX-512 (F and BW), a forest's shallow
// trees are laid out in blocks of up to five levels, a block's nodes are
// compared with the row all at once and the path through them found at
// once, so a row makes one memory round trip per five levels, not one per
// level. forest.cpp fills the blocks from a tree's nodes, and walks every
// other tree (and every tree elsewhere) step by step.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace unlearn {

// The walks, the plainest first. Every one decides every node as the
// nodes do, so predictions are the same bit for bit whichever runs.
enum class ForestWalk {
    Scalar,  // steps, one tree and one level at a time (forest.cpp)
    Avx512   // blocks where a tree fits them (AVX-512F and BW), else steps
};

// Whether this CPU (and build) runs the walk.
bool forest_walk_runs(ForestWalk w);
// The walk prediction uses: the widest this CPU runs, unless set.
ForestWalk forest_walk();
// For tests, which compare the walks: false (and nothing set) when this
// CPU does not run w. Process-wide; the core is single-threaded.
bool set_forest_walk(ForestWalk w);

// A tree of at most kMaxBlockedDepth levels whose thresholds are floats, in
// a forest of at most kMaxBlockedFeatures (the row stays in two registers).
constexpr int32_t kMaxBlockedDepth = 12;
constexpr size_t kMaxBlockedFeatures = 32;
constexpr int kBlockHeight = 5;

// Up to five levels of a tree: slot j is the block's node j in heap order
// from 1 (its children 2j and 2j + 1; slot 0 is unused). A row goes right
// at a node unless its value is <= the threshold.
struct ForestBlock {
    float threshold[32];
    uint8_t feature[32];
};
// The same, each threshold as its cell code (threshold_code): a tree whose
// thresholds all have one is laid out so, 96 bytes a block instead of 160,
// compared in one instruction instead of two.
struct CodedBlock {
    int16_t code[32];
    uint8_t feature[32];
};

// A blocked tree as the walk reads it; a forest keeps its trees' views in
// one array, so a row reads nothing of a tree but these, its blocks and its
// values.
struct BlockedView {
    const ForestBlock *blocks;  // the float blocks, or
    const CodedBlock *coded;    // the coded ones
    const double *values;
    const uint16_t *shares;  // or nullptr (BlockedTree::shares)
    size_t width;
    int levels;
    int height[3];
    uint32_t first[3];
    const double *values_at(uint32_t bottom) const { return values + bottom * width; }
    const uint16_t *shares_at(uint32_t bottom) const { return shares + bottom * width; }
};

// A class's share of a leaf in whole 1/kShareOne: its frequency times 2^15,
// rounded (within half a unit). Summed over the trees they are exact
// integers; Forest::predict_class takes the class they put ahead when no
// rounding could overturn its lead.
constexpr int32_t kShareOne = 1 << 15;
// false for a value that is no frequency (outside [0, 1], NaN)
inline bool share_of(double frequency, uint16_t *share) {
    if (!(frequency >= 0 && frequency <= 1)) return false;
    *share = static_cast<uint16_t>(std::lround(frequency * kShareOne));  // the product is exact, so is the rounding
    return true;
}

// How far the class whose summed shares q (over the trees walked) lead
// (top, the first of equals) is from a decided lead: one that the `left`
// trees not walked, each adding at most kShareOne to a class, cannot bring
// under trees + 2 (see Forest::predict_class). 0 or less: decided.
inline int64_t short_of_decision(const int64_t *q, int classes, int64_t trees, int64_t left, int *top) {
    *top = 0;
    for (int c = 1; c < classes; ++c)
        if (q[c] > q[*top]) *top = c;
    int64_t lead = std::numeric_limits<int64_t>::max();  // over the closest other class
    for (int c = 0; c < classes; ++c)
        if (c != *top) lead = std::min(lead, q[*top] - q[c]);
    return trees + 2 + left * kShareOne - lead;
}

// The class every tree would give, once decided; -1 when not.
inline int decided_class(const int64_t *q, int classes, int64_t trees, int64_t left) {
    int top = 0;
    return short_of_decision(q, classes, trees, left, &top) <= 0 ? top : -1;
}

struct BlockedTree {
    // Level by level (the top one holds depth % 5 levels, or 5, each one
    // below 5), each level's blocks by their position: the path above them
    // as bits, 1 for right. A leaf above the bottom owns every node under
    // it (which way they send a row makes no difference) and every bottom
    // position under it.
    std::vector<ForestBlock> blocks;  // float blocks, or
    std::vector<CodedBlock> codes;    // coded ones
    bool coded = false;
    // per bottom position, its leaf's values (class frequencies, or the
    // mean): one load from the walk's end, not two
    std::vector<double> values;
    // the same as shares (share_of) when every leaf value is a frequency
    // (a classifier's): a quarter of the bytes, so that a forest's walk to
    // its predicted class stays in the CPU's cache where its values do not
    std::vector<uint16_t> shares;
    size_t width = 1;  // values per position
    int32_t depth = 0;
    int levels = 0;
    int height[3] = {};
    uint32_t first[3] = {};  // the index of each level's first block

    // Sized for a tree of depth levels and width values a leaf, every node a
    // dummy; coded: every threshold put will have a code; shared: shares are
    // kept (dropped if a leaf value put is no frequency).
    void shape(int32_t depth, size_t width, bool coded, bool shared);
    // The node at depth d whose path from the root is pos (d bits).
    void put_node(int32_t d, uint32_t pos, float threshold, uint8_t feature);
    // The leaf at depth d, path pos, and its width values.
    void put_leaf(int32_t d, uint32_t pos, const double *leaf_values);
    BlockedView view() const;
    size_t bytes() const;
};

// The least float >= x (NaN stays NaN): for a float t, x <= t exactly when
// it is <= t, so the row compares in float as the nodes compare in double.
// Without a branch: x is rounded down about half the time.
inline float float_at_least(double x) {
    const float f = static_cast<float>(x);
    uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    if (f == 0) b = 0;  // -0 as +0 (the same value), whose next float up is the least subnormal
    // rounded down (never NaN, nor +inf): the next float up, one step from
    // zero for a positive one, one towards it for a negative one
    const uint32_t down = static_cast<double>(f) < x;
    b += down * (b >> 31 ? ~0u : 1u);
    float up;
    std::memcpy(&up, &b, sizeof up);
    return up;
}

// Cell codes: a float's place in float order, 16 bits kept. A threshold
// has one when its mantissa's low 17 bits are zero (a grid point of
// forest_cell at cell_bits <= 6 in float's range: the default cells); a row's
// float gets the least code whose threshold it is <= (NaN: above every
// threshold's code, as NaN goes right). For a threshold t with a code and
// any float x, x <= t exactly when cell_code(x) <= threshold_code(t).
// Why: key(f) (the float's bits, the magnitude's bits flipped for a negative
// one) orders floats as their values (-0 below +0, never a threshold: zero is
// put as +0). t's key is code * 2^17 when t >= 0, code * 2^17 + 2^17 - 1 when
// t < 0; x's code is its key / 2^17 rounded up when key(x) >= 0, down when
// not; x <= t exactly when key(x) <= key(t), which for either sign of x and
// t is exactly cell_code(x) <= code(t).
inline int32_t float_key(float f) {
    int32_t b;
    std::memcpy(&b, &f, sizeof b);
    return b ^ ((b >> 31) & 0x7fffffff);
}
constexpr int kCodeShift = 17;
inline bool threshold_code(float t, int16_t *code) {
    if (t == 0) t = 0;  // -0 as +0
    const int32_t key = float_key(t), low = key & ((1 << kCodeShift) - 1);
    if (t != t || low != (key < 0 ? (1 << kCodeShift) - 1 : 0)) return false;
    *code = static_cast<int16_t>(key >> kCodeShift);  // arithmetic: rounds down
    return true;
}
// Without a branch: a row's signs are a coin toss a branch would miss.
inline int16_t cell_code(float x) {
    const int64_t key = float_key(x);
    const int64_t round_up = ((int64_t{1} << kCodeShift) - 1) & ~(key >> 63);  // 0 for a negative key
    const auto code = static_cast<int16_t>((key + round_up) >> kCodeShift);   // arithmetic: rounds down
    return x != x ? std::numeric_limits<int16_t>::max() : code;
}

// A row as the blocked walks read it: float_at_least of each feature's
// value and its cell code, 32 of them (zeros past the features).
struct BlockedRow {
    float x[kMaxBlockedFeatures];
    int16_t code[kMaxBlockedFeatures];
};

// Which of a leaf's forms the caller reads once the walk ends: the walk
// starts loading it while the other trees are still walked.
enum class LeafForm : uint8_t { Values, Shares };

// The bottom position the row reaches in each of the trees t[0..m), with
// AVX-512 (only when forest_walk() is Avx512).
void walk_blocked(const BlockedView *const *t, size_t m, const BlockedRow &row, uint32_t *bottom);

// The levels of a blocked tree: trees of one depth have the same.
struct BlockedShape {
    bool coded = false;
    int levels = 0;
    int height[3] = {};
    uint32_t first[3] = {};
    bool operator==(const BlockedShape &o) const {
        for (int l = 0; l < levels; ++l)
            if (height[l] != o.height[l] || first[l] != o.first[l]) return false;
        return levels == o.levels && coded == o.coded;
    }
    static BlockedShape of(const BlockedView &v) {
        BlockedShape s;
        s.coded = v.coded != nullptr;
        s.levels = v.levels;
        for (int l = 0; l < v.levels; ++l) {
            s.height[l] = v.height[l];
            s.first[l] = v.first[l];
        }
        return s;
    }
};
// The most trees walk_blocked_alike walks at once (it keeps a turn for each).
constexpr size_t kMaxAlike = 128;
// walk_blocked for trees t[0..m) all of this shape, m <= kMaxAlike: the
// same bottoms, in fewer instructions (Shares: every tree keeps shares).
void walk_blocked_alike(const BlockedShape &shape, const BlockedView *const *t, size_t m, const BlockedRow &row,
                        uint32_t *bottom, LeafForm form = LeafForm::Values);

}  // namespace unlearn
