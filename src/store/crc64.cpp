#include "crc64.hpp"

#include <array>

namespace ovf::store::detail {

namespace {

constexpr uint64_t kIsoPoly = 0xD800000000000000ULL;  // reversed x^64 + x^4 + x^3 + x + 1

constexpr std::array<uint64_t, 256> make_table() {
    std::array<uint64_t, 256> t{};
    for (uint64_t i = 0; i < 256; ++i) {
        uint64_t crc = i;
        for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ kIsoPoly : crc >> 1;
        t[i] = crc;
    }
    return t;
}

constexpr auto kTable = make_table();

}  // namespace

void Crc64Iso::update(std::string_view data) {
    uint64_t crc = ~crc_;
    for (unsigned char c : data) crc = kTable[static_cast<uint8_t>(crc) ^ c] ^ (crc >> 8);
    crc_ = ~crc;
}

std::string Crc64Iso::big_endian_bytes() const {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(crc_ >> (56 - 8 * i));
    return out;
}

}  // namespace ovf::store::detail
