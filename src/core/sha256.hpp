// SHA-256 (FIPS 180-4), streaming: the audit's state hashes. The server's
// own (pg_cryptohash, through OpenSSL) fetches the digest from its provider
// and registers a resource per use, which cost a single-row DELETE more than
// hashing its few hundred bytes of state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace unlearn {

class Sha256 {
public:
    Sha256();
    void update(const void *data, size_t len);
    // The digest of everything given; the object is spent after it.
    std::array<uint8_t, 32> digest();
    // digest() in lower-case hex, as encode(sha256(...), 'hex') gives it.
    std::string hex();

private:
    void block(const uint8_t *p);
    std::array<uint32_t, 8> h_;
    std::array<uint8_t, 64> buf_{};
    size_t buffered_ = 0;
    uint64_t total_ = 0;  // bytes
};

}  // namespace unlearn
