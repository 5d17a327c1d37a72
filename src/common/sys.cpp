#include "overlayfuse/sys.hpp"

#include <errno.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace ovf::sys {

std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

int open_path(int dirfd, const char* name) {
    int fd = ::openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

int reopen(int opath_fd, int flags) {
    // O_NOFOLLOW must not be passed: the magic link itself is what we follow.
    int fd = ::open(proc_fd_path(opath_fd).c_str(), (flags & ~O_NOFOLLOW) | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

int fstatat(int dirfd, const char* name, struct stat* st, int flags) {
    return ::fstatat(dirfd, name, st, flags) == 0 ? 0 : -errno;
}

int fstat_fd(int fd, struct stat* st) {
    return ::fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

ssize_t getxattr(int opath_fd, const char* name, void* value, size_t size) {
    // Following the /proc magic link reaches exactly the object the O_PATH fd holds (a
    // symlink itself, not its target); lgetxattr would act on the magic link instead.
    ssize_t n = ::getxattr(proc_fd_path(opath_fd).c_str(), name, value, size);
    return n >= 0 ? n : -errno;
}

ssize_t listxattr(int opath_fd, char* list, size_t size) {
    ssize_t n = ::listxattr(proc_fd_path(opath_fd).c_str(), list, size);
    return n >= 0 ? n : -errno;
}

int getxattr_string(int opath_fd, const char* name, std::string& out) {
    for (;;) {
        ssize_t n = getxattr(opath_fd, name, nullptr, 0);
        if (n < 0) return static_cast<int>(n);
        out.resize(static_cast<size_t>(n));
        n = getxattr(opath_fd, name, out.data(), out.size());
        if (n == -ERANGE) continue;  // grew in between
        if (n < 0) return static_cast<int>(n);
        out.resize(static_cast<size_t>(n));
        return 0;
    }
}

ssize_t readlinkat(int dirfd, const char* name, std::string& out) {
    out.resize(256);
    for (;;) {
        ssize_t n = ::readlinkat(dirfd, name, out.data(), out.size());
        if (n < 0) return -errno;
        if (static_cast<size_t>(n) < out.size()) {
            out.resize(static_cast<size_t>(n));
            return n;
        }
        out.resize(out.size() * 2);
    }
}

int readlink_fd(int opath_fd, std::string& out) {
    ssize_t n = readlinkat(opath_fd, "", out);
    return n < 0 ? static_cast<int>(n) : 0;
}

}  // namespace ovf::sys
