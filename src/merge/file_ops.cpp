// Opening files and changing attributes: anything that writes copies the object up first.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

#include "overlayfuse/merge/engine.hpp"
#include "overlayfuse/merge/xattr_names.hpp"
#include "overlayfuse/sys.hpp"
#include "upper.hpp"

namespace ovf::merge {

int Engine::open(Node& node, int flags) {
    bool write = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    if (write) {
        if (!writable()) return -EROFS;
        // Truncated right away: its old data need not be copied.
        if (int err = copy_up(node, !(flags & O_TRUNC)); err < 0) return err;
    }
    int keep = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW);
    int fd = node.branches()->front().fd.get();
    if (!write) {
        // Reading a lower file must not touch its atime (the kernel overlay opens with
        // O_NOATIME too); only the file's owner or CAP_FOWNER may ask for it.
        int r = sys::reopen(fd, keep | O_NOATIME);
        if (r != -EPERM) return r == -ENOENT ? -EIO : r;
    }
    int r = sys::reopen(fd, keep);
    return r == -ENOENT ? -EIO : r;
}

int Engine::setattr(Node& node, const AttrChange& c, int fd, struct stat* out) {
    if (!writable()) return -EROFS;
    bool emptied = c.size && *c.size == 0 && !c.mode && !c.uid && !c.gid;
    if (int err = copy_up(node, !emptied); err < 0) return err;
    int ufd = node.branches()->front().fd.get();
    std::string path = sys::proc_fd_path(ufd);
    if (c.uid || c.gid) {
        if (::fchownat(ufd, "", c.uid ? *c.uid : static_cast<uid_t>(-1),
                       c.gid ? *c.gid : static_cast<gid_t>(-1), AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
            return -errno;
    }
    if (c.mode && node.type() != S_IFLNK && ::chmod(path.c_str(), *c.mode & 07777) != 0) return -errno;
    if (c.size) {
        int r = fd >= 0 ? ::ftruncate(fd, *c.size) : ::truncate(path.c_str(), *c.size);
        if (r != 0) return -errno;
    }
    if (c.atime || c.mtime) {
        struct timespec t[2];
        t[0] = c.atime ? *c.atime : timespec{0, UTIME_OMIT};
        t[1] = c.mtime ? *c.mtime : timespec{0, UTIME_OMIT};
        if (::utimensat(AT_FDCWD, path.c_str(), t, 0) != 0) return -errno;
    }
    return getattr(node, out);
}

int Engine::setxattr(Node& node, const char* name, const void* value, size_t size, int flags) {
    if (!writable()) return -EROFS;
    if (int err = copy_up(node); err < 0) return err;
    std::string path = sys::proc_fd_path(node.branches()->front().fd.get());
    std::string stored = upper_->xattr_name(name);
    return ::setxattr(path.c_str(), stored.c_str(), value, size, flags) == 0 ? 0 : -errno;
}

int Engine::removexattr(Node& node, const char* name) {
    if (!writable()) return -EROFS;
    std::string stored = upper_->xattr_name(name);
    // Nothing to remove is no reason to copy up (a lower copy stores it the same way).
    if (sys::getxattr(node.branches()->front().fd.get(), stored.c_str(), nullptr, 0) < 0) return -ENODATA;
    if (int err = copy_up(node); err < 0) return err;
    std::string path = sys::proc_fd_path(node.branches()->front().fd.get());
    return ::removexattr(path.c_str(), stored.c_str()) == 0 ? 0 : -errno;
}

}  // namespace ovf::merge
