#include "overlayfuse/sys.hpp"

#include <errno.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>

#include <cstdint>
#include <cstdio>

// The *xattrat calls (Linux 6.13) share one number on every architecture; glibc 2.36 has
// neither wrappers nor numbers.
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif
#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif

namespace ovf::sys {

namespace {

struct XattrArgs {  // struct xattr_args of <linux/xattr.h>
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};

// Whether this kernel has getxattrat/listxattrat: asked once, never changes.
bool have_xattrat() {
    static const bool have = [] {
        errno = 0;
        long n = ::syscall(SYS_listxattrat, AT_FDCWD, "/", 0, nullptr, 0);
        return n >= 0 || errno != ENOSYS;
    }();
    return have;
}

ssize_t getxattrat(int dirfd, const char* path, int flags, const char* name, void* value, size_t size) {
    XattrArgs args{reinterpret_cast<uintptr_t>(value), static_cast<uint32_t>(size), 0};
    long n = ::syscall(SYS_getxattrat, dirfd, path, flags, name, &args, sizeof args);
    return n >= 0 ? n : -errno;
}

}  // namespace

std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::string resolved_dir_name(int fd, const std::string& path) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(proc_fd_path(fd).c_str(), buf, sizeof buf - 1);
    // "(unreachable)/x": outside this process's root, not a name to compare paths with.
    if (n > 0 && buf[0] == '/') return std::string(buf, static_cast<size_t>(n));
    return ::realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

int open_path(int dirfd, const char* name) {
    int fd = ::openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

int open_dir_path(int dirfd, const char* name) {
    int fd = ::openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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

ssize_t getxattr_dir(int dir_opath_fd, const char* name, void* value, size_t size) {
    // "." is looked up inside the directory, which needs search permission there; the /proc
    // path reaches the directory itself without that check.
    ssize_t n = have_xattrat() ? getxattrat(dir_opath_fd, ".", 0, name, value, size) : -ENOSYS;
    return n == -ENOSYS || n == -EACCES ? getxattr(dir_opath_fd, name, value, size) : n;
}

ssize_t listxattr_dir(int dir_opath_fd, char* list, size_t size) {
    long n = have_xattrat() ? ::syscall(SYS_listxattrat, dir_opath_fd, ".", 0, list, size) : -1;
    if (n >= 0) return n;
    return !have_xattrat() || errno == EACCES ? listxattr(dir_opath_fd, list, size) : -errno;
}

ssize_t getxattr_at(int dirfd, const char* file, const char* name, void* value, size_t size) {
    if (have_xattrat()) return getxattrat(dirfd, file, AT_SYMLINK_NOFOLLOW, name, value, size);
    int fd = open_path(dirfd, file);
    if (fd < 0) return fd;
    UniqueFd guard(fd);
    return getxattr(fd, name, value, size);
}

namespace {

template <typename Get>
int read_whole(Get get, std::string& out) {
    for (;;) {
        ssize_t n = get(nullptr, 0);
        if (n < 0) return static_cast<int>(n);
        out.resize(static_cast<size_t>(n));
        n = get(out.data(), out.size());
        if (n == -ERANGE) continue;  // grew in between
        if (n < 0) return static_cast<int>(n);
        out.resize(static_cast<size_t>(n));
        return 0;
    }
}

}  // namespace

int getxattr_string(int opath_fd, const char* name, std::string& out) {
    return read_whole([&](void* v, size_t n) { return getxattr(opath_fd, name, v, n); }, out);
}

int getxattr_string_dir(int dir_opath_fd, const char* name, std::string& out) {
    return read_whole([&](void* v, size_t n) { return getxattr_dir(dir_opath_fd, name, v, n); }, out);
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

std::optional<uint64_t> effective_caps(pid_t pid) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
    std::FILE* f = std::fopen(path, "re");
    if (!f) return std::nullopt;
    std::optional<uint64_t> caps;
    char line[256];
    unsigned long long v = 0;
    while (!caps && std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "CapEff: %llx", &v) == 1) caps = v;
    std::fclose(f);
    return caps;
}

}  // namespace ovf::sys
