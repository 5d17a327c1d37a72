#pragma once
// Fills a layer's diff directory from a layer directory the way Docker's untar
// (pkg/archive Unpack with the overlay whiteout converter) would fill it from that layer's
// tar: same names, contents, modes, owners, whole-second mtimes, hard links and xattrs, with
// the markers rewritten into FORM.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "overlayfuse/store/store_builder.hpp"

namespace ovf::store::detail {

// DST exists and is empty. FORM is kernel or aufs_files. What cannot be reproduced by this
// process is appended to NOTES.
void copy_layer_dir(const std::filesystem::path& src, const std::filesystem::path& dst,
                    MarkerForm form, std::vector<std::string>& notes);

// Docker's pkg/directory.Size: bytes of all non-directories, each inode once.
int64_t layer_size(const std::filesystem::path& dir);

// Whether this process can create kernel-form markers inside DIR (probes and cleans up).
bool can_write_kernel_markers(const std::filesystem::path& dir);

}  // namespace ovf::store::detail
