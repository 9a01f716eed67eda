#include "sisa.hpp"

#include <algorithm>
#include <numeric>

#include "error.hpp"
#include "interrupt.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

int32_t slice_of(const std::string &key, int32_t slices, int64_t seed) {
    std::string salted = std::to_string(seed) + '\x1e' + key;  // not shard_of's salt: independent of the shard
    return static_cast<int32_t>(hash64(salted.data(), salted.size()) % static_cast<uint64_t>(slices));
}

namespace {
// Rows copied between interrupt checks: a few milliseconds at 1600 features.
constexpr Eigen::Index kCopyRows = 4096;

// The first n rows of x, copied in runs so that a cancel is seen meanwhile.
RowMatrix copy_prefix(const RowMatrix &x, Eigen::Index n) {
    RowMatrix out(n, x.cols());
    for (Eigen::Index start = 0; start < n; start += kCopyRows) {
        check_interrupts();
        const Eigen::Index len = std::min(kCopyRows, n - start);
        out.middleRows(start, len) = x.middleRows(start, len);
    }
    return out;
}
}  // namespace

void ShardRows::sort_canonical() {
    std::vector<size_t> order(y.size());
    std::iota(order.begin(), order.end(), 0);
    // a throw from the comparator leaves order permuted, and it is discarded
    size_t compared = 0;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        if ((++compared & 0xffff) == 0) check_interrupts();
        if (slice[a] != slice[b]) return slice[a] < slice[b];
        if (hash[a] != hash[b]) return hash[a] < hash[b];
        return keys[a] < keys[b];
    });
    if (std::is_sorted(order.begin(), order.end())) return;
    ShardRows s;
    s.x.resize(x.rows(), x.cols());
    for (Eigen::Index start = 0; start < x.rows(); start += kCopyRows) {
        check_interrupts();
        const Eigen::Index len = std::min(kCopyRows, x.rows() - start);
        std::vector<Eigen::Index> idx(order.begin() + start, order.begin() + start + len);
        s.x.middleRows(start, len) = x(idx, Eigen::all);
    }
    for (size_t i : order) {
        s.y.push_back(y[i]);
        s.slice.push_back(slice[i]);
        s.hash.push_back(hash[i]);
        s.keys.push_back(std::move(keys[i]));
    }
    *this = std::move(s);
}

Eigen::Index ShardRows::prefix(int32_t k) const {
    return static_cast<Eigen::Index>(std::upper_bound(slice.begin(), slice.end(), k) - slice.begin());
}

uint64_t digest_keys(const std::vector<uint64_t> &sorted_hashes, size_t count) {
    uint64_t d = 0x243f6a8885a308d3ULL ^ count;
    for (size_t i = 0; i < count; ++i) d = Stream(d ^ sorted_hashes[i]).next();
    return d;
}

std::vector<Checkpoint> train_slices(const Learner &learner, const ShardRows &rows, int32_t slices, int32_t from,
                                     const Checkpoint *resume, uint64_t shard_stream) {
    if (from < 0 || from >= slices || (from > 0 && !resume))
        throw Error(ErrorKind::Internal, "training must resume from the checkpoint before its first slice");
    std::vector<Checkpoint> out;
    const Constituent *prev = from > 0 ? resume->model.get() : nullptr;
    for (int32_t k = from; k < slices; ++k) {
        check_interrupts();
        const Eigen::Index n = rows.prefix(k);
        Progress at;
        at.slice = k;
        at.slices = slices;
        at.rows = n;
        report_progress(at);
        Checkpoint c;
        c.slice = k;
        c.rows = n;
        c.digest = digest_keys(rows.hash, static_cast<size_t>(n));
        std::vector<int> y(rows.y.begin(), rows.y.begin() + n);
        // the last slices see every row: no copy of them
        if (n > 0 && n == rows.x.rows()) c.model = learner.fit(rows.x, y, prev, mix_seed(shard_stream, static_cast<uint64_t>(k)), k);
        else if (n > 0) c.model = learner.fit(copy_prefix(rows.x, n), y, prev, mix_seed(shard_stream, static_cast<uint64_t>(k)), k);
        else if (prev) c.model = out.empty() ? resume->model : out.back().model;
        prev = c.model.get();
        out.push_back(std::move(c));
    }
    return out;
}

Matrix aggregate(const std::vector<ConstituentPtr> &members, const RowMatrix &x, int classes, bool vote) {
    Matrix total = Matrix::Zero(x.rows(), classes);
    int used = 0;
    for (const auto &m : members) {
        if (!m) continue;
        Matrix p = m->proba(x);
        if (p.cols() != classes) continue;  // a constituent that saw no row
        ++used;
        if (!vote) {
            total += p;
            continue;
        }
        for (Eigen::Index i = 0; i < p.rows(); ++i) {
            Eigen::Index top;
            p.row(i).maxCoeff(&top);
            total(i, top) += 1.0;
        }
    }
    if (used == 0)
        throw Error(ErrorKind::DataException, "the model holds no rows",
                    "Every row it was trained on has been deleted, or its shards are catching up after a DELETE "
                    "(unlearn.wait waits for them).");
    return total / used;
}

}  // namespace unlearn
