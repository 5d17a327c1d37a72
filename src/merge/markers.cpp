#include "overlayfuse/merge/markers.hpp"

#include <sys/xattr.h>

#include <cstring>

#include "overlayfuse/sys.hpp"

namespace ovf::merge {

namespace {

// Value of a small marker xattr ("y", "x"), or "" when absent or unreadable: an xattr the
// caller may not read (trusted.* without CAP_SYS_ADMIN) is excluded by MarkerFormats, not
// guessed at here.
std::string marker_value(int opath_fd, const char* name) {
    char buf[8];
    ssize_t n = sys::getxattr(opath_fd, name, buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

DirOpacity from_value(const std::string& v) {
    if (v == "y") return DirOpacity::opaque;
    if (v == "x") return DirOpacity::has_xwhiteouts;
    return DirOpacity::merged;
}

}  // namespace

DirOpacity dir_opacity(const Layer& layer, int opath_fd, const std::string& rel_path) {
    const MarkerFormats& formats = layer.formats;
    DirOpacity result = DirOpacity::merged;
    auto consider = [&](DirOpacity o) {
        if (o == DirOpacity::opaque || (o == DirOpacity::has_xwhiteouts &&
                                        result == DirOpacity::merged))
            result = o;
    };
    if (formats.trusted_xattrs) consider(from_value(marker_value(opath_fd, "trusted.overlay.opaque")));
    if (formats.user_xattrs) {
        consider(from_value(marker_value(opath_fd, "user.overlay.opaque")));
        if (marker_value(opath_fd, "user.fuseoverlayfs.opaque") == "y") consider(DirOpacity::opaque);
    }
    if (result == DirOpacity::has_xwhiteouts && !formats.xattr_whiteouts) result = DirOpacity::merged;
    if (result == DirOpacity::opaque) return result;
    if (formats.aufs_files) {
        struct stat st;
        if (sys::fstatat(opath_fd, std::string(kAufsOpaqueMarker).c_str(), &st) == 0)
            return DirOpacity::opaque;
    }
    if (layer.markers && layer.markers->opaque_dirs.count(rel_path)) return DirOpacity::opaque;
    return result;
}

bool is_xattr_whiteout(int dir_fd, const char* name, const MarkerFormats& formats) {
    int fd = sys::open_path(dir_fd, name);
    if (fd < 0) return false;
    UniqueFd guard(fd);
    char buf[1];
    auto has = [&](const char* xname) { return sys::getxattr(fd, xname, buf, 0) >= 0; };
    return (formats.trusted_xattrs && has("trusted.overlay.whiteout")) ||
           (formats.user_xattrs && has("user.overlay.whiteout"));
}

}  // namespace ovf::merge
