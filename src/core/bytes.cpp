#include "bytes.hpp"
#include "no_postgres.hpp"  // last: the core must not have pulled in PostgreSQL

namespace unlearn {

namespace {
constexpr uint64_t kFnvPrime = 1099511628211ULL;
// murmur3's finaliser: a bijection that spreads every bit over all 64
uint64_t fmix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}
}  // namespace

uint64_t hash64(const void *data, size_t len) {
    const auto *p = static_cast<const uint8_t *>(data);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; ++i) {
        h ^= p[i];
        h *= kFnvPrime;
    }
    return fmix64(h);  // FNV alone mixes the last bytes poorly
}

namespace {
// word_sum64's lane step, xxHash64's round
constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL, kP2 = 0xC2B2AE3D27D4EB4FULL;  // xxHash64's primes (odd)
inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t sum_round(uint64_t acc, uint64_t w) { return rotl(acc + w * kP2, 31) * kP1; }  // a bijection of acc, and of w
}  // namespace

uint64_t word_sum64(const void *data, size_t len) {
    const auto *p = static_cast<const uint8_t *>(data);
    uint64_t lane[4] = {len + kP1, len + kP2, len, len - kP1};
    size_t i = 0;
    for (; i + 32 <= len; i += 32)
        for (int k = 0; k < 4; ++k) {
            uint64_t w;
            std::memcpy(&w, p + i + 8 * k, sizeof w);
            lane[k] = sum_round(lane[k], w);
        }
    uint64_t h = lane[0];
    for (int k = 1; k < 4; ++k) h = sum_round(h, lane[k]);
    for (; i < len; ++i) h = (h ^ p[i]) * kFnvPrime;  // the tail a byte at a time, as hash64
    return fmix64(h);
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
    const uint64_t sum = word_sum64(blob.data() + kFrameHeader, payload);
    const auto stored = static_cast<uint16_t>(format | kWordSumFlag);
    uint8_t *h = blob.data();
    std::memcpy(h, magic, 4);
    std::memcpy(h + 4, &stored, 2);
    std::memcpy(h + 6, &kind, 2);
    std::memcpy(h + 8, &len, 4);
    std::memcpy(h + 12, &sum, 8);
}

ByteReader unframe(const uint8_t *data, size_t len, const char magic[4], uint16_t *kind, uint16_t *format) {
    if (len < kFrameHeader) ByteReader::fail("shorter than its header");
    ByteReader r(data, len);
    for (int i = 0; i < 4; ++i)
        if (r.get<char>() != magic[i]) ByteReader::fail("wrong magic number (not a pg_unlearn blob)");
    const auto stored = r.get<uint16_t>();
    const auto f = static_cast<uint16_t>(stored & ~kWordSumFlag);
    if (format ? f < kFirstFormat || f > kLastFormat : f != kFirstFormat) ByteReader::fail("unknown format version");
    if (format) *format = f;
    *kind = r.get<uint16_t>();
    auto plen = r.get<uint32_t>();
    auto sum = r.get<uint64_t>();
    if (plen != r.remaining()) ByteReader::fail("payload length does not match");
    const uint64_t want = stored & kWordSumFlag ? word_sum64(r.position(), plen) : hash64(r.position(), plen);
    if (want != sum) ByteReader::fail("checksum mismatch");
    return r;
}

}  // namespace unlearn
