#pragma once
// Whiteout and opaque markers of one layer, recovered from outside the layer directory (the
// layer's original tar headers). A reader without CAP_SYS_ADMIN cannot see trusted.* xattrs,
// so for it these are the only trustworthy record of which directories are opaque.
#include <string>
#include <unordered_set>

namespace ovf {

struct LayerMarkers {
    // Paths relative to the layer root, without leading "./" or "/"; "" is the root itself.
    std::unordered_set<std::string> opaque_dirs;  // held a ".wh..wh..opq" entry
    std::unordered_set<std::string> whiteouts;    // "dir/name" for a ".wh.name" entry in dir
};

}  // namespace ovf
