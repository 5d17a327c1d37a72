#include "fs_entries.hpp"

#include <dirent.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "overlayfuse/error.hpp"

namespace ovf::store::detail {

std::vector<std::string> sorted_names(const std::filesystem::path& dir) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) throw UserError(dir.string() + ": " + errno_text(errno));
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d.get())) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
    }
    if (errno) throw UserError(dir.string() + ": " + errno_text(errno));
    std::sort(names.begin(), names.end());
    return names;
}

struct stat lstat_or_throw(const std::filesystem::path& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) throw UserError(path.string() + ": " + errno_text(errno));
    return st;
}

std::map<std::string, std::string> read_xattrs(const std::filesystem::path& path) {
    std::map<std::string, std::string> out;
    ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
    if (n <= 0) return out;
    std::string names(static_cast<size_t>(n), '\0');
    n = ::llistxattr(path.c_str(), names.data(), names.size());
    if (n <= 0) return out;
    names.resize(static_cast<size_t>(n));
    for (size_t pos = 0; pos < names.size();) {
        std::string name = names.c_str() + pos;
        pos += name.size() + 1;
        ssize_t len = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
        if (len < 0) continue;
        std::string value(static_cast<size_t>(len), '\0');
        len = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
        if (len < 0) continue;
        value.resize(static_cast<size_t>(len));
        out.emplace(std::move(name), std::move(value));
    }
    return out;
}

bool is_overlay_xattr(const std::string& name) {
    for (const char* p : {"trusted.overlay.", "user.overlay.", "user.fuseoverlayfs."})
        if (name.rfind(p, 0) == 0) return true;
    return false;
}

bool has_opaque_xattr(const std::map<std::string, std::string>& xattrs) {
    for (const char* k : {"trusted.overlay.opaque", "user.overlay.opaque", "user.fuseoverlayfs.opaque"}) {
        auto it = xattrs.find(k);
        if (it != xattrs.end() && it->second == "y") return true;
    }
    return false;
}

}  // namespace ovf::store::detail
