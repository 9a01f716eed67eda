#include "forest_walk.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "error.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

#if defined(__x86_64__) && defined(__GNUC__)
#define UNLEARN_AVX512_WALK 1
#include <immintrin.h>
#if !defined(__clang__)
// GCC 12's _mm512_cvtepu8_epi32 starts from an undefined register it then
// overwrites whole, and warns of it
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

namespace unlearn {

namespace {

ForestWalk widest() { return forest_walk_runs(ForestWalk::Avx512) ? ForestWalk::Avx512 : ForestWalk::Scalar; }

ForestWalk &chosen() {
    static ForestWalk w = widest();
    return w;
}

}  // namespace

bool forest_walk_runs(ForestWalk w) {
    if (w == ForestWalk::Scalar) return true;
#ifdef UNLEARN_AVX512_WALK
    // the CPU's features, and whether the OS saves the vector registers
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#else
    return false;
#endif
}

ForestWalk forest_walk() { return chosen(); }

bool set_forest_walk(ForestWalk w) {
    if (!forest_walk_runs(w)) return false;
    chosen() = w;
    return true;
}

void BlockedTree::shape(int32_t d, size_t w, bool by_code, bool shared) {
    depth = d;
    width = w;
    coded = by_code;
    levels = (d + kBlockHeight - 1) / kBlockHeight;
    size_t count = 1, total = 0;
    for (int l = 0; l < levels; ++l) {
        height[l] = l == 0 && d % kBlockHeight != 0 ? d % kBlockHeight : kBlockHeight;
        first[l] = static_cast<uint32_t>(total);
        total += count;
        count <<= height[l];
    }
    blocks.assign(coded ? 0 : total, ForestBlock{});
    codes.assign(coded ? total : 0, CodedBlock{});
    values.assign((size_t{1} << d) * w, 0.0);
    shares.assign(shared ? values.size() : 0, 0);
}

void BlockedTree::put_node(int32_t d, uint32_t pos, float threshold, uint8_t feature) {
    int l = 0, top = 0;  // top: the depth of level l's first row
    while (d >= top + height[l]) top += height[l++];
    const int e = d - top;
    const uint32_t block = first[l] + (pos >> e), slot = (1u << e) | (pos & ((1u << e) - 1));
    if (coded) {
        // a threshold that has no code is not put in a coded tree (lay_out_blocked)
        threshold_code(threshold, &codes[block].code[slot]);
        codes[block].feature[slot] = feature;
        return;
    }
    blocks[block].threshold[slot] = threshold;
    blocks[block].feature[slot] = feature;
}

void BlockedTree::put_leaf(int32_t d, uint32_t pos, const double *leaf_values) {
    const int below = depth - d;
    for (size_t p = size_t{pos} << below; p < (size_t{pos} + 1) << below; ++p)
        std::copy_n(leaf_values, width, values.begin() + static_cast<std::ptrdiff_t>(p * width));
    if (shares.empty()) return;
    std::vector<uint16_t> leaf_shares(width);
    for (size_t c = 0; c < width; ++c)
        if (!share_of(leaf_values[c], &leaf_shares[c])) {
            std::vector<uint16_t>().swap(shares);  // a value that is no frequency: the tree keeps none
            return;
        }
    for (size_t p = size_t{pos} << below; p < (size_t{pos} + 1) << below; ++p)
        std::copy_n(leaf_shares.begin(), width, shares.begin() + static_cast<std::ptrdiff_t>(p * width));
}

BlockedView BlockedTree::view() const {
    BlockedView v{coded ? nullptr : blocks.data(), coded ? codes.data() : nullptr, values.data(),
                  shares.empty() ? nullptr : shares.data(), width, levels, {}, {}};
    for (int l = 0; l < levels; ++l) {
        v.height[l] = height[l];
        v.first[l] = first[l];
    }
    return v;
}

size_t BlockedTree::bytes() const {
    return blocks.size() * sizeof(ForestBlock) + codes.size() * sizeof(CodedBlock) + values.size() * sizeof(double) +
           shares.size() * sizeof(uint16_t);
}

#ifdef UNLEARN_AVX512_WALK

namespace {

// Which of a block's 2^height bottom positions the row reaches, found at
// once rather than level by level: position p is reached when the row goes
// right at exactly the nodes on p's path (on[p]) that turn right
// (right[p]). Rows past 2^height never match.
struct BlockPaths {
    alignas(64) uint32_t on[kBlockHeight + 1][32];
    alignas(64) uint32_t right[kBlockHeight + 1][32];
};

BlockPaths block_paths() {
    BlockPaths t{};
    for (int height = 0; height <= kBlockHeight; ++height)
        for (uint32_t p = 0; p < 32; ++p) {
            t.right[height][p] = 1;  // slot 0 is on no path: no match
            if (p >= 1u << height) continue;
            uint32_t h = 1, on = 0, right = 0;
            for (int e = 0; e < height; ++e) {
                const uint32_t bit = (p >> (height - 1 - e)) & 1;
                on |= 1u << h;
                right |= bit << h;
                h = 2 * h + bit;
            }
            t.on[height][p] = on;
            t.right[height][p] = right;
        }
    return t;
}

const BlockPaths kBlockPaths = block_paths();

// Which way the row turns at each of a block's slots, bit j for slot j (1
// for right). A float block: the row's 32 values stay in two registers, the
// block's slots take their features' values by two permutes, not by loads,
// and compare in two instructions (not <= : NaN goes right, as x <= t is
// false).
struct FloatTurns {
    __m512 low, high;
    __attribute__((target("avx512f,avx512bw"))) explicit FloatTurns(const BlockedRow &row)
        : low(_mm512_loadu_ps(row.x)), high(_mm512_loadu_ps(row.x + 16)) {}
    __attribute__((target("avx512f,avx512bw"), always_inline)) uint32_t operator()(const BlockedView &t,
                                                                                 uint32_t block) const {
        const ForestBlock &b = t.blocks[block];
        const __m512i f0 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.feature)));
        const __m512i f1 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.feature + 16)));
        const __mmask16 r0 =
            _mm512_cmp_ps_mask(_mm512_permutex2var_ps(low, f0, high), _mm512_loadu_ps(b.threshold), _CMP_NLE_UQ);
        const __mmask16 r1 =
            _mm512_cmp_ps_mask(_mm512_permutex2var_ps(low, f1, high), _mm512_loadu_ps(b.threshold + 16), _CMP_NLE_UQ);
        return static_cast<uint32_t>(r0) | static_cast<uint32_t>(r1) << 16;
    }
};
// A coded block: the row's 32 codes fill one register, the slots take
// theirs by one permute and compare in one instruction (code > threshold's
// code exactly when the value is not <= the threshold; cell_code).
struct CodeTurns {
    __m512i codes;
    __attribute__((target("avx512f,avx512bw"))) explicit CodeTurns(const BlockedRow &row)
        : codes(_mm512_loadu_si512(row.code)) {}
    __attribute__((target("avx512f,avx512bw"), always_inline)) uint32_t operator()(const BlockedView &t,
                                                                                 uint32_t block) const {
        const CodedBlock &b = t.coded[block];
        const __m512i f = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(b.feature)));
        return _mm512_cmpgt_epi16_mask(_mm512_permutexvar_epi16(f, codes), _mm512_loadu_si512(b.code));
    }
};

// The bottom position (of 2^height) a row that turns right at the slots
// set in right reaches, on[]/right_of[] the tables of that height. Of a
// five-level block's 32 positions only the 16 on the side the row takes at
// the block's first node (slot 1) can match: one compare of 16, not two.
__attribute__((target("avx512f,avx512bw"), always_inline)) inline uint32_t path_of(uint32_t right, int height,
                                                                                  const uint32_t *on,
                                                                                  const uint32_t *right_of) {
    const uint32_t half = height == kBlockHeight ? (right >> 1 & 1u) * 16 : 0;
    const __m512i r = _mm512_set1_epi32(static_cast<int>(right));
    const __mmask16 p =
        _mm512_cmpeq_epi32_mask(_mm512_and_si512(r, _mm512_load_si512(on + half)), _mm512_load_si512(right_of + half));
    return half + static_cast<uint32_t>(__builtin_ctz(static_cast<uint32_t>(p)));
}

// walk_blocked_alike's loops, for trees of one kind of block.
template <class Turns>
__attribute__((target("avx512f,avx512bw"), always_inline)) inline void walk_alike(const BlockedShape &shape,
                                                                                 const BlockedView *const *t, size_t m,
                                                                                 const Turns &turns, uint32_t *bottom,
                                                                                 LeafForm form) {
    for (size_t i = 0; i < m; ++i) bottom[i] = 0;
    for (int l = 0; l < shape.levels; ++l) {
        const int height = shape.height[l];
        const uint32_t first = shape.first[l];
        const uint32_t *on = kBlockPaths.on[height], *right_of = kBlockPaths.right[height];
        // every tree's turns at this level, then their paths: two short
        // chains a tree, which the CPU overlaps across more trees than one
        // long one (5% of a forest's prediction)
        uint32_t turn[kMaxAlike];
        for (size_t i = 0; i < m; ++i) turn[i] = turns(*t[i], first + bottom[i]);
        if (l + 1 < shape.levels) {
            for (size_t i = 0; i < m; ++i)
                bottom[i] = (bottom[i] << height) | path_of(turn[i], height, on, right_of);
            continue;
        }
        for (size_t i = 0; i < m; ++i) {
            const BlockedView &tree = *t[i];
            bottom[i] = (bottom[i] << height) | path_of(turn[i], height, on, right_of);
            // the leaf, read once every tree is walked: its cache miss starts now
            const void *leaf = form == LeafForm::Shares ? static_cast<const void *>(tree.shares_at(bottom[i]))
                                                        : static_cast<const void *>(tree.values_at(bottom[i]));
            _mm_prefetch(static_cast<const char *>(leaf), _MM_HINT_T0);
        }
    }
}

}  // namespace

// The trees walk a level of blocks each before any walks the next: the
// blocks' loads, each likely a cache miss, are in flight together.
__attribute__((target("avx512f,avx512bw"))) void walk_blocked(const BlockedView *const *t, size_t m,
                                                             const BlockedRow &row, uint32_t *bottom) {
    constexpr int kMaxLevels = (kMaxBlockedDepth + kBlockHeight - 1) / kBlockHeight;
    const FloatTurns float_turns(row);
    const CodeTurns code_turns(row);
    for (size_t i = 0; i < m; ++i) bottom[i] = 0;
    for (int l = 0; l < kMaxLevels; ++l)
        for (size_t i = 0; i < m; ++i) {
            const BlockedView &tree = *t[i];
            if (l >= tree.levels) continue;
            const int height = tree.height[l];
            const uint32_t block = tree.first[l] + bottom[i];
            const uint32_t right = tree.coded ? code_turns(tree, block) : float_turns(tree, block);
            bottom[i] = (bottom[i] << height) | path_of(right, height, kBlockPaths.on[height], kBlockPaths.right[height]);
            if (l + 1 == tree.levels) _mm_prefetch(reinterpret_cast<const char *>(tree.values_at(bottom[i])), _MM_HINT_T0);
        }
}

// As walk_blocked, for trees of one shape and kind of block: a level's
// height and tables are read once for every tree, not once per tree.
__attribute__((target("avx512f,avx512bw"))) void walk_blocked_alike(const BlockedShape &shape,
                                                                   const BlockedView *const *t, size_t m,
                                                                   const BlockedRow &row, uint32_t *bottom,
                                                                   LeafForm form) {
    if (shape.coded)
        walk_alike(shape, t, m, CodeTurns(row), bottom, form);
    else
        walk_alike(shape, t, m, FloatTurns(row), bottom, form);
}

#else

void walk_blocked(const BlockedView *const *, size_t, const BlockedRow &, uint32_t *) {
    throw Error(ErrorKind::Internal, "the blocked forest walk is not built for this cpu");
}

void walk_blocked_alike(const BlockedShape &, const BlockedView *const *, size_t, const BlockedRow &, uint32_t *,
                        LeafForm) {
    throw Error(ErrorKind::Internal, "the blocked forest walk is not built for this cpu");
}

#endif

}  // namespace unlearn
