#pragma once
// Standard base64 (RFC 4648, with padding), as Go's encoding/json uses for []byte fields.
#include <optional>
#include <string>
#include <string_view>

namespace ovf::store::detail {

std::string base64_encode(std::string_view bytes);
// nullopt for text that is not valid padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace ovf::store::detail
