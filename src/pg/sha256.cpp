#include "sha256.hpp"

#include <openssl/evp.h>

#include <cstdio>

#include "error.hpp"

namespace unlearn::pg {

namespace {
[[noreturn]] void failed() { throw Error(ErrorKind::Internal, "could not compute the state hash (OpenSSL SHA-256)"); }

// fetched once: an implicit fetch (EVP_sha256()) looks the provider up at
// every init; a failed fetch is tried again next time
const EVP_MD *sha256_md() {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    static EVP_MD *md = nullptr;
    if (!md) md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md;
#else
    return EVP_sha256();
#endif
}
}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
    const EVP_MD *md = sha256_md();
    if (!ctx_ || !md || EVP_DigestInit_ex(ctx_, md, nullptr) != 1) {
        EVP_MD_CTX_free(ctx_);
        failed();
    }
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::update(const void *data, size_t len) {
    if (EVP_DigestUpdate(ctx_, data, len) != 1) failed();
}

std::string Sha256::hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx_, digest, &n) != 1) failed();
    std::string out(2 * n, '0');
    for (unsigned int i = 0; i < n; ++i) std::snprintf(&out[2 * i], 3, "%02x", digest[i]);
    return out;
}

}  // namespace unlearn::pg
