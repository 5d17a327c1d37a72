#pragma once
// Small filesystem helpers shared by the tar writer and the fixture builder: sorted
// directory listings and xattrs, on paths, never following symlinks.
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ovf::store::detail {

// Names in DIR, sorted bytewise like Go's filepath.Walk. Throws UserError.
std::vector<std::string> sorted_names(const std::filesystem::path& dir);

// lstat; throws UserError naming PATH.
struct stat lstat_or_throw(const std::filesystem::path& path);

// Every xattr of PATH (not following a symlink) that can be read; ones this process may not
// read (trusted.* without CAP_SYS_ADMIN) are simply absent, as for the kernel.
std::map<std::string, std::string> read_xattrs(const std::filesystem::path& path);

// Overlay's own markers, which a layer tar expresses as .wh. entries instead.
bool is_overlay_xattr(const std::string& name);

// The directory carries an opaque marker xattr with value "y".
bool has_opaque_xattr(const std::map<std::string, std::string>& xattrs);

}  // namespace ovf::store::detail
