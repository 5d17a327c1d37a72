#pragma once
// Thin syscall wrappers. Each returns a value >= 0 on success or -errno, never throws,
// so FUSE handlers can pass the result straight to the kernel.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "overlayfuse/unique_fd.hpp"

namespace ovf::sys {

// O_PATH handle of a single component NAME inside DIRFD, never following a symlink there:
// every path in a layer is walked this way, so nothing outside the layer can be reached.
int open_path(int dirfd, const char* name);
// The same, for a directory: -ENOTDIR when NAME is anything else (a symlink included).
int open_dir_path(int dirfd, const char* name);
// Reopens an O_PATH fd with real access flags (through /proc/self/fd, like passthrough_hp).
int reopen(int opath_fd, int flags);
int fstatat(int dirfd, const char* name, struct stat* st, int flags = AT_SYMLINK_NOFOLLOW);
int fstat_fd(int fd, struct stat* st);  // works for O_PATH fds too

// Extended attributes on an O_PATH fd (via /proc/self/fd, which also works for symlinks
// through the l* calls) or on NAME in DIRFD. Return size or -errno.
ssize_t getxattr(int opath_fd, const char* name, void* value, size_t size);
ssize_t listxattr(int opath_fd, char* list, size_t size);
// Reads a whole xattr into OUT; -ENODATA if absent.
int getxattr_string(int opath_fd, const char* name, std::string& out);
// The same calls for an O_PATH fd known to be a directory, and for NAME in DIRFD (never
// following a symlink there). On Linux 6.13 and later they are one getxattrat/listxattrat
// call without the /proc path walk; older kernels take the /proc path.
ssize_t getxattr_dir(int dir_opath_fd, const char* name, void* value, size_t size);
ssize_t listxattr_dir(int dir_opath_fd, char* list, size_t size);
int getxattr_string_dir(int dir_opath_fd, const char* name, std::string& out);
ssize_t getxattr_at(int dirfd, const char* file, const char* name, void* value, size_t size);
ssize_t readlinkat(int dirfd, const char* name, std::string& out);
int readlink_fd(int opath_fd, std::string& out);

// Path of an fd as /proc/self/fd/N, for the calls that have no *at() form.
std::string proc_fd_path(int fd);

// The absolute name of directory FD, opened from PATH, with every symlink and ".." resolved:
// the kernel's own name for FD (one readlink of /proc/self/fd/N), else realpath(PATH) (no
// /proc, or FD outside this process's root); "" if neither has one (errno says why).
std::string resolved_dir_name(int fd, const std::string& path);

// Thread PID's effective capabilities (CapEff in /proc/PID/status), bit n = capability n;
// nullopt when they cannot be read (no /proc, the thread is gone).
std::optional<uint64_t> effective_caps(pid_t pid);

}  // namespace ovf::sys
