#include "forest.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <vector>

#include "classifier.hpp"
#include "error.hpp"
#include "forest_walk.hpp"
#include "interrupt.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

namespace {

// Why a node is what it is. The order of the leaf tests is the order build
// applies them; update re-applies the same tests (leaf_kind).
enum Kind : uint8_t { kSplit = 0, kLeafDepth = 1, kLeafFew = 2, kLeafPure = 3, kLeafNoSplit = 4 };

// -0.0 and 0.0 are one value: one hash, one stored form.
double canonical(double v) { return v == 0.0 ? 0.0 : v; }
uint64_t bits_of(double v) {
    uint64_t b;
    v = canonical(v);
    std::memcpy(&b, &v, sizeof b);
    return b;
}

// A node is named by its path: the root by (seed, tree), a child by its
// parent and its side. Everything random about a node is drawn from this.
uint64_t root_id(uint64_t seed, int tree) { return mix_seed(seed ^ 0x6f72657374ULL, static_cast<uint64_t>(tree) + 1); }
uint64_t child_id(uint64_t id, int side) { return mix_seed(id, static_cast<uint64_t>(side) + 1); }

// A candidate's rank: (hash, bits) is a total order on distinct values.
struct Rank {
    uint64_t hash, bits;
    bool operator<(const Rank &o) const { return hash != o.hash ? hash < o.hash : bits < o.bits; }
    bool operator==(const Rank &o) const { return hash == o.hash && bits == o.bits; }
};
// The stream of a (node, feature): ranks of its values are drawn from it.
uint64_t feature_stream(uint64_t id, int feature) { return mix_seed(id, 0x66656174ULL + static_cast<uint64_t>(feature)); }
Rank rank_in(uint64_t stream, double v) {
    const uint64_t b = bits_of(v);
    return {mix_seed(stream, b), b};
}
Rank rank_of(uint64_t id, int feature, double v) { return rank_in(feature_stream(id, feature), v); }

}  // namespace

// The candidate statistics of one node: per sampled feature (a slot, in
// draw order) up to k candidate cells ascending (their upper boundaries),
// how many rows fall in each, and the rows with x <= boundary (per class,
// or count and exact sum).
struct CandStats {
    int k = 0;                      // stride
    std::vector<int32_t> features;  // per slot
    std::vector<uint16_t> count;    // candidates per slot
    std::vector<double> value;      // slot * k + j
    std::vector<int32_t> eq;        // slot * k + j: rows in the cell
    std::vector<int32_t> left;      // classification: (slot * k + j) * C + c; regression: slot * k + j
    std::vector<ExactSum> left_sum; // regression: slot * k + j
};

struct Node {
    int32_t left = -1, right = -1;
    int32_t feature = -1;
    int32_t n = 0;
    double threshold = 0;
    int32_t stats = -1;  // into Tree::stats, -1 for none
    uint8_t kind = kLeafFew;
};

struct Forest::Tree {
    std::vector<Node> nodes;      // a pool: retrains append; compact() restores preorder
    std::vector<int32_t> counts;  // classification: node * C + c
    std::vector<ExactSum> sums;   // regression: node
    std::vector<CandStats> stats; // a pool, like nodes
    int32_t root = -1;
    // For prediction, built when first needed and dropped by any change
    // (defined with the prediction code).
    struct Walk;
    std::shared_ptr<const Walk> walk;
};

namespace {

using Tree = Forest::Tree;

struct Choice {
    int slot = -1, j = -1;
};

// The index of the first of the m ascending values that is >= v (m when
// none is): std::lower_bound for the few (k) candidates of a node, counted
// without a branch per value, which the unpredictable comparisons of a
// binary search would cost.
inline size_t first_not_below(const double *vals, size_t m, double v) {
    size_t j = 0;
    for (size_t t = 0; t < m; ++t) j += vals[t] < v;
    return j;
}

// The rows' values as their cells, computed once: every node of every
// tree reads a row's cells again.
RowMatrix cells_of(const RowMatrix &x, int bits) {
    return x.unaryExpr([bits](double v) { return forest_cell(v, bits); });
}

// Everything one forest's training and updating reads, in one place.
class Grower {
public:
    Grower(const ForestOptions &o, int features, int classes, int sampled)
        : o_(o), p_(features), c_(classes), sampled_(sampled) {}

    int max_depth() const { return o_.max_depth > 0 ? o_.max_depth : kMaxForestDepth; }

    // The leaf a node of n rows at depth is by the tests that need no
    // candidates, or kSplit when candidates must decide.
    Kind leaf_kind(int depth, int32_t n, const int32_t *counts) const {
        if (depth >= max_depth()) return kLeafDepth;
        if (n < 2 || n < 2 * o_.min_samples_leaf) return kLeafFew;
        if (c_ > 0)
            for (int c = 0; c < c_; ++c)
                if (counts[c] == n) return kLeafPure;
        return kSplit;
    }

    std::vector<int32_t> sample_features(uint64_t id) const {
        std::vector<int32_t> perm(static_cast<size_t>(p_));
        for (int j = 0; j < p_; ++j) perm[static_cast<size_t>(j)] = j;
        Stream s(mix_seed(id, 0x73616d70ULL));
        for (int i = 0; i < sampled_; ++i) {
            const auto j = static_cast<size_t>(i) + static_cast<size_t>(s.below(static_cast<uint64_t>(p_ - i)));
            std::swap(perm[static_cast<size_t>(i)], perm[j]);
        }
        perm.resize(static_cast<size_t>(sampled_));
        return perm;
    }

    // The candidates of the rows idx at node id (occupied cells), and their
    // statistics. Here and in build, settle and route, x holds the rows'
    // cells (cells_of), not their values: a row routes alike by either,
    // since thresholds are grid points.
    CandStats candidates(const RowMatrix &x, const Vector &y, const std::vector<int32_t> &idx, uint64_t id) const {
        CandStats cs;
        cs.k = o_.k;
        cs.features = sample_features(id);
        const size_t slots = cs.features.size(), k = static_cast<size_t>(o_.k);
        cs.count.assign(slots, 0);
        cs.value.assign(slots * k, 0.0);
        cs.eq.assign(slots * k, 0);
        if (c_ > 0)
            cs.left.assign(slots * k * static_cast<size_t>(c_), 0);
        else {
            cs.left.assign(slots * k, 0);
            cs.left_sum.assign(slots * k, ExactSum());
        }
        std::vector<std::pair<Rank, double>> heap;
        std::vector<double> vals;
        std::vector<int32_t> bucket_n;
        std::vector<ExactSum> bucket_s;
        std::vector<double> column;
        std::vector<int32_t> labels;
        if (c_ > 0) {
            labels.resize(idx.size());
            for (size_t i = 0; i < idx.size(); ++i) labels[i] = static_cast<int32_t>(y(idx[i]));
        }
        for (size_t s = 0; s < slots; ++s) {
            const int f = cs.features[s];
            // the k distinct values of smallest rank: a max-heap on rank
            heap.clear();
            const uint64_t stream = feature_stream(id, f);
            // the node's values of f, gathered once: both passes below read them in order
            column.resize(idx.size());
            for (size_t i = 0; i < idx.size(); ++i) column[i] = x(idx[i], f);
            for (const double v : column) {
                const Rank r = rank_in(stream, v);
                if (heap.size() == k && !(r < heap.front().first)) continue;
                bool present = false;
                for (const auto &h : heap) present = present || h.first == r;
                if (present) continue;
                heap.emplace_back(r, v);
                std::push_heap(heap.begin(), heap.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
                if (heap.size() > k) {
                    std::pop_heap(heap.begin(), heap.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
                    heap.pop_back();
                }
            }
            vals.clear();
            for (const auto &h : heap) vals.push_back(h.second);
            std::sort(vals.begin(), vals.end());
            const size_t m = vals.size();
            cs.count[s] = static_cast<uint16_t>(m);
            std::copy(vals.begin(), vals.end(), cs.value.begin() + static_cast<std::ptrdiff_t>(s * k));
            // each row falls in the bucket of the first candidate >= its cell
            const size_t cc = c_ > 0 ? static_cast<size_t>(c_) : 1;
            bucket_n.assign(m * cc, 0);
            if (c_ == 0) bucket_s.assign(m, ExactSum());
            for (size_t i = 0; i < idx.size(); ++i) {
                const double v = column[i];
                const size_t j = first_not_below(vals.data(), m, v);
                if (j == m) continue;
                if (vals[j] == v) ++cs.eq[s * k + j];
                if (c_ > 0) {
                    ++bucket_n[j * cc + static_cast<size_t>(labels[i])];
                } else {
                    ++bucket_n[j];
                    bucket_s[j].add(y(idx[i]));
                }
            }
            for (size_t j = 0; j < m; ++j) {
                if (c_ > 0) {
                    for (size_t c = 0; c < cc; ++c)
                        cs.left[(s * k + j) * cc + c] = bucket_n[j * cc + c] + (j ? cs.left[(s * k + j - 1) * cc + c] : 0);
                } else {
                    cs.left[s * k + j] = bucket_n[j] + (j ? cs.left[s * k + j - 1] : 0);
                    ExactSum &ls = cs.left_sum[s * k + j];
                    if (j) ls = cs.left_sum[s * k + j - 1];
                    ls.add(bucket_s[j]);
                    ls.normalise();
                }
            }
        }
        return cs;
    }

    int32_t left_n(const CandStats &cs, size_t at) const {
        if (c_ == 0) return cs.left[at];
        int32_t n = 0;
        for (int c = 0; c < c_; ++c) n += cs.left[at * static_cast<size_t>(c_) + static_cast<size_t>(c)];
        return n;
    }

    // The split the statistics choose: at random on the top random_depth
    // levels (the valid candidate of smallest rank of the first sampled
    // feature that has one), else the best by Gini / squared error, the
    // first of equals in (slot, value) order. None when no candidate leaves
    // min_samples_leaf rows on both sides.
    Choice decide(const CandStats &cs, int32_t n, const int32_t *counts, const ExactSum *sum, int depth,
                  uint64_t id) const {
        Choice best;
        const size_t k = static_cast<size_t>(cs.k);
        const int32_t msl = o_.min_samples_leaf;
        if (depth < o_.random_depth) {
            for (size_t s = 0; s < cs.features.size(); ++s) {
                Rank lowest{};
                for (size_t j = 0; j < cs.count[s]; ++j) {
                    const int32_t nl = left_n(cs, s * k + j);
                    if (nl < msl || n - nl < msl) continue;
                    const Rank r = rank_of(id, cs.features[s], cs.value[s * k + j]);
                    if (best.j < 0 || r < lowest) {
                        best = {static_cast<int>(s), static_cast<int>(j)};
                        lowest = r;
                    }
                }
                if (best.j >= 0) return best;
            }
            return best;
        }
        double top = -INFINITY;
        for (size_t s = 0; s < cs.features.size(); ++s) {
            for (size_t j = 0; j < cs.count[s]; ++j) {
                const size_t at = s * k + j;
                const int32_t nl = left_n(cs, at), nr = n - nl;
                if (nl < msl || nr < msl) continue;
                double score;
                if (c_ > 0) {
                    int64_t sl = 0, sr = 0;
                    for (int c = 0; c < c_; ++c) {
                        const int64_t l = cs.left[at * static_cast<size_t>(c_) + static_cast<size_t>(c)];
                        const int64_t r = counts[c] - l;
                        sl += l * l;
                        sr += r * r;
                    }
                    score = static_cast<double>(sl) / nl + static_cast<double>(sr) / nr;
                } else {
                    ExactSum right = *sum;
                    right.add(cs.left_sum[at], -1);
                    const double a = cs.left_sum[at].value(), b = right.value();
                    score = a * a / nl + b * b / nr;
                }
                if (score > top) {
                    top = score;
                    best = {static_cast<int>(s), static_cast<int>(j)};
                }
            }
        }
        return best;
    }

    // Grows the subtree of rows idx at depth, named id, into t; returns its root.
    int32_t build(Tree &t, const RowMatrix &x, const Vector &y, std::vector<int32_t> &idx, int depth,
                  uint64_t id) const {
        check_interrupts();
        const auto me = static_cast<int32_t>(t.nodes.size());
        t.nodes.emplace_back();
        const int32_t n = static_cast<int32_t>(idx.size());
        t.nodes[static_cast<size_t>(me)].n = n;
        const int32_t *counts = nullptr;
        const ExactSum *sum = nullptr;
        if (c_ > 0) {
            t.counts.resize(t.counts.size() + static_cast<size_t>(c_), 0);
            int32_t *cnt = &t.counts[static_cast<size_t>(me) * static_cast<size_t>(c_)];
            for (int32_t i : idx) ++cnt[static_cast<int>(y(i))];
            counts = cnt;
        } else {
            ExactSum s;
            for (int32_t i : idx) s.add(y(i));
            s.normalise();
            t.sums.push_back(std::move(s));
            sum = &t.sums.back();
        }
        Kind kind = leaf_kind(depth, n, counts);
        if (kind != kSplit) {
            t.nodes[static_cast<size_t>(me)].kind = kind;
            return me;
        }
        CandStats cs = candidates(x, y, idx, id);
        const Choice ch = decide(cs, n, counts, sum, depth, id);
        if (ch.j < 0) {
            t.nodes[static_cast<size_t>(me)].kind = kLeafNoSplit;
            return me;
        }
        const int f = cs.features[static_cast<size_t>(ch.slot)];
        const double thr = cs.value[static_cast<size_t>(ch.slot) * static_cast<size_t>(cs.k) + static_cast<size_t>(ch.j)];
        {
            Node &nd = t.nodes[static_cast<size_t>(me)];
            nd.kind = kSplit;
            nd.feature = f;
            nd.threshold = thr;
            if (n > kStatsMinRows) {
                nd.stats = static_cast<int32_t>(t.stats.size());
                t.stats.push_back(std::move(cs));
            }
        }
        std::vector<int32_t> left, right;
        for (int32_t i : idx) (x(i, f) <= thr ? left : right).push_back(i);
        std::vector<int32_t>().swap(idx);
        const int32_t l = build(t, x, y, left, depth + 1, child_id(id, 0));
        const int32_t r = build(t, x, y, right, depth + 1, child_id(id, 1));
        t.nodes[static_cast<size_t>(me)].left = l;
        t.nodes[static_cast<size_t>(me)].right = r;
        return me;
    }

    // A subtree to retrain: the node, who points at it, its depth and name.
    // A restat node only lost or gained a candidate cell: its candidates
    // are recomputed from its rows and, when they choose the split it has,
    // its subtree stays and the changes (rows of the update reaching it,
    // not yet applied below it) walk on into its children.
    struct Pending {
        int32_t node, parent;
        int side;
        int depth;
        uint64_t id;
        std::vector<int32_t> path;  // the nodes above it, from the root
        bool restat = false;
        std::vector<int32_t> changes;  // restat only
    };

    // Applies the changes (rows of cx, cy; sign) to the subtree at node and
    // notes in pending the topmost nodes whose decisions change.
    void walk(Tree &t, const RowMatrix &cx, const Vector &cy, const std::vector<int32_t> &changes, int sign,
              int32_t node, int32_t parent, int side, int depth, uint64_t id, std::vector<Pending> &pending,
              std::vector<int32_t> &path) const {
        check_interrupts();
        Node &nd = t.nodes[static_cast<size_t>(node)];
        const auto m = static_cast<int32_t>(changes.size());
        nd.n += sign * m;
        int32_t *counts = nullptr;
        ExactSum *sum = nullptr;
        if (c_ > 0) {
            counts = &t.counts[static_cast<size_t>(node) * static_cast<size_t>(c_)];
            for (int32_t r : changes) counts[static_cast<int>(cy(r))] += sign;
        } else {
            sum = &t.sums[static_cast<size_t>(node)];
            for (int32_t r : changes) sum->add(cy(r), sign);
            sum->normalise();
        }
        const Pending here{node, parent, side, depth, id, path, false, {}};
        if (nd.n < 0) throw Error(ErrorKind::CorruptState, "a forest lost more rows than a node held");
        const Kind now = leaf_kind(depth, nd.n, counts);
        if (nd.kind != kSplit) {
            // a leaf stays what it is when the tests that made it still hold
            // (a leaf with no valid candidate kept none to check: it retrains)
            if (nd.kind == kLeafNoSplit || now != nd.kind) pending.push_back(here);
            return;
        }
        if (now != kSplit || nd.stats < 0 || nd.n <= kStatsMinRows) {
            pending.push_back(here);
            return;
        }
        CandStats &cs = t.stats[static_cast<size_t>(nd.stats)];
        const size_t k = static_cast<size_t>(cs.k);
        bool same_candidates = true;
        for (size_t s = 0; s < cs.features.size(); ++s) {
            const int f = cs.features[s];
            const size_t m_s = cs.count[s];
            const double *vals = &cs.value[s * k];
            Rank largest{};
            if (sign > 0 && m_s == k)
                for (size_t j = 0; j < m_s; ++j) largest = std::max(largest, rank_of(id, f, vals[j]));
            for (int32_t r : changes) {
                const double v = forest_cell(cx(r, f), o_.cell_bits);
                const size_t j = static_cast<size_t>(std::lower_bound(vals, vals + m_s, v) - vals);
                const bool is_candidate = j < m_s && vals[j] == v;
                if (is_candidate) {
                    cs.eq[s * k + j] += sign;
                    if (cs.eq[s * k + j] == 0) same_candidates = false;  // the cell's last row left the node
                } else if (sign > 0 && (m_s < k || rank_of(id, f, v) < largest)) {
                    same_candidates = false;  // a new cell that would be a candidate
                }
                for (size_t jj = j; jj < m_s; ++jj) {
                    if (c_ > 0)
                        cs.left[(s * k + jj) * static_cast<size_t>(c_) + static_cast<size_t>(cy(r))] += sign;
                    else {
                        cs.left[s * k + jj] += sign;
                        cs.left_sum[s * k + jj].add(cy(r), sign);
                    }
                }
            }
            if (c_ == 0)
                for (size_t j = 0; j < m_s; ++j) cs.left_sum[s * k + j].normalise();
        }
        if (!same_candidates) {
            pending.push_back(here);
            pending.back().restat = true;
            pending.back().changes = changes;
            return;
        }
        if (!chooses_its_split(cs, decide(cs, nd.n, counts, sum, depth, id), nd)) {
            pending.push_back(here);
            return;
        }
        std::vector<int32_t> left, right;
        for (int32_t r : changes) (cx(r, nd.feature) <= nd.threshold ? left : right).push_back(r);
        const int32_t l = nd.left, rr = nd.right;
        path.push_back(node);
        if (!left.empty()) walk(t, cx, cy, left, sign, l, node, 0, depth + 1, child_id(id, 0), pending, path);
        if (!right.empty()) walk(t, cx, cy, right, sign, rr, node, 1, depth + 1, child_id(id, 1), pending, path);
        path.pop_back();
    }

    // Brings pending node p up to date from idx, the rows of x, y reaching
    // it after the change. A restat node whose recomputed candidates choose
    // the split it has keeps its subtree: the changes walk on into its
    // children and what they name settles from the same rows. Any other
    // node retrains. Counts both in done.
    void settle(Tree &t, const RowMatrix &x, const Vector &y, const RowMatrix &cx, const Vector &cy, int sign,
                const Pending &p, std::vector<int32_t> &idx, ForestUpdate &done) const {
        const auto node = static_cast<size_t>(p.node);
        if (static_cast<int32_t>(idx.size()) != t.nodes[node].n) throw ForestRowsMissing();
        if (p.restat && keeps_split(t, x, y, p, idx)) {
            ++done.recounted;
            const Node nd = t.nodes[node];  // a copy: retrains below grow the pool
            std::vector<int32_t> left, right;
            for (int32_t r : p.changes) (cx(r, nd.feature) <= nd.threshold ? left : right).push_back(r);
            std::vector<Pending> below;
            std::vector<int32_t> path = p.path;
            path.push_back(p.node);
            if (!left.empty())
                walk(t, cx, cy, left, sign, nd.left, p.node, 0, p.depth + 1, child_id(p.id, 0), below, path);
            if (!right.empty())
                walk(t, cx, cy, right, sign, nd.right, p.node, 1, p.depth + 1, child_id(p.id, 1), below, path);
            std::vector<std::vector<int32_t>> members = route(t, x, p.node, idx, below);
            for (size_t b = 0; b < below.size(); ++b) settle(t, x, y, cx, cy, sign, below[b], members[b], done);
            return;
        }
        const int32_t fresh = build(t, x, y, idx, p.depth, p.id);
        if (p.parent < 0) t.root = fresh;
        else if (p.side == 0) t.nodes[static_cast<size_t>(p.parent)].left = fresh;
        else t.nodes[static_cast<size_t>(p.parent)].right = fresh;
        ++done.retrained;
    }

private:
    // Whether the choice among the candidates is the split the node has.
    static bool chooses_its_split(const CandStats &cs, const Choice &ch, const Node &nd) {
        return ch.j >= 0 && cs.features[static_cast<size_t>(ch.slot)] == nd.feature &&
               cs.value[static_cast<size_t>(ch.slot) * static_cast<size_t>(cs.k) + static_cast<size_t>(ch.j)] == nd.threshold;
    }

    // Whether the candidates of a restat node's rows choose the split it
    // has; if so they become its statistics.
    bool keeps_split(Tree &t, const RowMatrix &x, const Vector &y, const Pending &p, const std::vector<int32_t> &idx) const {
        const auto node = static_cast<size_t>(p.node);
        CandStats cs = candidates(x, y, idx, p.id);
        const int32_t *counts = c_ > 0 ? &t.counts[node * static_cast<size_t>(c_)] : nullptr;
        const ExactSum *sum = c_ > 0 ? nullptr : &t.sums[node];
        const Node &nd = t.nodes[node];
        if (!chooses_its_split(cs, decide(cs, nd.n, counts, sum, p.depth, p.id), nd)) return false;
        t.stats[static_cast<size_t>(nd.stats)] = std::move(cs);
        return true;
    }

    // The rows of idx (all reaching node) that reach each of the pending
    // nodes below it.
    static std::vector<std::vector<int32_t>> route(const Tree &t, const RowMatrix &x, int32_t node,
                                                   const std::vector<int32_t> &idx, const std::vector<Pending> &below) {
        std::vector<std::vector<int32_t>> members(below.size());
        if (below.empty()) return members;
        std::unordered_map<int32_t, size_t> pending_at;
        for (size_t b = 0; b < below.size(); ++b) pending_at.emplace(below[b].node, b);
        for (int32_t i : idx) {
            int32_t at = node;
            for (;;) {
                const Node &nd = t.nodes[static_cast<size_t>(at)];
                if (nd.kind != kSplit) break;
                at = x(i, nd.feature) <= nd.threshold ? nd.left : nd.right;
                const auto found = pending_at.find(at);
                if (found != pending_at.end()) {
                    members[found->second].push_back(i);
                    break;
                }
            }
        }
        return members;
    }

    const ForestOptions &o_;
    int p_, c_, sampled_;
};

// Copies the subtree at node of from into to, in preorder.
int32_t copy_preorder(const Tree &from, Tree &to, int32_t node, int classes) {
    const Node &src = from.nodes[static_cast<size_t>(node)];
    const auto me = static_cast<int32_t>(to.nodes.size());
    to.nodes.push_back(src);
    if (classes > 0) {
        const auto *c = &from.counts[static_cast<size_t>(node) * static_cast<size_t>(classes)];
        to.counts.insert(to.counts.end(), c, c + classes);
    } else {
        to.sums.push_back(from.sums[static_cast<size_t>(node)]);
    }
    if (src.stats >= 0) {
        to.nodes.back().stats = static_cast<int32_t>(to.stats.size());
        to.stats.push_back(from.stats[static_cast<size_t>(src.stats)]);
    }
    if (src.kind == kSplit) {
        const int32_t l = copy_preorder(from, to, src.left, classes);
        const int32_t r = copy_preorder(from, to, src.right, classes);
        to.nodes[static_cast<size_t>(me)].left = l;
        to.nodes[static_cast<size_t>(me)].right = r;
    }
    return me;
}

size_t live_nodes(const Tree &t) {
    size_t n = 0;
    std::vector<int32_t> stack{t.root};
    while (!stack.empty()) {
        const Node &nd = t.nodes[static_cast<size_t>(stack.back())];
        stack.pop_back();
        ++n;
        if (nd.kind == kSplit) {
            stack.push_back(nd.left);
            stack.push_back(nd.right);
        }
    }
    return n;
}

std::shared_ptr<Tree> compact(const Tree &t, int classes) {
    auto out = std::make_shared<Tree>();
    out->root = copy_preorder(t, *out, t.root, classes);
    return out;
}

// The paths of one tree to its subtrees to retrain, as a small array apart
// from the tree: a row is routed to the pending node it reaches (or none)
// in a few steps over memory that stays in cache, once per row of a table.
class Guide {
public:
    Guide(const Tree &t, const std::vector<Grower::Pending> &pending) {
        std::vector<int32_t> at_node(t.nodes.size(), kOff);  // kOnPath above a pending node
        for (size_t p = 0; p < pending.size(); ++p) {
            for (int32_t a : pending[p].path)
                if (at_node[static_cast<size_t>(a)] == kOff) at_node[static_cast<size_t>(a)] = kOnPath;
            at_node[static_cast<size_t>(pending[p].node)] = pending_code(static_cast<int32_t>(p));
        }
        start_ = add(t, at_node, t.root);
        lay_out_ends();
    }
    // The pending node (its index) a row of values x reaches, -1 for none.
    int32_t find(const double *x) const {
        if (start_ < 0) return pending_of(start_);
        int32_t at = start_;
        while (at < ends_) {
            const Step &s = steps_[static_cast<size_t>(at)];
            at = s.next[x[s.feature] <= s.threshold ? 0 : 1];
        }
        return at - ends_ - 1;
    }
    // Whether every row reaches a pending node: the root retrains.
    bool takes_all() const { return start_ < kOff; }
    // find for n rows (row i at rows + i * stride) into found[i]. The rows
    // are walked kLockstep at a time in lockstep, a row that has ended
    // standing on its end (a step that leads to itself): the walks are
    // independent chains the CPU overlaps, with no branch on where a row
    // goes. find, one row at a time, waited on each step and mispredicted
    // where each walk ended: with the rows read for it, half the cost of
    // forgetting a row from a forest of a 200,000-row table.
    void route(const double *rows, size_t n, size_t stride, int32_t *found) const {
        if (start_ < 0) {  // no path, or the root retrains: every row alike
            std::fill_n(found, n, pending_of(start_));
            return;
        }
        constexpr size_t kLockstep = 16;
        for (size_t b = 0; b < n; b += kLockstep) {
            const size_t m = std::min(kLockstep, n - b);
            const double *x[kLockstep];
            int32_t at[kLockstep];
            for (size_t r = 0; r < m; ++r) {
                x[r] = rows + (b + r) * stride;
                at[r] = start_;
            }
            // most rows leave the paths in a step or two: the block stops
            // once all of its rows have
            for (int32_t d = 0; d < depth_; ++d) {
                bool walking = false;
                for (size_t r = 0; r < m; ++r) {
                    const Step &s = steps_[static_cast<size_t>(at[r])];
                    at[r] = s.next[static_cast<int>(!(x[r][s.feature] <= s.threshold))];  // no branch
                    walking |= at[r] < ends_;
                }
                if (!walking) break;
            }
            for (size_t r = 0; r < m; ++r) found[b + r] = at[r] - ends_ - 1;  // kOff's end: -1
        }
    }
    // Rows mark takes at once (a caller that runs several guides over the
    // same rows hands them over in blocks of this many, still in cache).
    static constexpr size_t kMarkRows = 64;
    // keep[i] set to 1 for the rows (as route's) that reach a pending node
    void mark(const double *rows, size_t n, size_t stride, char *keep) const {
        int32_t found[kMarkRows];
        for (size_t b = 0; b < n; b += kMarkRows) {
            const size_t m = std::min(kMarkRows, n - b);
            route(rows + b * stride, m, stride, found);
            for (size_t r = 0; r < m; ++r) keep[b + r] |= static_cast<char>(found[r] >= 0);
        }
    }

private:
    // kOnPath: only while building; pending codes are -2, -3, ...
    static constexpr int32_t kOff = -1, kOnPath = std::numeric_limits<int32_t>::min();
    static int32_t pending_code(int32_t p) { return -(p + 2); }
    static int32_t pending_of(int32_t code) { return code == kOff ? -1 : -(code + 2); }
    struct Step {
        int32_t feature;
        int32_t next[2];  // a step, or an end (ends_ and on); kOff or a pending code while building
        double threshold;
    };
    int32_t add(const Tree &t, const std::vector<int32_t> &at_node, int32_t node) {
        const int32_t mark = at_node[static_cast<size_t>(node)];
        if (mark != kOnPath) return mark;
        const Node &nd = t.nodes[static_cast<size_t>(node)];
        const auto me = static_cast<int32_t>(steps_.size());
        steps_.push_back({nd.feature, {kOff, kOff}, nd.threshold});
        const int32_t l = add(t, at_node, nd.left);
        const int32_t r = add(t, at_node, nd.right);
        steps_[static_cast<size_t>(me)].next[0] = l;
        steps_[static_cast<size_t>(me)].next[1] = r;
        return me;
    }
    // The codes add left in the steps become ends, steps after the paths'
    // that lead to themselves: kOff's first (ends_), then the pending
    // nodes' in order; depth_ steps take every row to its end.
    void lay_out_ends() {
        ends_ = static_cast<int32_t>(steps_.size());
        int32_t pending = 0;
        for (Step &s : steps_)
            for (int32_t &next : s.next) {
                if (next >= 0) continue;
                const int32_t p = pending_of(next);
                pending = std::max(pending, p + 1);
                next = ends_ + p + 1;
            }
        for (int32_t e = 0; e <= pending; ++e) steps_.push_back({0, {ends_ + e, ends_ + e}, 0.0});
        // the longest path from the start: the steps are in preorder, a
        // step's children after it, so one pass from the back sees them first
        std::vector<int32_t> below(static_cast<size_t>(ends_), 0);
        for (size_t i = static_cast<size_t>(ends_); i-- > 0;) {
            int32_t d = 0;
            for (int32_t next : steps_[i].next)
                if (next < ends_) d = std::max(d, below[static_cast<size_t>(next)]);
            below[i] = d + 1;
        }
        depth_ = start_ >= 0 ? below[static_cast<size_t>(start_)] : 0;
    }

    std::vector<Step> steps_;  // the paths' steps, then their ends
    int32_t start_ = kOff;     // a step, or (no path) kOff or the root's pending code
    int32_t ends_ = 0;         // the first end
    int32_t depth_ = 0;
};

// The layout below. 3 stores cells as grid ordinals (put_cell) and small
// integers as varints; 2 stored cells, thresholds, features and slot
// counts whole; 1 (before threshold cells) decodes as cell_bits 52, every
// value its own cell, which is what it was.
constexpr uint16_t kForestEncoding = 3, kForestEncodingWhole = 2, kForestEncodingExactValues = 1;

// A grid point's ordinal among the points of the grid of `bits`: the bits
// of the double made monotone (negatives flipped), shifted past the
// mantissa bits every grid point has 0 (negative) or 1 (flipped) in.
uint64_t monotone_bits(double v) {
    const uint64_t u = bits_of(v);
    return u >> 63 ? ~u : u | (uint64_t{1} << 63);
}
double grid_point(uint64_t ordinal, int bits) {
    const int shift = kMaxCellBits - bits;
    const uint64_t m = ordinal << shift;
    const uint64_t u = m >> 63 ? m & ~(uint64_t{1} << 63) : ~(m | ((uint64_t{1} << shift) - 1));
    double v;
    std::memcpy(&v, &u, sizeof v);
    return v;
}

// A cell in the stored form from encoding 3: a varint, even for the step of
// its ordinal from the cell before (prev, 0 for the first; candidates
// ascend, so a step takes a byte or two where the double took eight); odd
// (1) for a value stored whole after it: one off the grid (DBL_MAX, the
// top cell), or any value when every value is its own cell.
// Whether v is stored as a step from prev: a grid point of bits above it;
// its ordinal in *ordinal.
bool steps_to(double v, int bits, uint64_t prev, uint64_t *ordinal) {
    if (bits >= kMaxCellBits) return false;
    *ordinal = monotone_bits(v) >> (kMaxCellBits - bits);
    return *ordinal > prev && bits_of(grid_point(*ordinal, bits)) == bits_of(v);
}
void put_cell(ByteWriter &w, uint16_t encoding, double v, int bits, uint64_t &prev) {
    if (encoding < kForestEncoding) return w.put<double>(v);
    uint64_t ordinal;
    if (steps_to(v, bits, prev, &ordinal)) {
        w.put_varint((ordinal - prev) << 1);
        prev = ordinal;
        return;
    }
    w.put_varint(1);
    w.put<double>(v);
}
// Reads only what put_cell writes, so that a forest that decodes encodes to
// the bytes read: a value whole only where put_cell would not step to it,
// and never -0.0 (the ordinal just below 0.0's is -0.0's, which put_cell
// writes as 0.0's).
double get_cell(ByteReader &r, uint16_t encoding, int bits, uint64_t &prev) {
    if (encoding < kForestEncoding) return r.get<double>();
    const uint64_t step = r.get_varint();
    double v;
    if (step & 1) {
        if (step != 1) ByteReader::fail("bad forest cell");
        v = r.get<double>();
        uint64_t ordinal;
        if (steps_to(v, bits, prev, &ordinal)) ByteReader::fail("bad forest cell");
    } else {
        const uint64_t top = bits < kMaxCellBits ? (uint64_t{1} << (64 - (kMaxCellBits - bits))) - 1 : 0;
        if (bits >= kMaxCellBits || step == 0 || (step >> 1) > top - prev) ByteReader::fail("bad forest cell");
        prev += step >> 1;
        v = grid_point(prev, bits);
    }
    if (v == 0.0 && std::signbit(v)) ByteReader::fail("bad forest cell");
    return v;
}
// A small non-negative integer: a varint from encoding 3, else whole.
template <typename T> void put_small(ByteWriter &w, uint16_t encoding, T v) {
    if (encoding < kForestEncoding) return w.put<T>(v);
    w.put_varint(static_cast<uint64_t>(v));
}
template <typename T> T get_small(ByteReader &r, uint16_t encoding) {
    if (encoding < kForestEncoding) return r.get<T>();
    const uint64_t v = r.get_varint();
    if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) ByteReader::fail("bad forest field");
    return static_cast<T>(v);
}

}  // namespace

Forest::Forest(const ForestOptions &o, int features, int classes) : o_(o), features_(features), classes_(classes) {
    if (features < 1) throw Error(ErrorKind::InvalidParameter, "a forest needs at least one feature");
    if (classes < 0 || classes > static_cast<int>(kMaxClassLabels))
        throw Error(ErrorKind::InvalidParameter, "too many classes for a forest");
    if (o.n_estimators < 1 || o.n_estimators > kMaxTrees)
        throw Error(ErrorKind::InvalidParameter,
                    "option \"n_estimators\" must be an integer between 1 and " + std::to_string(kMaxTrees));
    if (o.max_depth < 0 || o.max_depth > kMaxForestDepth)
        throw Error(ErrorKind::InvalidParameter,
                    "option \"max_depth\" must be an integer between 1 and " + std::to_string(kMaxForestDepth));
    if (o.k < 1 || o.k > kMaxCandidates)
        throw Error(ErrorKind::InvalidParameter,
                    "option \"k\" must be an integer between 1 and " + std::to_string(kMaxCandidates));
    if (o.min_samples_leaf < 1) throw Error(ErrorKind::InvalidParameter, "option \"min_samples_leaf\" must be at least 1");
    if (o.cell_bits < 1 || o.cell_bits > kMaxCellBits)
        throw Error(ErrorKind::InvalidParameter,
                    "option \"cell_bits\" must be an integer between 1 and " + std::to_string(kMaxCellBits));
}

Forest::Forest(const Forest &o) : o_(o.o_), features_(o.features_), classes_(o.classes_), statistics_(o.statistics_) {
    for (const auto &t : o.trees_) trees_.push_back(std::make_shared<Tree>(*t));
}

Forest &Forest::operator=(const Forest &o) {
    if (this != &o) *this = Forest(o);
    return *this;
}

Forest::~Forest() = default;

void Forest::require_statistics(const char *what) const {
    if (!statistics_)
        throw Error(ErrorKind::Internal, std::string("a forest decoded to predict from has no statistics to ") + what);
}

int Forest::sampled_features() const {
    double mf = o_.max_features;
    int s;
    if (mf == 0) s = classes_ > 0 ? static_cast<int>(std::sqrt(static_cast<double>(features_))) : features_;
    else if (mf <= 1.0) s = static_cast<int>(mf * features_);
    else s = static_cast<int>(std::min(mf, static_cast<double>(features_)));  // a decoded state's may not fit an int
    return std::min(features_, std::max(1, s));
}

void Forest::fit(const RowMatrix &x, const Vector &y) {
    plan_.reset();
    const Grower g(o_, features_, classes_, sampled_features());
    trees_.clear();
    statistics_ = true;
    std::vector<int32_t> all(static_cast<size_t>(x.rows()));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
    const RowMatrix xc = cells_of(x, o_.cell_bits);
    for (int t = 0; t < o_.n_estimators; ++t) {
        auto tree = std::make_shared<Tree>();
        std::vector<int32_t> idx = all;
        tree->root = g.build(*tree, xc, y, idx, 0, root_id(o_.seed, t));
        trees_.push_back(std::move(tree));
    }
}

ForestUpdate Forest::update(const RowMatrix &cx, const Vector &cy, int sign, const ForestRowSource &rows) {
    require_statistics("update");
    plan_.reset();
    const Grower g(o_, features_, classes_, sampled_features());
    std::vector<int32_t> changes(static_cast<size_t>(cx.rows()));
    for (size_t i = 0; i < changes.size(); ++i) changes[i] = static_cast<int32_t>(i);
    if (changes.empty()) return {};
    for (const auto &t : trees_) t->walk.reset();  // every tree's counts change: its prediction steps go
    // every tree first: its statistics change, and it names the subtrees to
    // retrain; a guide leads a row to them
    std::vector<std::vector<Grower::Pending>> pending(trees_.size());
    std::vector<size_t> touched;  // the trees with a subtree to retrain
    std::vector<Guide> guides;    // theirs, in the same order
    bool takes_all = false;
    for (size_t ti = 0; ti < trees_.size(); ++ti) {
        Tree &tree = *trees_[ti];
        std::vector<int32_t> path;
        g.walk(tree, cx, cy, changes, sign, tree.root, -1, 0, 0, root_id(o_.seed, static_cast<int>(ti)), pending[ti], path);
        if (pending[ti].empty()) continue;
        touched.push_back(ti);
        guides.emplace_back(tree, pending[ti]);
        takes_all = takes_all || guides.back().takes_all();
    }
    if (touched.empty()) return {};
    const ForestRows &all = rows(ForestRowFilter(
        [&](const double *x) {
            if (takes_all) return true;
            for (const Guide &gd : guides)
                if (gd.find(x) >= 0) return true;
            return false;
        },
        [&](const double *x, size_t n, size_t stride, char *keep) {
            if (takes_all) {
                std::fill_n(keep, n, char{1});
                return;
            }
            // a few rows at a time through every guide, while they are in cache
            for (size_t b = 0; b < n; b += Guide::kMarkRows)
                for (const Guide &gd : guides) gd.mark(x + b * stride, std::min(Guide::kMarkRows, n - b), stride, keep + b);
        }));
    ForestUpdate done;
    const RowMatrix cells = cells_of(all.x, o_.cell_bits);
    for (size_t at = 0; at < touched.size(); ++at) {
        const size_t ti = touched[at];
        std::shared_ptr<Tree> tree = trees_[ti];
        const std::vector<Grower::Pending> &pd = pending[ti];
        // the rows of each pending node, of the rows given
        std::vector<std::vector<int32_t>> members(pd.size());
        std::vector<int32_t> found(static_cast<size_t>(all.x.rows()));
        guides[at].route(all.x.data(), found.size(), static_cast<size_t>(all.x.cols()), found.data());
        for (size_t i = 0; i < found.size(); ++i)
            if (found[i] >= 0) members[static_cast<size_t>(found[i])].push_back(static_cast<int32_t>(i));
        // each as many as the node's statistics hold, or rows it holds are gone
        for (size_t p = 0; p < pd.size(); ++p) g.settle(*tree, cells, all.y, cx, cy, sign, pd[p], members[p], done);
        // retrains leave the replaced subtrees behind in the pools; the
        // stored form is preorder whatever the pools hold, so they are
        // only copied out when they outweigh the tree
        if (tree->nodes.size() > 2 * live_nodes(*tree) + 64) tree = compact(*tree, classes_);
        trees_[ti] = std::move(tree);
    }
    return done;
}

namespace {

// Prediction walks each tree in steps built from its live nodes in preorder:
// a split's left child follows it, its right child is `skip` steps on. A
// leaf steps to itself (skip 0, and a NaN threshold, to which no value is
// <=), so a walk of the tree's depth in steps ends on the leaf with no test
// per step. The leaf's class frequencies (count / n) or mean (sum / n),
// computed once as predicting from the nodes computes them, follow its step
// in the same array: the walk's last load brings them in with it.
//
// A threshold is a grid point of forest_cell (sign, exponent, the top
// cell_bits mantissa bits): with cell_bits <= 23 (the default is 6) and an
// exponent in float's range it is exactly a float, and x <= double(t)
// decides as x <= t does. Such a tree takes 8-byte steps, a float and the
// feature and skip packed in 32 bits: half the memory, so more of the forest
// stays in cache. Any other tree (a threshold that is no float, as cells of
// up to 52 bits or huge values give, or a skip too large to pack) takes
// 16-byte steps. Both walk alike, bit for bit.
bool is_float(double t) {
    return !std::isnan(t) && (std::isinf(t) || (std::fabs(t) <= std::numeric_limits<float>::max() &&
                                                 static_cast<double>(static_cast<float>(t)) == t));
}

struct NarrowStep {
    float threshold;
    uint32_t packed;  // feature | skip << bits

    bool goes_left(const double *x, unsigned bits) const { return x[packed & ((1u << bits) - 1)] <= threshold; }
    uint32_t skip(unsigned bits) const { return packed >> bits; }
    static bool split(double threshold, int32_t feature, NarrowStep &out) {
        if (!is_float(threshold)) return false;
        out = {static_cast<float>(threshold), static_cast<uint32_t>(feature)};
        return true;
    }
    bool set_skip(uint32_t skip, unsigned bits) {
        if ((uint64_t{skip} << bits) >> 32 != 0) return false;
        packed |= skip << bits;
        return true;
    }
    static NarrowStep leaf() { return {std::numeric_limits<float>::quiet_NaN(), 0}; }
};
struct WideStep {
    double threshold;
    uint32_t feature, skip_;

    bool goes_left(const double *x, unsigned) const { return x[feature] <= threshold; }
    uint32_t skip(unsigned) const { return skip_; }
    static bool split(double threshold, int32_t feature, WideStep &out) {
        out = {threshold, static_cast<uint32_t>(feature), 0};
        return true;
    }
    bool set_skip(uint32_t skip, unsigned) {
        skip_ = skip;
        return true;
    }
    static WideStep leaf() { return {std::numeric_limits<double>::quiet_NaN(), 0, 0}; }
};

}  // namespace

struct Forest::Tree::Walk {
    ForestWalk kind;                 // the walk it was laid out for
    bool is_blocked = false;
    BlockedTree blocked;             // a shallow tree (forest_walk.hpp); else
    std::vector<NarrowStep> narrow;  // the tree's steps when they fit in 8 bytes,
    std::vector<WideStep> wide;      // else these
    int32_t depth = 0;               // of the deepest leaf
};

namespace {

// The bits a feature index takes in a NarrowStep.
unsigned feature_bits(int features) {
    unsigned b = 0;
    while (b < 32 && (uint64_t{1} << b) < static_cast<uint64_t>(features)) ++b;
    return b;
}

// A leaf's value for class c (or its mean, c 0, for regression), computed
// as predicting from the nodes computes it. A leaf of no rows adds zeros: a
// sum that starts at +0 never is -0, and adding +0 to it changes no bit.
double leaf_value(const Tree &t, int32_t node, int classes, size_t c) {
    const Node &nd = t.nodes[static_cast<size_t>(node)];
    if (nd.n <= 0) return 0;
    const size_t width = static_cast<size_t>(std::max(classes, 1));
    return classes > 0 ? static_cast<double>(t.counts[static_cast<size_t>(node) * width + c]) / nd.n
                       : t.sums[static_cast<size_t>(node)].value() / nd.n;
}

// The tree's steps in out, each leaf's values in the steps after it; false
// when a split does not fit in a Step.
template <class Step>
bool lay_out(const Tree &t, int classes, unsigned bits, std::vector<Step> &out, int32_t &depth) {
    const size_t width = static_cast<size_t>(std::max(classes, 1));
    const size_t slots = (width * sizeof(double) + sizeof(Step) - 1) / sizeof(Step);
    out.clear();
    depth = 0;
    struct Todo {
        int32_t node, parent, depth;  // parent: the step whose right child it is
    };
    std::vector<Todo> stack{{t.root, -1, 0}};
    while (!stack.empty()) {
        const Todo at = stack.back();
        stack.pop_back();
        const Node &nd = t.nodes[static_cast<size_t>(at.node)];
        const size_t me = out.size();
        if (at.parent >= 0 &&
            !out[static_cast<size_t>(at.parent)].set_skip(static_cast<uint32_t>(me - static_cast<size_t>(at.parent)), bits))
            return false;
        if (nd.kind == kSplit) {
            Step s;
            if (me >= std::numeric_limits<uint32_t>::max() || !Step::split(nd.threshold, nd.feature, s)) return false;
            out.push_back(s);
            stack.push_back({nd.right, static_cast<int32_t>(me), at.depth + 1});
            stack.push_back({nd.left, -1, at.depth + 1});
            continue;
        }
        depth = std::max(depth, at.depth);
        out.push_back(Step::leaf());
        out.resize(out.size() + slots, Step{});
        auto *values = reinterpret_cast<unsigned char *>(&out[me + 1]);
        for (size_t c = 0; c < width; ++c) {
            const double v = leaf_value(t, at.node, classes, c);
            std::memcpy(values + c * sizeof v, &v, sizeof v);
        }
    }
    return true;
}

// The tree in blocks (forest_walk.hpp) in out; false when it is deeper than
// kMaxBlockedDepth, a threshold is no float or a feature too large, or the
// tree has fewer than an eighth of the leaves a complete tree of its depth
// has (a depth-limited tree is rarely sparser): blocks and values then take
// at most about 8 times the steps' memory, about 2^12 * (10 * classes + 5)
// bytes at most (a classifier's shares included). Coded blocks when every
// threshold has a cell code, float ones when not.
bool lay_out_blocked(const Tree &t, int classes, int features, BlockedTree &out) {
    if (static_cast<size_t>(features) > kMaxBlockedFeatures) return false;
    struct Todo {
        int32_t node, depth;
        uint32_t pos;  // the path from the root, 1 for right
    };
    int32_t depth = 0;
    size_t leaves = 0;
    bool coded = true;  // every threshold has a cell code
    std::vector<Todo> stack{{t.root, 0, 0}};
    while (!stack.empty()) {
        const Todo at = stack.back();
        stack.pop_back();
        const Node &nd = t.nodes[static_cast<size_t>(at.node)];
        if (nd.kind != kSplit) {
            ++leaves;
            depth = std::max(depth, at.depth);
            continue;
        }
        if (at.depth >= kMaxBlockedDepth || !is_float(nd.threshold)) return false;
        int16_t code;
        coded = coded && threshold_code(static_cast<float>(nd.threshold), &code);
        stack.push_back({nd.left, at.depth + 1, 0});
        stack.push_back({nd.right, at.depth + 1, 0});
    }
    if ((size_t{1} << depth) > 8 * leaves) return false;
    const size_t width = static_cast<size_t>(std::max(classes, 1));
    out.shape(depth, width, coded, classes > 0);
    std::vector<double> values(width);
    stack = {{t.root, 0, 0}};
    while (!stack.empty()) {
        const Todo at = stack.back();
        stack.pop_back();
        const Node &nd = t.nodes[static_cast<size_t>(at.node)];
        if (nd.kind == kSplit) {
            out.put_node(at.depth, at.pos, static_cast<float>(nd.threshold), static_cast<uint8_t>(nd.feature));
            stack.push_back({nd.right, at.depth + 1, 2 * at.pos + 1});
            stack.push_back({nd.left, at.depth + 1, 2 * at.pos});
            continue;
        }
        for (size_t c = 0; c < width; ++c) values[c] = leaf_value(t, at.node, classes, c);
        out.put_leaf(at.depth, at.pos, values.data());
    }
    return true;
}

std::shared_ptr<const Tree::Walk> build_walk(const Tree &t, int classes, int features, unsigned bits, ForestWalk kind) {
    auto w = std::make_shared<Tree::Walk>();
    w->kind = kind;
    w->is_blocked = kind == ForestWalk::Avx512 && lay_out_blocked(t, classes, features, w->blocked);
    if (w->is_blocked) return w;
    if (!lay_out(t, classes, bits, w->narrow, w->depth)) {
        w->narrow = {};
        lay_out(t, classes, bits, w->wide, w->depth);
    }
    return w;
}

// Walks the trees whose steps start at at[0..m) for depth steps, each tree
// a step in turn: a step waits for the load of the one before it, and the
// walks of several trees overlap those waits. Branch-free: which way a row
// goes is a coin toss a branch predictor would miss half the time.
template <class Step>
void walk_steps(const Step **at, size_t m, int32_t depth, const double *x, unsigned bits) {
    for (int32_t d = 0; d < depth; ++d)
        for (size_t i = 0; i < m; ++i) {
            const Step *s = at[i];
            const uint32_t right = 0u - static_cast<uint32_t>(!s->goes_left(x, bits));
            at[i] = s + ((s->skip(bits) & right) | (1u & ~right));
        }
}

// A row as the blocked trees read it (float_at_least of its values and their
// cell codes); computed when one first needs it.
class RowFloats {
public:
    RowFloats(const double *x, int features) : x_(x), n_(static_cast<size_t>(features)) {}
    const BlockedRow &get() {
        if (!ready_) {
            // only a forest of at most kMaxBlockedFeatures has blocked trees;
            // past its features, zeros (no block reads them)
            const size_t n = std::min(n_, kMaxBlockedFeatures);
            for (size_t j = 0; j < n; ++j) {
                row_.x[j] = float_at_least(x_[j]);
                row_.code[j] = cell_code(row_.x[j]);
            }
            std::fill(row_.x + n, row_.x + kMaxBlockedFeatures, 0.0f);
            std::fill(row_.code + n, row_.code + kMaxBlockedFeatures, int16_t{0});
            ready_ = true;
        }
        return row_;
    }

private:
    const double *x_;
    size_t n_;
    bool ready_ = false;
    BlockedRow row_;
};

// Up to kLanes trees that prediction walks side by side, sorted once (when
// the plan is made, not for every row) into the kinds of walk they take;
// each kind's trees keep their tree's place in the group.
constexpr size_t kLanes = 128;
static_assert(kLanes <= kMaxAlike, "a group of trees walks alike at most kMaxAlike at once");
struct WalkGroup {
    size_t count = 0;  // trees in the group (kLanes, fewer in the last)
    std::vector<const BlockedView *> blocked;
    std::vector<const NarrowStep *> narrow;
    std::vector<const WideStep *> wide;
    std::vector<uint32_t> blocked_at, narrow_at, wide_at;  // their places in the group
    int32_t narrow_depth = 0, wide_depth = 0;
    bool alike = false;  // every blocked tree of one shape
    BlockedShape shape;
};

// The values (bytes of width doubles) of the leaves x reaches in the group's
// trees, in tree order.
void leaf_values_of(const WalkGroup &g, unsigned bits, const double *x, RowFloats &xf, const unsigned char **out) {
    const NarrowStep *narrow[kLanes];
    const WideStep *wide[kLanes];
    uint32_t bottom[kLanes];
    const size_t nb = g.blocked.size(), nn = g.narrow.size(), nw = g.wide.size();
    std::copy_n(g.narrow.data(), nn, narrow);
    std::copy_n(g.wide.data(), nw, wide);
    if (nb > 0 && g.alike)
        walk_blocked_alike(g.shape, g.blocked.data(), nb, xf.get(), bottom);
    else if (nb > 0)
        walk_blocked(g.blocked.data(), nb, xf.get(), bottom);
    walk_steps(narrow, nn, g.narrow_depth, x, bits);
    walk_steps(wide, nw, g.wide_depth, x, bits);
    for (size_t k = 0; k < nb; ++k)
        out[g.blocked_at[k]] = reinterpret_cast<const unsigned char *>(g.blocked[k]->values_at(bottom[k]));
    for (size_t k = 0; k < nn; ++k) out[g.narrow_at[k]] = reinterpret_cast<const unsigned char *>(narrow[k] + 1);
    for (size_t k = 0; k < nw; ++k) out[g.wide_at[k]] = reinterpret_cast<const unsigned char *>(wide[k] + 1);
}

double value_at(const unsigned char *values, int c) {
    double v;
    std::memcpy(&v, values + static_cast<size_t>(c) * sizeof v, sizeof v);
    return v;
}
}  // namespace

// Every tree's walk, laid out for the walk in use, the blocked trees' views,
// and the trees in groups as prediction walks them, in tree order.
struct Forest::Plan {
    ForestWalk kind;
    std::vector<std::shared_ptr<const Tree::Walk>> walks;  // holding what the groups point into
    std::vector<BlockedView> views;                        // per tree (unused for a tree of steps)
    std::vector<WalkGroup> groups;
    // every group's trees blocked alike, each with shares: predict_class
    // reads the shares
    bool shared = false;
};

const Forest::Plan &Forest::plan() const {
    const ForestWalk kind = forest_walk();
    if (plan_ && plan_->kind == kind) return *plan_;
    auto p = std::make_shared<Plan>();
    p->kind = kind;
    const unsigned bits = feature_bits(features_);
    for (const auto &t : trees_) {
        if (!t->walk || t->walk->kind != kind) t->walk = build_walk(*t, classes_, features_, bits, kind);
        p->walks.push_back(t->walk);
        p->views.push_back(t->walk->blocked.view());
    }
    for (size_t t0 = 0; t0 < trees_.size(); t0 += kLanes) {
        WalkGroup g;
        g.count = std::min(kLanes, trees_.size() - t0);
        for (size_t i = 0; i < g.count; ++i) {
            const Tree::Walk &w = *p->walks[t0 + i];
            const auto at = static_cast<uint32_t>(i);
            if (w.is_blocked) {
                g.blocked.push_back(&p->views[t0 + i]);
                g.blocked_at.push_back(at);
            } else if (!w.narrow.empty()) {
                g.narrow.push_back(w.narrow.data());
                g.narrow_at.push_back(at);
                g.narrow_depth = std::max(g.narrow_depth, w.depth);
            } else {
                g.wide.push_back(w.wide.data());
                g.wide_at.push_back(at);
                g.wide_depth = std::max(g.wide_depth, w.depth);
            }
        }
        if (!g.blocked.empty()) {
            g.shape = BlockedShape::of(*g.blocked[0]);
            g.alike = std::all_of(g.blocked.begin(), g.blocked.end(),
                                  [&](const BlockedView *v) { return BlockedShape::of(*v) == g.shape; });
        }
        p->groups.push_back(std::move(g));
    }
    p->shared = classes_ > 0 && !trees_.empty() && std::all_of(p->groups.begin(), p->groups.end(), [](const WalkGroup &g) {
        return g.alike && g.narrow.empty() && g.wide.empty() &&
               std::all_of(g.blocked.begin(), g.blocked.end(), [](const BlockedView *v) { return v->shares != nullptr; });
    });
    plan_ = std::move(p);
    return *plan_;
}

Vector Forest::predict_proba(const double *x) const {
    Vector p(classes_);
    predict_proba(x, p.data());
    return p;
}

void Forest::predict_proba(const double *x, double *sum) const {
    if (classes_ == 0) throw Error(ErrorKind::Internal, "predict_proba of a regression forest");
    std::fill_n(sum, classes_, 0.0);
    const unsigned bits = feature_bits(features_);
    const unsigned char *leaf[kLanes];
    RowFloats xf(x, features_);
    for (const WalkGroup &g : plan().groups) {
        leaf_values_of(g, bits, x, xf, leaf);
        // in tree order: the sum rounds as it always did (in a register,
        // not stored back after every tree)
        for (int c = 0; c < classes_; ++c) {
            double s = sum[c];
            for (size_t i = 0; i < g.count; ++i) s += value_at(leaf[i], c);
            sum[c] = s;
        }
    }
    for (int c = 0; c < classes_; ++c) sum[c] /= static_cast<double>(trees_.size());
}

namespace {
// A value per class, on the stack for a few classes: no allocation a row.
template <typename T>
class PerClass {
public:
    explicit PerClass(int classes) : many_(static_cast<size_t>(classes > kFew ? classes : 0)) {
        std::fill_n(data(), classes, T{});
    }
    PerClass(const PerClass &) = delete;
    PerClass &operator=(const PerClass &) = delete;
    T *data() { return many_.empty() ? few_ : many_.data(); }

private:
    static constexpr int kFew = 16;
    T few_[kFew];
    std::vector<T> many_;
};

// Trees walked between two looks at whether the class is decided: enough
// for the walk to overlap their paths, few enough to stop soon after.
constexpr size_t kDecideEvery = 16;
}  // namespace

int Forest::predict_class(const double *x, size_t *walked) const {
    if (classes_ == 0) throw Error(ErrorKind::Internal, "predict_class of a regression forest");
    const Plan &plan = this->plan();
    if (walked) *walked = trees_.size();
    if (!plan.shared) return predict_class_exactly(x);
    // Each class's shares summed over the trees: exact integers, each within
    // trees / 2 of 2^15 times the class's summed frequencies. A class ahead
    // of every other by trees + 2 or more is ahead in the summed frequencies
    // by at least 2^-14, far beyond what rounding moves predict_proba's sums
    // and their division (less than 2^-26 for 10,000 trees): its argmax.
    //
    // The trees are walked a few at a time, and once they are past half
    // the forest the class may be decided early: a tree's share of a
    // class is at most kShareOne, so the trees left can take at most
    // kShareOne each off a class's lead. A lead that still clears the
    // margin after losing that much is the lead every tree would have
    // given: the same class, without walking the rest.
    PerClass<int64_t> sums(classes_);
    int64_t *q = sums.data();
    const size_t width = static_cast<size_t>(classes_);
    const auto trees = static_cast<int64_t>(trees_.size());
    RowFloats xf(x, features_);
    uint32_t bottom[kLanes];
    size_t left = trees_.size();
    int top = 0;
    for (const WalkGroup &g : plan.groups) {
        for (size_t at = 0, m = 0; at < g.blocked.size(); at += m) {
            const int64_t short_of = short_of_decision(q, classes_, trees, static_cast<int64_t>(left), &top);
            if (short_of <= 0) {
                if (walked) *walked = trees_.size() - left;
                return top;
            }
            // at least the trees that could decide it (each walked adds
            // kShareOne to the lead at most and takes one off what the
            // trees left could take away: the first half of the forest, at
            // the start), and enough to overlap their paths
            const auto could = static_cast<size_t>((short_of + 2 * kShareOne - 1) / (2 * kShareOne));
            m = std::min(std::max(could, kDecideEvery), g.blocked.size() - at);
            walk_blocked_alike(g.shape, g.blocked.data() + at, m, xf.get(), bottom, LeafForm::Shares);
            const uint16_t *leaf[kLanes];
            for (size_t k = 0; k < m; ++k) leaf[k] = g.blocked[at + k]->shares_at(bottom[k]);
            // a class at a time, summed in a register: adding to q[c] tree by
            // tree would wait on its store every time
            for (size_t c = 0; c < width; ++c) {
                int64_t sum = 0;
                for (size_t k = 0; k < m; ++k) sum += leaf[k][c];
                q[c] += sum;
            }
            left -= m;
        }
    }
    return short_of_decision(q, classes_, trees, 0, &top) <= 0 ? top : predict_class_exactly(x);
}

bool Forest::predicts_from_shares() const { return plan().shared; }

int Forest::predict_class_exactly(const double *x) const {
    PerClass<double> proba(classes_);
    double *p = proba.data();
    predict_proba(x, p);
    return static_cast<int>(std::max_element(p, p + classes_) - p);  // first of equals, as numpy's argmax
}

double Forest::predict_value(const double *x) const {
    double s = 0;
    const unsigned bits = feature_bits(features_);
    const unsigned char *leaf[kLanes];
    RowFloats xf(x, features_);
    for (const WalkGroup &g : plan().groups) {
        leaf_values_of(g, bits, x, xf, leaf);
        for (size_t i = 0; i < g.count; ++i) s += value_at(leaf[i], 0);
    }
    return s / static_cast<double>(trees_.size());
}

Vector Forest::importances() const {
    Vector total = Vector::Zero(features_);
    for (const auto &tp : trees_) {
        const Tree &t = *tp;
        Vector imp = Vector::Zero(features_);
        // n * impurity, for Gini; for squared error the part that varies
        // between a node and its children (-S^2/n): decreases are the same
        auto weighted = [&](int32_t node) {
            const Node &nd = t.nodes[static_cast<size_t>(node)];
            if (nd.n <= 0) return 0.0;
            if (classes_ > 0) {
                double sq = 0;
                for (int c = 0; c < classes_; ++c) {
                    const double v = t.counts[static_cast<size_t>(node) * static_cast<size_t>(classes_) + static_cast<size_t>(c)];
                    sq += v * v;
                }
                return nd.n - sq / nd.n;
            }
            const double s = t.sums[static_cast<size_t>(node)].value();
            return -s * s / nd.n;
        };
        for (size_t i = 0; i < t.nodes.size(); ++i) {
            const Node &nd = t.nodes[i];
            if (nd.kind != kSplit) continue;
            imp(nd.feature) += weighted(static_cast<int32_t>(i)) - weighted(nd.left) - weighted(nd.right);
        }
        const double s = imp.sum();
        if (s > 0) total += imp / s;
    }
    const double s = total.sum();
    return s > 0 ? Vector(total / s) : total;
}

void Forest::drop_feature(int j, const ForestRows &rows_without) {
    if (j < 0 || j >= features_ || features_ < 2) throw Error(ErrorKind::Internal, "no such forest feature");
    --features_;
    fit(rows_without.x, rows_without.y);
}

std::vector<Forest::NodeView> Forest::tree_nodes(int tree) const {
    const Tree &t = *trees_.at(static_cast<size_t>(tree));
    std::vector<NodeView> out;
    std::vector<int32_t> stack{t.root};
    while (!stack.empty()) {
        const Node &nd = t.nodes[static_cast<size_t>(stack.back())];
        stack.pop_back();
        out.push_back({nd.kind == kSplit, nd.feature, nd.threshold, nd.n});
        if (nd.kind == kSplit) {
            stack.push_back(nd.right);
            stack.push_back(nd.left);
        }
    }
    return out;
}

int64_t Forest::rows() const {
    return trees_.empty() ? 0 : trees_.front()->nodes[static_cast<size_t>(trees_.front()->root)].n;
}

size_t Forest::nodes() const {
    size_t n = 0;
    for (const auto &t : trees_) n += t->nodes.size();
    return n;
}

size_t Forest::bytes() const {
    size_t b = 0;
    for (const auto &t : trees_) {
        b += t->nodes.size() * sizeof(Node) + t->counts.size() * 4 + t->sums.size() * (sizeof(ExactSum) + 48) +
             (t->walk ? t->walk->blocked.bytes() + t->walk->narrow.size() * sizeof(NarrowStep) +
                            t->walk->wide.size() * sizeof(WideStep)
                      : 0);
        for (const auto &s : t->stats)
            b += sizeof(CandStats) + s.value.size() * 16 + s.left.size() * 4 + s.left_sum.size() * (sizeof(ExactSum) + 48);
    }
    return b;
}

double forest_bytes_bound(const ForestOptions &o, int features, int classes, double rows) {
    const double leaves = std::max(1.0, rows / std::max(1, o.min_samples_leaf));
    double nodes = 2 * leaves, with_stats = 2 * std::max(1.0, rows / (kStatsMinRows + 1));
    if (o.max_depth > 0 && o.max_depth < 50) {
        nodes = std::min(nodes, std::ldexp(1.0, o.max_depth + 1));
        with_stats = std::min(with_stats, std::ldexp(1.0, o.max_depth));
    }
    const Forest f(o, features, classes);
    const double slots = f.sampled_features() * static_cast<double>(o.k);
    const double per_node = sizeof(Node) + (classes > 0 ? 4.0 * classes : 100.0);
    const double per_stats = 64 + slots * (classes > 0 ? 12.0 + 4.0 * classes : 16.0 + 100.0);
    // the stored form and the decoded forest: twice
    return 2.0 * o.n_estimators * (nodes * per_node + with_stats * per_stats);
}

// Stored form (encoding 3): version, options (cell_bits last, u8, from
// encoding 2), then per tree its nodes in preorder: kind (u8), n (varint),
// class counts (C varints) or sum (ExactSum); a split adds feature
// (varint), threshold (a cell, put_cell) and a flag for candidate
// statistics: slot count (varint), then per slot feature and candidates
// (varints), and per candidate its cell (put_cell, a step from the one
// before), rows in it (varint), left counts (C varints) or left count
// (varint) and sum (ExactSum), counts as steps from the candidate before.
// A classification node is thus ~2 + C bytes, a split ~4 more, and its
// statistics ~2 + C·1-3 bytes per candidate (a cell's step is mostly one
// byte; encoding 2 spent eight).
void Forest::encode(ByteWriter &w) const { encode_as(w, kForestEncoding); }

void Forest::encode_as(ByteWriter &w, int encoding_wanted) const {
    require_statistics("encode");
    if (encoding_wanted != kForestEncoding && encoding_wanted != kForestEncodingWhole)
        throw Error(ErrorKind::Internal, "a forest is written in encoding 2 or 3");
    const auto encoding = static_cast<uint16_t>(encoding_wanted);
    w.reserve(bytes() / 2);  // one growth, not one per value
    w.put<uint16_t>(encoding);
    w.put<int32_t>(o_.n_estimators);
    w.put<int32_t>(o_.max_depth);
    w.put<int32_t>(o_.min_samples_leaf);
    w.put<double>(o_.max_features);
    w.put<int32_t>(o_.k);
    w.put<int32_t>(o_.random_depth);
    w.put<uint64_t>(o_.seed);
    w.put<uint8_t>(static_cast<uint8_t>(o_.cell_bits));
    w.put<uint32_t>(static_cast<uint32_t>(trees_.size()));
    const size_t cc = static_cast<size_t>(classes_);
    for (const auto &tp : trees_) {
        const Tree &t = *tp;
        std::vector<int32_t> stack{t.root};
        while (!stack.empty()) {
            const int32_t node = stack.back();
            stack.pop_back();
            const Node &nd = t.nodes[static_cast<size_t>(node)];
            w.put<uint8_t>(nd.kind);
            w.put_varint(static_cast<uint64_t>(nd.n));
            if (classes_ > 0)
                for (size_t c = 0; c < cc; ++c) w.put_varint(static_cast<uint64_t>(t.counts[static_cast<size_t>(node) * cc + c]));
            else
                t.sums[static_cast<size_t>(node)].encode(w);
            if (nd.kind != kSplit) continue;
            put_small<int32_t>(w, encoding, nd.feature);
            uint64_t prev = 0;
            put_cell(w, encoding, nd.threshold, o_.cell_bits, prev);
            w.put<uint8_t>(nd.stats >= 0 ? 1 : 0);
            if (nd.stats >= 0) {
                const CandStats &cs = t.stats[static_cast<size_t>(nd.stats)];
                const size_t k = static_cast<size_t>(cs.k);
                put_small<uint32_t>(w, encoding, static_cast<uint32_t>(cs.features.size()));
                for (size_t s = 0; s < cs.features.size(); ++s) {
                    put_small<int32_t>(w, encoding, cs.features[s]);
                    put_small<uint16_t>(w, encoding, cs.count[s]);
                    prev = 0;
                    for (size_t j = 0; j < cs.count[s]; ++j) {
                        const size_t at = s * k + j;
                        put_cell(w, encoding, cs.value[at], o_.cell_bits, prev);
                        w.put_varint(static_cast<uint64_t>(cs.eq[at]));
                        // left counts grow with the candidate: stored as the step from the one before
                        if (classes_ > 0)
                            for (size_t c = 0; c < cc; ++c)
                                w.put_varint(static_cast<uint64_t>(cs.left[at * cc + c] - (j ? cs.left[(at - 1) * cc + c] : 0)));
                        else {
                            w.put_varint(static_cast<uint64_t>(cs.left[at] - (j ? cs.left[at - 1] : 0)));
                            cs.left_sum[at].encode(w);
                        }
                    }
                }
            }
            stack.push_back(nd.right);
            stack.push_back(nd.left);
        }
    }
}

namespace {
int32_t get_count(ByteReader &r, int64_t base = 0) {
    const uint64_t v = r.get_varint();
    if (v > INT32_MAX || base + static_cast<int64_t>(v) > INT32_MAX) ByteReader::fail("count out of range in a forest");
    return static_cast<int32_t>(base + static_cast<int64_t>(v));
}

// scratch: where statistics are read when they are not kept (decode's
// statistics false), else null.
int32_t decode_node(ByteReader &r, uint16_t encoding, Tree &t, const ForestOptions &o, int features, int classes,
                    int sampled, int depth, CandStats *scratch) {
    if (depth > kMaxForestDepth + 1) ByteReader::fail("forest too deep");
    const auto me = static_cast<int32_t>(t.nodes.size());
    t.nodes.emplace_back();
    const auto kind = r.get<uint8_t>();
    if (kind > kLeafNoSplit) ByteReader::fail("bad forest node kind");
    const int32_t n = get_count(r);
    t.nodes[static_cast<size_t>(me)].kind = kind;
    t.nodes[static_cast<size_t>(me)].n = n;
    const size_t cc = static_cast<size_t>(classes);
    if (classes > 0)
        for (size_t c = 0; c < cc; ++c) t.counts.push_back(get_count(r));
    else
        t.sums.push_back(ExactSum::decode(r));
    if (kind != kSplit) return me;
    const auto f = get_small<int32_t>(r, encoding);
    uint64_t prev = 0;
    const double thr = get_cell(r, encoding, o.cell_bits, prev);
    if (f < 0 || f >= features || !std::isfinite(thr) || forest_cell(thr, o.cell_bits) != thr)
        ByteReader::fail("bad forest split");
    const auto has = r.get<uint8_t>();
    if (has > 1) ByteReader::fail("bad forest split");
    t.nodes[static_cast<size_t>(me)].feature = f;
    t.nodes[static_cast<size_t>(me)].threshold = thr;
    if (has) {
        CandStats kept;
        CandStats &cs = scratch ? *scratch : kept;
        cs.k = o.k;
        const size_t k = static_cast<size_t>(o.k);
        const auto slots = get_small<uint32_t>(r, encoding);
        if (slots != static_cast<uint32_t>(sampled)) ByteReader::fail("bad forest statistics");
        r.need(static_cast<size_t>(slots) * 2);
        cs.features.assign(slots, 0);
        cs.count.assign(slots, 0);
        cs.value.assign(slots * k, 0.0);
        cs.eq.assign(slots * k, 0);
        cs.left.assign(slots * k * (classes > 0 ? cc : 1), 0);
        if (classes == 0) cs.left_sum.assign(slots * k, ExactSum());
        for (size_t s = 0; s < slots; ++s) {
            cs.features[s] = get_small<int32_t>(r, encoding);
            cs.count[s] = get_small<uint16_t>(r, encoding);
            prev = 0;
            if (cs.features[s] < 0 || cs.features[s] >= features || cs.count[s] > k)
                ByteReader::fail("bad forest statistics");
            for (size_t j = 0; j < cs.count[s]; ++j) {
                const size_t at = s * k + j;
                cs.value[at] = get_cell(r, encoding, o.cell_bits, prev);
                if (!std::isfinite(cs.value[at]) || forest_cell(cs.value[at], o.cell_bits) != cs.value[at] ||
                    (j > 0 && !(cs.value[at - 1] < cs.value[at])))
                    ByteReader::fail("bad forest candidate");
                cs.eq[at] = get_count(r);
                if (classes > 0)
                    for (size_t c = 0; c < cc; ++c) cs.left[at * cc + c] = get_count(r, j ? cs.left[(at - 1) * cc + c] : 0);
                else {
                    cs.left[at] = get_count(r, j ? cs.left[at - 1] : 0);
                    cs.left_sum[at] = ExactSum::decode(r);
                }
            }
        }
        if (!scratch) {
            t.nodes[static_cast<size_t>(me)].stats = static_cast<int32_t>(t.stats.size());
            t.stats.push_back(std::move(cs));
        }
    }
    const int32_t l = decode_node(r, encoding, t, o, features, classes, sampled, depth + 1, scratch);
    const int32_t rr = decode_node(r, encoding, t, o, features, classes, sampled, depth + 1, scratch);
    t.nodes[static_cast<size_t>(me)].left = l;
    t.nodes[static_cast<size_t>(me)].right = rr;
    return me;
}
}  // namespace

Forest Forest::decode(ByteReader &r, int features, int classes, bool statistics) {
    const auto encoding = r.get<uint16_t>();
    if (encoding != kForestEncoding && encoding != kForestEncodingWhole && encoding != kForestEncodingExactValues)
        ByteReader::fail("unknown forest encoding");
    ForestOptions o;
    o.n_estimators = r.get<int32_t>();
    o.max_depth = r.get<int32_t>();
    o.min_samples_leaf = r.get<int32_t>();
    o.max_features = r.get<double>();
    o.k = r.get<int32_t>();
    o.random_depth = r.get<int32_t>();
    o.seed = r.get<uint64_t>();
    o.cell_bits = encoding == kForestEncodingExactValues ? kMaxCellBits : r.get<uint8_t>();
    if (!std::isfinite(o.max_features) || o.max_features < 0 || o.random_depth < 0) ByteReader::fail("bad forest options");
    Forest f = [&] {
        try {
            return Forest(o, features, classes);
        } catch (const Error &) {
            ByteReader::fail("bad forest options");
        }
    }();
    const auto trees = r.get<uint32_t>();
    if (trees != static_cast<uint32_t>(o.n_estimators)) ByteReader::fail("bad forest tree count");
    f.statistics_ = statistics;
    CandStats scratch;  // statistics read and dropped (its vectors reused: no allocation a node)
    for (uint32_t i = 0; i < trees; ++i) {
        auto t = std::make_shared<Tree>();
        t->root = decode_node(r, encoding, *t, o, features, classes, f.sampled_features(), 0, statistics ? nullptr : &scratch);
        f.trees_.push_back(std::move(t));
    }
    return f;
}

std::string Forest::difference(const Forest &o) const {
    if (features_ != o.features_ || classes_ != o.classes_ || trees_.size() != o.trees_.size()) return "layout";
    for (size_t i = 0; i < trees_.size(); ++i) {
        ByteWriter a, b;
        Forest one(o_, features_, classes_), other(o.o_, features_, classes_);
        one.trees_ = {trees_[i]};
        other.trees_ = {o.trees_[i]};
        one.o_.n_estimators = other.o_.n_estimators = 1;
        one.encode(a);
        other.encode(b);
        if (a.bytes() != b.bytes()) return "tree " + std::to_string(i);
    }
    ByteWriter a, b;
    encode(a);
    o.encode(b);
    return a.bytes() == b.bytes() ? "" : "options";
}

}  // namespace unlearn
