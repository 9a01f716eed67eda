// Which code walks a forest's trees to predict, chosen at run time (the
// library is built for any CPU): on a CPU with AVX-512, a forest's shallow
// trees are laid out in blocks of up to five levels, a block's nodes are
// compared with the row all at once and the path through them found at
// once, so a row makes one memory round trip per five levels, not one per
// level. forest.cpp fills the blocks from a tree's nodes, and walks every
// other tree (and every tree elsewhere) step by step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace unlearn {

// The walks, the plainest first. Every one decides every node as the
// nodes do, so predictions are the same bit for bit whichever runs.
enum class ForestWalk {
    Scalar,  // steps, one tree and one level at a time (forest.cpp)
    Avx512   // blocks where a tree fits them, else steps
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

// A blocked tree as the walk reads it; a forest keeps its trees' views in
// one array, so a row reads nothing of a tree but these, its blocks and its
// values.
struct BlockedView {
    const ForestBlock *blocks;
    const double *values;
    size_t width;
    int levels;
    int height[3];
    uint32_t first[3];
    const double *values_at(uint32_t bottom) const { return values + bottom * width; }
};

struct BlockedTree {
    // Level by level (the top one holds depth % 5 levels, or 5, each one
    // below 5), each level's blocks by their position: the path above them
    // as bits, 1 for right. A leaf above the bottom owns every node under
    // it (which way they send a row makes no difference) and every bottom
    // position under it.
    std::vector<ForestBlock> blocks;
    // per bottom position, its leaf's values (class frequencies, or the
    // mean): one load from the walk's end, not two
    std::vector<double> values;
    size_t width = 1;  // values per position
    int32_t depth = 0;
    int levels = 0;
    int height[3] = {};
    uint32_t first[3] = {};  // the index of each level's first block

    // Sized for a tree of depth levels and width values a leaf, every node a dummy.
    void shape(int32_t depth, size_t width);
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

// The bottom position the row reaches in each of the trees t[0..m), with
// AVX-512 (only when forest_walk() is Avx512). x: float_at_least of each
// feature's value, 32 of them (zeros past the features).
void walk_blocked(const BlockedView *const *t, size_t m, const float *x, uint32_t *bottom);

// The levels of a blocked tree: trees of one depth have the same.
struct BlockedShape {
    int levels = 0;
    int height[3] = {};
    uint32_t first[3] = {};
    bool operator==(const BlockedShape &o) const {
        for (int l = 0; l < levels; ++l)
            if (height[l] != o.height[l] || first[l] != o.first[l]) return false;
        return levels == o.levels;
    }
    static BlockedShape of(const BlockedView &v) {
        BlockedShape s;
        s.levels = v.levels;
        for (int l = 0; l < v.levels; ++l) {
            s.height[l] = v.height[l];
            s.first[l] = v.first[l];
        }
        return s;
    }
};
// walk_blocked for trees t[0..m) all of this shape: the same bottoms, in
// fewer instructions.
void walk_blocked_alike(const BlockedShape &shape, const BlockedView *const *t, size_t m, const float *x,
                        uint32_t *bottom);

}  // namespace unlearn
