#pragma once
// What the mount command needs to know about the host before it mounts: mount points and
// the caller's privileges.
#include <optional>
#include <string>

namespace ovf::cli {

// The filesystem type mounted exactly at PATH ("fuse.overlayfuse", "overlay"...), from
// /proc/self/mountinfo; nullopt if PATH is not a mount point. PATH must be absolute and
// canonical.
std::optional<std::string> mounted_type(const std::string& path);

// Checks that MNT can take a new mount and returns its canonical path; throws UserError
// naming MNT if it is missing, not a directory, already a mount point, or not writable by
// an unprivileged caller.
std::string check_mount_point(const std::string& mnt);

// CAP_SYS_ADMIN in the effective set: needed to read trusted.* xattrs.
bool has_cap_sys_admin();

}  // namespace ovf::cli
