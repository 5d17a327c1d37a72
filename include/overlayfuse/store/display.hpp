#pragma once
// How the `images` and `inspect` commands show store data: the same units and layout as the
// docker CLI (github.com/docker/go-units, text/tabwriter), so outputs can be compared.
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace ovf::store {

// "sha256:0123456789abcdef..." -> "0123456789ab".
std::string short_id(const std::string& id);

// Decimal units with 3 significant digits, as `docker images`: "512B", "5.58kB", "44.2MB".
std::string human_size(int64_t bytes);

// Seconds since the Unix epoch of an RFC 3339 time ("2024-04-12T09:39:39.123Z",
// "...+02:00"); nullopt if TEXT is not one.
std::optional<int64_t> parse_rfc3339(const std::string& text);

// go-units HumanDuration: "Less than a second", "About a minute", "3 months", ...
std::string human_duration(int64_t seconds);

// "3 months ago" for an RFC 3339 time, relative to NOW; "N/A" if unknown.
std::string created_since(const std::string& created, std::time_t now);

// Rows laid out as the docker CLI's tabwriter does (min width 10, padding 3); the first row
// is the header. Ends with a newline.
std::string format_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace ovf::store
