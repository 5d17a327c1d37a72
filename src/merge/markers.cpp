#include "overlayfuse/merge/markers.hpp"

#include <sys/xattr.h>

#include <cstring>

#include "overlayfuse/sys.hpp"

namespace ovf::merge {

namespace {

DirOpacity from_value(const std::string& v) {
    if (v == "y") return DirOpacity::opaque;
    if (v == "x") return DirOpacity::has_xwhiteouts;
    return DirOpacity::merged;
}

bool has_name(const std::string& list, std::string_view name) {
    for (size_t pos = 0; pos < list.size(); pos += std::strlen(list.data() + pos) + 1)
        if (name == list.data() + pos) return true;
    return false;
}

}  // namespace

DirMarkers dir_markers(const Layer& layer, int opath_fd, const std::string& rel_path) {
    const MarkerFormats& f = layer.formats;
    DirMarkers m;
    // One listxattr answers for most directories (they have no xattrs at all). An xattr the
    // caller may not read (trusted.* without CAP_SYS_ADMIN) is not listed either; the
    // caller turned that format off rather than guess.
    std::string names(1024, '\0');
    ssize_t n = sys::listxattr_dir(opath_fd, names.data(), names.size());
    if (n == -ERANGE) {
        n = sys::listxattr_dir(opath_fd, nullptr, 0);
        if (n > 0) {
            names.resize(static_cast<size_t>(n));
            n = sys::listxattr_dir(opath_fd, names.data(), names.size());
        }
    }
    names.resize(n > 0 ? static_cast<size_t>(n) : 0);
    auto read = [&](const char* name) {
        std::string v;
        if (has_name(names, name)) sys::getxattr_string_dir(opath_fd, name, v);
        return v;
    };
    auto consider = [&](DirOpacity o) {
        if (o == DirOpacity::opaque || (o == DirOpacity::has_xwhiteouts && m.opacity == DirOpacity::merged))
            m.opacity = o;
    };
    if (!names.empty()) {
        if (f.trusted_xattrs) {
            consider(from_value(read("trusted.overlay.opaque")));
            m.redirect = read("trusted.overlay.redirect");
        }
        if (f.user_xattrs) {
            consider(from_value(read("user.overlay.opaque")));
            if (read("user.fuseoverlayfs.opaque") == "y") consider(DirOpacity::opaque);
            if (m.redirect.empty()) m.redirect = read("user.overlay.redirect");
        }
    }
    if (m.opacity == DirOpacity::has_xwhiteouts && !f.xattr_whiteouts) m.opacity = DirOpacity::merged;
    if (m.opacity == DirOpacity::opaque) return m;
    if (f.aufs_files) {
        struct stat st;
        if (sys::fstatat(opath_fd, std::string(kAufsOpaqueMarker).c_str(), &st) == 0) m.opacity = DirOpacity::opaque;
    }
    if (layer.markers && layer.markers->opaque_dirs.count(rel_path)) m.opacity = DirOpacity::opaque;
    return m;
}

bool is_xattr_whiteout(int dir_fd, const char* name, const MarkerFormats& formats) {
    auto has = [&](const char* xname) { return sys::getxattr_at(dir_fd, name, xname, nullptr, 0) >= 0; };
    return (formats.trusted_xattrs && has("trusted.overlay.whiteout")) ||
           (formats.user_xattrs && has("user.overlay.whiteout"));
}

}  // namespace ovf::merge
