#pragma once
// Reading the small files of a Docker store (cache-id, diff, link, lower, ...) and checking
// that what they name cannot lead outside the store. Internal to ovf_store.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ovf::store::detail {

// Whole content of PATH, or nullopt if it does not exist. Any other failure (permission,
// a directory where a file should be) throws UserError naming PATH.
std::optional<std::string> read_file_if_exists(const std::filesystem::path& path);

// Whole content of PATH; a missing file throws UserError "PREFIX: missing PATH".
std::string read_file(const std::filesystem::path& path, const std::string& context);

// Docker writes these files without a newline, but its own readers trim, so we do too.
std::string trimmed(std::string_view s);

// A name that is safe to append to a store directory: [A-Za-z0-9_-]+ (so never "." or "..",
// never a '/').
bool is_plain_name(std::string_view s);

// The link names in an overlay2 "lower" file ("l/A:l/B" -> {"A", "B"}); nullopt if any
// component is not "l/" + a plain name.
std::optional<std::vector<std::string>> parse_lower(std::string_view s);

bool is_hex(std::string_view s);
bool is_hex64(std::string_view s);
// "sha256:" + 64 lower-case hex.
bool is_sha256_digest(std::string_view s);
// "sha256:abc..." -> "abc..."; a string without the prefix is returned as is.
std::string_view strip_sha256(std::string_view s);

// Parses PATH as JSON; invalid JSON throws UserError "CONTEXT: PATH: invalid JSON (...)".
nlohmann::json read_json(const std::filesystem::path& path, const std::string& context);

// "image 'x'" style prefix for messages, quoting the user's text.
std::string in_quotes(std::string_view s);

}  // namespace ovf::store::detail
