#pragma once
// Writing side of the fixture builder: files and directories with the modes Docker gives
// them. Internal to ovf_store; the reader never writes.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace ovf::store::detail {

// Creates DIR (and missing parents) and sets MODE on DIR itself if it was created.
void make_dir(const std::filesystem::path& dir, mode_t mode);

// Writes CONTENT exactly (no newline added), replacing the file atomically.
void write_file(const std::filesystem::path& path, std::string_view content, mode_t mode);

// "2024-04-12T09:39:39.123456789Z" for the current time.
std::string rfc3339_now();

// GOARCH-style name of this machine's architecture ("amd64", "arm64", ...).
std::string host_architecture();

}  // namespace ovf::store::detail
