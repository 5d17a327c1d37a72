#pragma once
// One layer of a merged view: a directory, opened once, plus what is known of its markers.
#include <sys/types.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "overlayfuse/layer_markers.hpp"
#include "overlayfuse/unique_fd.hpp"

namespace ovf::merge {

// What the caller knows about a layer before it is opened.
struct LayerSource {
    std::string path;                             // the layer directory
    std::string label;                            // for messages, e.g. "layer 3 (sha256:ab12...)"
    std::shared_ptr<const LayerMarkers> markers;  // from the layer's tar headers, or null
    // Written by a kernel overlay as its upper (a container's own layer): only char 0/0 and
    // overlay xattrs are markers there; a file named ".wh.x" is just a file.
    bool upper_format = false;
};

// Which marker encodings the engine reads. All are on by default; the caller turns off what
// it cannot see (trusted.* without CAP_SYS_ADMIN) rather than merging wrongly.
struct MarkerFormats {
    bool trusted_xattrs = true;  // trusted.overlay.opaque / .whiteout (kernel, Docker as root)
    bool user_xattrs = true;     // user.overlay.*, user.fuseoverlayfs.opaque (rootless)
    bool aufs_files = true;      // ".wh.NAME" and ".wh..wh..opq" files (OCI tar form)
    bool xattr_whiteouts = true; // overlay.whiteout files in overlay.opaque=x dirs (lowers)
};

struct Layer {
    UniqueFd root;  // O_PATH|O_DIRECTORY
    MarkerFormats formats;
    dev_t dev = 0;
    ino_t ino = 0;  // of the root: the upper must neither hold nor sit in it
    std::string path;
    std::string label;
    std::shared_ptr<const LayerMarkers> markers;
    // markers->whiteouts grouped by directory ("" = root), so a listing finds its own fast.
    std::unordered_map<std::string, std::vector<std::string>> marker_whiteouts;
};

}  // namespace ovf::merge
