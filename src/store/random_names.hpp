#pragma once
// The random names Docker gives layers: 64-hex ids (stringid.GenerateRandomID) for cache,
// mount and container ids, and 26-character base32 short links (overlay2 generateID).
#include <string>

namespace ovf::store::detail {

std::string random_hex_id();   // 64 hex digits, from /dev/urandom
std::string random_link_id();  // 26 of [A-Z2-7]

}  // namespace ovf::store::detail
