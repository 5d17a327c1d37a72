#pragma once
// The daemon's last resort for a reference: a hex prefix of exactly one image id
// (image/store.go Search, digestset.Lookup).
#include <string>
#include <vector>

#include "store_paths.hpp"

namespace ovf::store::detail {

// The ids ("sha256:<hex>") that start with TEXT (optionally "sha256:"-prefixed, any length
// >= 1, lower-case hex only). Empty when TEXT is not such a prefix.
std::vector<std::string> ids_with_prefix(const StorePaths& paths, const std::string& text);

}  // namespace ovf::store::detail
