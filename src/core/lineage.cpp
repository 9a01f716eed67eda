#include "lineage.hpp"

#include <algorithm>

#include "bytes.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

namespace {
constexpr char kLineageMagic[4] = {'U', 'L', 'L', 'N'};
constexpr size_t kMaxKeyBytes = 1 << 20;
}  // namespace

int32_t bucket_count(int64_t rows) {
    int32_t b = 1;
    while (b < (1 << 20) && static_cast<int64_t>(b) * kKeysPerBlock < rows) b <<= 1;
    return b;
}

int32_t bucket_of(const std::string &key, int32_t buckets) {
    return static_cast<int32_t>(hash64(key.data(), key.size()) & static_cast<uint64_t>(buckets - 1));
}

int32_t shard_of(const std::string &key, int32_t shards, int64_t seed) {
    std::string salted = std::to_string(seed) + '\x1f' + key;
    return static_cast<int32_t>(hash64(salted.data(), salted.size()) % static_cast<uint64_t>(shards));
}

LineageBlock::LineageBlock(std::vector<LineageEntry> entries) : entries_(std::move(entries)) {
    std::sort(entries_.begin(), entries_.end(),
              [](const LineageEntry &a, const LineageEntry &b) { return a.key < b.key; });
}

std::vector<LineageEntry>::iterator LineageBlock::lower(const std::string &key) {
    return std::lower_bound(entries_.begin(), entries_.end(), key,
                            [](const LineageEntry &e, const std::string &k) { return e.key < k; });
}

const LineageEntry *LineageBlock::find(const std::string &key) const {
    auto it = const_cast<LineageBlock *>(this)->lower(key);
    return it != entries_.end() && it->key == key ? &*it : nullptr;
}

bool LineageBlock::remove(const std::string &key, LineageEntry *out) {
    auto it = lower(key);
    if (it == entries_.end() || it->key != key) return false;
    if (out) *out = std::move(*it);
    entries_.erase(it);
    return true;
}

std::vector<Removal> LineageBlock::remove_many(const std::vector<std::string> &keys, const std::vector<size_t> &rows) {
    std::vector<size_t> order(keys.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
    std::vector<Removal> found;
    size_t kept = 0, k = 0;
    for (size_t e = 0; e < entries_.size(); ++e) {
        while (k < order.size() && keys[order[k]] < entries_[e].key) ++k;
        if (k < order.size() && keys[order[k]] == entries_[e].key) {
            found.push_back({rows[order[k]], std::move(entries_[e])});
            ++k;
        } else {
            if (kept != e) entries_[kept] = std::move(entries_[e]);
            ++kept;
        }
    }
    entries_.resize(kept);
    return found;
}

void LineageBlock::insert(LineageEntry e) {
    auto it = lower(e.key);
    if (it != entries_.end() && it->key == e.key) *it = std::move(e);
    else entries_.insert(it, std::move(e));
}

std::vector<uint8_t> LineageBlock::encode() const {
    ByteWriter w;
    w.put<uint32_t>(static_cast<uint32_t>(entries_.size()));
    for (const auto &e : entries_) {
        w.put<int32_t>(e.shard);
        w.put<int32_t>(e.slice);
        w.put<uint8_t>(static_cast<uint8_t>(e.role));
        w.put_string(e.key);
    }
    return frame(kLineageMagic, 0, w.bytes());
}

LineageBlock LineageBlock::decode(const uint8_t *data, size_t len) {
    uint16_t kind = 0;
    ByteReader r = unframe(data, len, kLineageMagic, &kind);
    auto n = r.get<uint32_t>();
    constexpr size_t kMinEntry = 4 + 4 + 1 + 4;
    if (n > r.remaining() / kMinEntry) ByteReader::fail("entry count larger than the block");
    LineageBlock b;
    b.entries_.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        LineageEntry e;
        e.shard = r.get<int32_t>();
        e.slice = r.get<int32_t>();
        auto role = r.get<uint8_t>();
        if (role > static_cast<uint8_t>(Role::Holdout)) ByteReader::fail("unknown role");
        e.role = static_cast<Role>(role);
        e.key = r.get_string(kMaxKeyBytes);
        if (e.shard < 0 || e.slice < 0) ByteReader::fail("negative shard or slice");
        if (!b.entries_.empty() && !(b.entries_.back().key < e.key)) ByteReader::fail("keys out of order");
        b.entries_.push_back(std::move(e));
    }
    if (r.remaining()) ByteReader::fail("trailing bytes");
    return b;
}

}  // namespace unlearn
