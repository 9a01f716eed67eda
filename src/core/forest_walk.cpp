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
    return __builtin_cpu_supports("avx512f");
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

void BlockedTree::shape(int32_t d, size_t w) {
    depth = d;
    width = w;
    levels = (d + kBlockHeight - 1) / kBlockHeight;
    size_t count = 1, total = 0;
    for (int l = 0; l < levels; ++l) {
        height[l] = l == 0 && d % kBlockHeight != 0 ? d % kBlockHeight : kBlockHeight;
        first[l] = static_cast<uint32_t>(total);
        total += count;
        count <<= height[l];
    }
    blocks.assign(total, ForestBlock{});
    values.assign((size_t{1} << d) * w, 0.0);
}

void BlockedTree::put_node(int32_t d, uint32_t pos, float threshold, uint8_t feature) {
    int l = 0, top = 0;  // top: the depth of level l's first row
    while (d >= top + height[l]) top += height[l++];
    const int e = d - top;
    ForestBlock &b = blocks[first[l] + (pos >> e)];
    const uint32_t slot = (1u << e) | (pos & ((1u << e) - 1));
    b.threshold[slot] = threshold;
    b.feature[slot] = feature;
}

void BlockedTree::put_leaf(int32_t d, uint32_t pos, const double *leaf_values) {
    const int below = depth - d;
    for (size_t p = size_t{pos} << below; p < (size_t{pos} + 1) << below; ++p)
        std::copy_n(leaf_values, width, values.begin() + static_cast<std::ptrdiff_t>(p * width));
}

BlockedView BlockedTree::view() const {
    BlockedView v{blocks.data(), values.data(), width, levels, {}, {}};
    for (int l = 0; l < levels; ++l) {
        v.height[l] = height[l];
        v.first[l] = first[l];
    }
    return v;
}

size_t BlockedTree::bytes() const {
    return blocks.size() * sizeof(ForestBlock) + values.size() * sizeof(double);
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

// The bottom position (of 2^height) the row x_low:x_high reaches in block b.
// The row's 32 values stay in two registers: a block's 32 slots take their
// features' values by two permutes, not by loads, and compare in two
// instructions (not <= : NaN goes right, as x <= t is false).
__attribute__((target("avx512f"), always_inline)) inline uint32_t block_path(const ForestBlock &b, __m512 x_low,
                                                                           __m512 x_high, const uint32_t *on,
                                                                           const uint32_t *right_of) {
    const __m512i f0 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.feature)));
    const __m512i f1 = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.feature + 16)));
    const __mmask16 r0 = _mm512_cmp_ps_mask(_mm512_permutex2var_ps(x_low, f0, x_high), _mm512_loadu_ps(b.threshold),
                                            _CMP_NLE_UQ);
    const __mmask16 r1 = _mm512_cmp_ps_mask(_mm512_permutex2var_ps(x_low, f1, x_high),
                                            _mm512_loadu_ps(b.threshold + 16), _CMP_NLE_UQ);
    const __m512i right = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(r0) | static_cast<uint32_t>(r1) << 16));
    const __mmask16 p0 = _mm512_cmpeq_epi32_mask(_mm512_and_si512(right, _mm512_load_si512(on)), _mm512_load_si512(right_of));
    const __mmask16 p1 =
        _mm512_cmpeq_epi32_mask(_mm512_and_si512(right, _mm512_load_si512(on + 16)), _mm512_load_si512(right_of + 16));
    return static_cast<uint32_t>(__builtin_ctz(static_cast<uint32_t>(p0) | static_cast<uint32_t>(p1) << 16));
}

}  // namespace

// The trees walk a level of blocks each before any walks the next: the
// blocks' loads, each likely a cache miss, are in flight together.
__attribute__((target("avx512f"))) void walk_blocked(const BlockedView *const *t, size_t m, const float *x,
                                                    uint32_t *bottom) {
    constexpr int kMaxLevels = (kMaxBlockedDepth + kBlockHeight - 1) / kBlockHeight;
    const __m512 x_low = _mm512_loadu_ps(x), x_high = _mm512_loadu_ps(x + 16);
    for (size_t i = 0; i < m; ++i) bottom[i] = 0;
    for (int l = 0; l < kMaxLevels; ++l)
        for (size_t i = 0; i < m; ++i) {
            const BlockedView &tree = *t[i];
            if (l >= tree.levels) continue;
            const int height = tree.height[l];
            const uint32_t path = block_path(tree.blocks[tree.first[l] + bottom[i]], x_low, x_high,
                                             kBlockPaths.on[height], kBlockPaths.right[height]);
            bottom[i] = (bottom[i] << height) | path;
            // the leaf's values, loaded once every tree is walked: their
            // cache miss starts now
            if (l + 1 == tree.levels) _mm_prefetch(reinterpret_cast<const char *>(tree.values_at(bottom[i])), _MM_HINT_T0);
        }
}

// As walk_blocked, for trees of one shape: a level's height and tables are
// read once for every tree, not once per tree.
__attribute__((target("avx512f"))) void walk_blocked_alike(const BlockedShape &shape, const BlockedView *const *t,
                                                          size_t m, const float *x, uint32_t *bottom) {
    const __m512 x_low = _mm512_loadu_ps(x), x_high = _mm512_loadu_ps(x + 16);
    for (size_t i = 0; i < m; ++i) bottom[i] = 0;
    for (int l = 0; l < shape.levels; ++l) {
        const int height = shape.height[l];
        const uint32_t first = shape.first[l];
        const uint32_t *on = kBlockPaths.on[height], *right_of = kBlockPaths.right[height];
        if (l + 1 < shape.levels) {
            for (size_t i = 0; i < m; ++i)
                bottom[i] = (bottom[i] << height) | block_path(t[i]->blocks[first + bottom[i]], x_low, x_high, on, right_of);
            continue;
        }
        for (size_t i = 0; i < m; ++i) {
            const BlockedView &tree = *t[i];
            bottom[i] = (bottom[i] << height) | block_path(tree.blocks[first + bottom[i]], x_low, x_high, on, right_of);
            _mm_prefetch(reinterpret_cast<const char *>(tree.values_at(bottom[i])), _MM_HINT_T0);
        }
    }
}

#else

void walk_blocked(const BlockedView *const *, size_t, const float *, uint32_t *) {
    throw Error(ErrorKind::Internal, "the blocked forest walk is not built for this cpu");
}

void walk_blocked_alike(const BlockedShape &, const BlockedView *const *, size_t, const float *, uint32_t *) {
    throw Error(ErrorKind::Internal, "the blocked forest walk is not built for this cpu");
}

#endif

}  // namespace unlearn
