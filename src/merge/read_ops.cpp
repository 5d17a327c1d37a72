// Reading merged objects: link targets, extended attributes, filesystem statistics.
// Everything comes from the topmost copy.
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "overlayfuse/merge/engine.hpp"
#include "overlayfuse/merge/xattr_names.hpp"
#include "overlayfuse/sys.hpp"

namespace ovf::merge {

int Engine::readlink(const Node& node, std::string& target) const {
    if (node.type() != S_IFLNK) return -EINVAL;
    int err = sys::readlink_fd(node.branches()->front().fd.get(), target);
    return err == -ENOENT ? -EIO : err;
}

int Engine::statfs(struct statvfs* st) const {
    // The upper's filesystem when there is one (that is where writes go), as the kernel does.
    // fstatfs works on O_PATH descriptors (Linux 3.12 and later).
    return ::fstatvfs(layers_.front().root.get(), st) == 0 ? 0 : -errno;
}

ssize_t Engine::getxattr(const Node& node, const char* name, void* value, size_t size) const {
    auto layer_name = layer_xattr_name(name);
    if (!layer_name) return -ENODATA;
    auto get = node.is_dir() ? sys::getxattr_dir : sys::getxattr;
    ssize_t n = get(node.branches()->front().fd.get(), layer_name->c_str(), value, size);
    return n == -ENOENT ? -EIO : n;
}

ssize_t Engine::listxattr(const Node& node, char* list, size_t size) const {
    auto branches = node.branches();
    int fd = branches->front().fd.get();
    auto list_names = node.is_dir() ? sys::listxattr_dir : sys::listxattr;
    std::string raw;
    for (;;) {
        ssize_t n = list_names(fd, nullptr, 0);
        if (n < 0) return n == -ENOENT ? -EIO : n;
        raw.resize(static_cast<size_t>(n));
        if (n == 0) break;
        n = list_names(fd, raw.data(), raw.size());
        if (n == -ERANGE) continue;
        if (n < 0) return n;
        raw.resize(static_cast<size_t>(n));
        break;
    }
    std::string visible;
    for (size_t pos = 0; pos < raw.size();) {
        size_t len = std::strlen(raw.data() + pos);
        if (auto v = visible_xattr_name(std::string_view(raw.data() + pos, len))) {
            visible += *v;
            visible.push_back('\0');
        }
        pos += len + 1;
    }
    if (size == 0) return static_cast<ssize_t>(visible.size());
    if (visible.size() > size) return -ERANGE;
    std::memcpy(list, visible.data(), visible.size());
    return static_cast<ssize_t>(visible.size());
}

}  // namespace ovf::merge
