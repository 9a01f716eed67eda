// SHA-256 of the audit's state hashes, through OpenSSL's EVP interface (the
// library the server is built with): the digest is fetched from its
// provider once per backend. The server's pg_cryptohash fetched it and
// registered a resource owner entry on every use, which cost a single-row
// DELETE of a summation model more than hashing its few hundred bytes.
#pragma once

#include <cstddef>
#include <string>

struct evp_md_ctx_st;

namespace unlearn::pg {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256 &) = delete;
    Sha256 &operator=(const Sha256 &) = delete;
    void update(const void *data, size_t len);
    // The digest of everything given, in lower-case hex (as encode(sha256(...),
    // 'hex') gives it); the object is spent after it.
    std::string hex();

private:
    evp_md_ctx_st *ctx_;
};

}  // namespace unlearn::pg
