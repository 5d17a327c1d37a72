#pragma once
// CRC-64 with the ISO polynomial, as Go's hash/crc64 computes it: tar-split stores it (8
// bytes, big-endian) as the checksum of every file's content.
#include <cstdint>
#include <string>
#include <string_view>

namespace ovf::store::detail {

class Crc64Iso {
public:
    void update(std::string_view data);
    std::string big_endian_bytes() const;  // what Go's Sum(nil) returns

private:
    uint64_t crc_ = 0;
};

}  // namespace ovf::store::detail
