#pragma once
#include <string>
#include <string_view>

namespace ovf {

// Lower-case hex SHA-256 of DATA.
std::string sha256_hex(std::string_view data);

// Streaming form for files and tar streams.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, size_t len);
    std::string hex_digest();  // finishes the hash

private:
    struct Impl;
    Impl* impl_;
};

}  // namespace ovf
