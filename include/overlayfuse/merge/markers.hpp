#pragma once
// Recognising overlay markers inside layer directories. The rules follow the kernel's
// Documentation/filesystems/overlayfs.rst plus the OCI/AUFS file forms.
#include <sys/stat.h>

#include <string>
#include <string_view>

#include "overlayfuse/merge/layer.hpp"

namespace ovf::merge {

inline constexpr std::string_view kAufsWhiteoutPrefix = ".wh.";
inline constexpr std::string_view kAufsOpaqueMarker = ".wh..wh..opq";
// AUFS keeps its own bookkeeping under ".wh..wh." names (.wh..wh.plnk, .wh..wh.aufs).
inline constexpr std::string_view kAufsMetaPrefix = ".wh..wh.";

// A character device 0/0: the kernel's and Docker's whiteout.
inline bool is_whiteout_device(const struct stat& st) {
    return S_ISCHR(st.st_mode) && st.st_rdev == 0;
}

// What a directory's overlay.opaque xattr says.
enum class DirOpacity {
    merged,          // no marker: lower directories show through
    opaque,          // "y" (or a .wh..wh..opq file): lower directories are hidden
    has_xwhiteouts,  // "x": not opaque, but children may be xattr whiteouts
};

// What a directory's markers say about merging it with lower layers.
struct DirMarkers {
    DirOpacity opacity = DirOpacity::merged;
    // overlay.redirect: where the directory's lower copies are. Absolute ("/a/b": from the
    // layer roots) or a name in the same parent directory.
    std::string redirect;
};

// Reads the markers of directory OPATH_FD (O_PATH) in LAYER, in the encodings the layer uses
// (REL_PATH is its path inside the layer, for the markers recovered from tar headers).
DirMarkers dir_markers(const Layer& layer, int opath_fd, const std::string& rel_path);

// True if NAME in directory DIR_FD carries overlay.whiteout (callers check it is an empty
// regular file).
bool is_xattr_whiteout(int dir_fd, const char* name, const MarkerFormats& formats);

}  // namespace ovf::merge
