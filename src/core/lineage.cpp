#include "lineage.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "bytes.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

namespace {
constexpr char kLineageMagic[4] = {'U', 'L', 'L', 'N'};
// Block kinds: 0 held keys in their text form (before 0.5.0, session
// dependent); 1 holds them in the canonical binary form src/pg encodes.
constexpr uint16_t kTextKeys = 0;
constexpr uint16_t kBinaryKeys = 1;
constexpr size_t kMaxKeyBytes = 1 << 20;
}  // namespace

int32_t bucket_count(int64_t rows) {
    int32_t b = 1;
    while (b < (1 << 20) && static_cast<int64_t>(b) * kKeysPerBlock < rows) b <<= 1;
    return b;
}

uint64_t key_hash(const std::string &key) { return hash64(key.data(), key.size()); }

// the high bits choose the bucket; the full hash orders keys inside it
int32_t bucket_of(uint64_t hash, int32_t buckets) {
    int bits = 0;
    while ((1 << bits) < buckets) ++bits;
    return bits == 0 ? 0 : static_cast<int32_t>(hash >> (64 - bits));
}

LineageEntry make_entry(std::string key, int32_t shard, int32_t slice, Role role) {
    uint64_t h = key_hash(key);
    return {std::move(key), h, shard, slice, role};
}

namespace {
bool before(const LineageEntry &a, uint64_t hash, const std::string &key) {
    return a.hash != hash ? a.hash < hash : a.key < key;
}
}  // namespace

int32_t shard_of(const std::string &key, int32_t shards, int64_t seed) {
    std::string salted = std::to_string(seed) + '\x1f' + key;
    return static_cast<int32_t>(hash64(salted.data(), salted.size()) % static_cast<uint64_t>(shards));
}

bool is_holdout(const std::string &key, double fraction, int64_t seed) {
    if (!(fraction > 0)) return false;
    std::string salted = std::to_string(seed) + '\x1d' + key;  // independent of shard and slice
    return static_cast<double>(hash64(salted.data(), salted.size()) >> 11) * 0x1.0p-53 < fraction;
}

LineageBlock::LineageBlock(std::vector<LineageEntry> entries) : entries_(std::move(entries)) {
    auto less = [](const LineageEntry &a, const LineageEntry &b) { return before(a, b.hash, b.key); };
    if (std::is_sorted(entries_.begin(), entries_.end(), less)) return;
    std::sort(entries_.begin(), entries_.end(),
              [](const LineageEntry &a, const LineageEntry &b) { return before(a, b.hash, b.key); });
}

std::vector<LineageEntry>::iterator LineageBlock::lower(uint64_t hash, const std::string &key) {
    return std::lower_bound(entries_.begin(), entries_.end(), key,
                            [hash](const LineageEntry &e, const std::string &k) { return before(e, hash, k); });
}

const LineageEntry *LineageBlock::find(const std::string &key) const {
    auto it = const_cast<LineageBlock *>(this)->lower(key_hash(key), key);
    return it != entries_.end() && it->key == key ? &*it : nullptr;
}

bool LineageBlock::remove(const std::string &key, LineageEntry *out) {
    auto it = lower(key_hash(key), key);
    if (it == entries_.end() || it->key != key) return false;
    if (out) *out = std::move(*it);
    entries_.erase(it);
    return true;
}

std::vector<Removal> LineageBlock::remove_many(const std::vector<std::string> &keys, const std::vector<size_t> &rows) {
    struct Wanted {
        uint64_t hash;
        const std::string *key;
        size_t row;
    };
    std::vector<Wanted> wanted;
    wanted.reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) wanted.push_back({key_hash(keys[i]), &keys[i], rows[i]});
    std::sort(wanted.begin(), wanted.end(), [](const Wanted &a, const Wanted &b) {
        return a.hash != b.hash ? a.hash < b.hash : *a.key < *b.key;
    });
    std::vector<Removal> found;
    size_t kept = 0, k = 0;
    for (size_t e = 0; e < entries_.size(); ++e) {
        const LineageEntry &cur = entries_[e];
        while (k < wanted.size() && (wanted[k].hash != cur.hash ? wanted[k].hash < cur.hash : *wanted[k].key < cur.key))
            ++k;
        if (k < wanted.size() && wanted[k].hash == cur.hash && *wanted[k].key == cur.key) {
            found.push_back({wanted[k].row, std::move(entries_[e])});
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
    e.hash = key_hash(e.key);
    auto it = lower(e.hash, e.key);
    if (it != entries_.end() && it->key == e.key) *it = std::move(e);
    else entries_.insert(it, std::move(e));
}

namespace {
// shard, slice and role packed in one varint, then the key: ~8 bytes for an
// integer key, which is what a DELETE rewrites
uint64_t packed_place(int32_t shard, int32_t slice, Role role) {
    return (static_cast<uint64_t>(shard) << 33) | (static_cast<uint64_t>(slice) << 1) | static_cast<uint64_t>(role);
}

size_t entry_size(std::string_view key, uint64_t place) {
    return ByteWriter::varint_size(place) + ByteWriter::varint_size(key.size()) + key.size();
}

uint8_t *put_entry(uint8_t *out, std::string_view key, uint64_t place) {
    out += ByteWriter::write_varint(out, place);
    out += ByteWriter::write_varint(out, key.size());
    std::memcpy(out, key.data(), key.size());
    return out + key.size();
}

// A block's blob: the entry count, then the entries, framed. Sized exactly
// first, so the entries are written in place (train encodes every key once).
template <typename It, typename KeyOf, typename PlaceOf>
std::vector<uint8_t> encode_entries(It first, It last, KeyOf key_of, PlaceOf place_of) {
    size_t bytes = sizeof(uint32_t);
    for (It it = first; it != last; ++it) bytes += entry_size(key_of(*it), place_of(*it));
    std::vector<uint8_t> blob(kFrameHeader + bytes);
    uint8_t *out = blob.data() + kFrameHeader;
    const auto n = static_cast<uint32_t>(last - first);
    std::memcpy(out, &n, sizeof n);
    out += sizeof n;
    for (It it = first; it != last; ++it) out = put_entry(out, key_of(*it), place_of(*it));
    seal_frame(blob, kLineageMagic, kBinaryKeys);
    return blob;
}
}  // namespace

std::vector<uint8_t> LineageBlock::encode() const {
    return encode_entries(
        entries_.begin(), entries_.end(), [](const LineageEntry &e) { return std::string_view(e.key); },
        [](const LineageEntry &e) { return packed_place(e.shard, e.slice, e.role); });
}

void KeyArena::reserve(size_t rows, size_t key_bytes) {
    refs.reserve(rows);
    bytes.reserve(key_bytes);
}

static_assert(sizeof(KeyArena::Ref) == 24, "a key ref is 24 bytes: see KeyArena");

void KeyArena::add(const std::string &key, int32_t shard, int32_t slice, Role role) {
    // refs address the arena with 32 bits
    if (bytes.size() + key.size() > UINT32_MAX)
        throw Error(ErrorKind::ResourceLimit, "the primary keys of the table take more than 4 GB",
                    "Train on a table with shorter keys, or on part of it.");
    refs.push_back({key_hash(key), static_cast<uint32_t>(bytes.size()), static_cast<uint32_t>(key.size()),
                    role == Role::Holdout, shard, slice});
    bytes += key;
}

std::vector<std::pair<int32_t, std::vector<uint8_t>>> KeyArena::encode_blocks(int32_t per, int32_t shards) const {
    std::vector<std::pair<int32_t, std::vector<uint8_t>>> blocks;
    encode_blocks(per, shards, [&](int32_t b, std::vector<uint8_t> &&blob) { blocks.emplace_back(b, std::move(blob)); });
    return blocks;
}

void KeyArena::encode_blocks(int32_t per, int32_t shards,
                             const std::function<void(int32_t, std::vector<uint8_t> &&)> &emit) const {
    auto bucket = [&](const Ref &r) { return shards > 0 ? shard_bucket(r.hash, r.shard, per) : bucket_of(r.hash, per); };
    const int32_t buckets = shards > 0 ? shards * per : per;
    // a counting pass groups refs by bucket; each bucket (~256 refs) is
    // then ordered in cache, comparing hashes and only rarely keys. The keys
    // are grouped with their refs: read in bucket order straight from the
    // arena, each key was a cache miss somewhere in it (~100 ms a million
    // keys); the copy is one more key arena, within memory.cpp's kKeyCopies.
    const size_t nb = static_cast<size_t>(buckets);
    std::vector<size_t> start(nb + 1, 0), byte_start(nb + 1, 0);
    for (const auto &r : refs) {
        const auto b = static_cast<size_t>(bucket(r));
        ++start[b + 1];
        byte_start[b + 1] += r.length;
    }
    for (size_t b = 1; b <= nb; ++b) {
        start[b] += start[b - 1];
        byte_start[b] += byte_start[b - 1];
    }
    // every slot is written by the scatter below: no value-initialisation
    BulkAllocator<Ref> ref_alloc;
    BulkAllocator<char> byte_alloc;
    const size_t n = refs.size(), key_bytes = byte_start[nb];
    const auto release_refs = [&](Ref *p) { ref_alloc.deallocate(p, n); };
    const auto release_bytes = [&](char *p) { byte_alloc.deallocate(p, key_bytes); };
    std::unique_ptr<Ref[], decltype(release_refs)> order(ref_alloc.allocate(n), release_refs);
    std::unique_ptr<char[], decltype(release_bytes)> grouped(byte_alloc.allocate(key_bytes), release_bytes);
    std::vector<size_t> fill(start.begin(), start.end() - 1), byte_fill(byte_start.begin(), byte_start.end() - 1);
    for (const auto &r : refs) {
        const auto b = static_cast<size_t>(bucket(r));
        Ref &to = order[fill[b]++];
        to = r;
        to.offset = static_cast<uint32_t>(byte_fill[b]);  // < 4 GB: add() checked the arena's size
        std::memcpy(grouped.get() + byte_fill[b], bytes.data() + r.offset, r.length);
        byte_fill[b] += r.length;
    }
    const auto key_of = [&](const Ref &r) { return std::string_view(grouped.get() + r.offset, r.length); };

    for (int32_t b = 0; b < buckets; ++b) {
        Ref *first = order.get() + start[static_cast<size_t>(b)];
        Ref *last = order.get() + start[static_cast<size_t>(b) + 1];
        if (first == last) continue;
        std::sort(first, last, [&](const Ref &x, const Ref &y) {
            return x.hash != y.hash ? x.hash < y.hash : key_of(x) < key_of(y);
        });
        // two rows with one key: every later DELETE of it would be ambiguous
        for (Ref *it = first + 1; it < last; ++it)
            if (it->hash == (it - 1)->hash && key_of(*it) == key_of(*(it - 1)))
                throw Error(ErrorKind::UniqueViolation, "two rows have the same primary key",
                            "A key is unique only within one table: rows of INHERITS children are read with their "
                            "parent's; make the key unique across them, or train on a table without such children.");
        emit(b, encode_entries(first, last, key_of,
                               [](const Ref &r) { return packed_place(r.shard, r.slice, r.role()); }));
    }
}

LineageBlock LineageBlock::decode(const uint8_t *data, size_t len) {
    uint16_t kind = 0;
    ByteReader r = unframe(data, len, kLineageMagic, &kind);
    // the kind is outside the checksum: a kind 0 block is old or corrupt, and unreadable either way
    if (kind == kTextKeys)
        throw Error(ErrorKind::CorruptState, "corrupt pg_unlearn blob: a lineage block in the text-key format of before 0.5.0",
                    "Run ALTER EXTENSION pg_unlearn UPDATE (it retrains every model), or unlearn.resync() the model.");
    if (kind != kBinaryKeys) ByteReader::fail("unknown lineage block kind");
    auto n = r.get<uint32_t>();
    constexpr size_t kMinEntry = 2;
    if (n > r.remaining() / kMinEntry) ByteReader::fail("entry count larger than the block");
    LineageBlock b;
    b.entries_.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        LineageEntry e;
        uint64_t packed = r.get_varint();
        if (packed >> 33 > 0x7fffffffULL) ByteReader::fail("shard out of range");
        e.shard = static_cast<int32_t>(packed >> 33);
        e.slice = static_cast<int32_t>((packed >> 1) & 0xffffffffULL);
        e.role = static_cast<Role>(packed & 1);
        if (e.slice < 0) ByteReader::fail("slice out of range");
        e.key = r.get_string(kMaxKeyBytes);
        e.hash = key_hash(e.key);
        if (!b.entries_.empty() && !before(b.entries_.back(), e.hash, e.key)) ByteReader::fail("keys out of order");
        b.entries_.push_back(std::move(e));
    }
    if (r.remaining()) ByteReader::fail("trailing bytes");
    return b;
}

}  // namespace unlearn
