#include "bytes.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

uint64_t hash64(const void *data, size_t len) {
    const auto *p = static_cast<const uint8_t *>(data);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; ++i) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    // murmur3's fmix64: FNV alone mixes the last bytes poorly
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

std::vector<uint8_t> frame(const char magic[4], uint16_t kind, const std::vector<uint8_t> &payload,
                           uint16_t format) {
    std::vector<uint8_t> blob(kFrameHeader + payload.size());
    if (!payload.empty()) std::memcpy(blob.data() + kFrameHeader, payload.data(), payload.size());
    seal_frame(blob, magic, kind, format);
    return blob;
}

void seal_frame(std::vector<uint8_t> &blob, const char magic[4], uint16_t kind, uint16_t format) {
    const size_t payload = blob.size() - kFrameHeader;
    const uint32_t len = static_cast<uint32_t>(payload);
    const uint64_t sum = hash64(blob.data() + kFrameHeader, payload);
    uint8_t *h = blob.data();
    std::memcpy(h, magic, 4);
    std::memcpy(h + 4, &format, 2);
    std::memcpy(h + 6, &kind, 2);
    std::memcpy(h + 8, &len, 4);
    std::memcpy(h + 12, &sum, 8);
}

ByteReader unframe(const uint8_t *data, size_t len, const char magic[4], uint16_t *kind, uint16_t *format) {
    if (len < kFrameHeader) ByteReader::fail("shorter than its header");
    ByteReader r(data, len);
    for (int i = 0; i < 4; ++i)
        if (r.get<char>() != magic[i]) ByteReader::fail("wrong magic number (not a pg_unlearn blob)");
    const auto f = r.get<uint16_t>();
    if (format ? f < kFirstFormat || f > kLastFormat : f != kFirstFormat) ByteReader::fail("unknown format version");
    if (format) *format = f;
    *kind = r.get<uint16_t>();
    auto plen = r.get<uint32_t>();
    auto sum = r.get<uint64_t>();
    if (plen != r.remaining()) ByteReader::fail("payload length does not match");
    if (hash64(r.position(), plen) != sum) ByteReader::fail("checksum mismatch");
    return r;
}

}  // namespace unlearn
