#pragma once
// Reading /proc/self/mountinfo: the mount command checks mount points with it, and the
// daemon finds its own mount's device there (a stat of its mount point would ask itself).
#include <optional>
#include <string>

namespace ovf {

struct MountEntry {
    std::string device;  // "major:minor", as in /sys/class/bdi/<device>
    std::string fstype;  // "fuse.overlayfuse", "overlay", ...
};

// The mount exactly at PATH that is listed last (the one on top); nullopt if PATH is not a
// mount point. PATH must be absolute and canonical.
std::optional<MountEntry> mount_at(const std::string& path);

}  // namespace ovf
