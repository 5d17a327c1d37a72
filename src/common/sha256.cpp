#include "overlayfuse/sha256.hpp"

// The one-algorithm interface, not EVP: the binary links libcrypto statically, and EVP's
// provider machinery pulls every algorithm in (2 MiB of code, 450 KB of relocated tables
// that each start of the daemon copies into its own memory). SHA-256 of image configs and
// layer chains never needs another provider.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace ovf {

struct Sha256::Impl {
    SHA256_CTX ctx;
};

Sha256::Sha256() : impl_(new Impl) { SHA256_Init(&impl_->ctx); }

Sha256::~Sha256() { delete impl_; }

void Sha256::update(const void* data, size_t len) { SHA256_Update(&impl_->ctx, data, len); }

std::string Sha256::hex_digest() {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Final(md, &impl_->ctx);
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(2 * sizeof md);
    for (unsigned char b : md) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0xf]);
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    Sha256 h;
    h.update(data.data(), data.size());
    return h.hex_digest();
}

}  // namespace ovf
