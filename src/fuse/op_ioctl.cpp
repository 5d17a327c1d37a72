// ioctl: the inode flags (lsattr) of the object's top copy; nothing else applies here.
//
// The kernel sends every ioctl it does not handle itself: Python's isatty() on each file it
// opens (TCGETS), lsattr (FS_IOC_GETFLAGS, FS_IOC_FSGETXATTR through the VFS's fileattr
// calls). The kernel overlay answers the flag queries from the real inode and the rest with
// ENOTTY, as a plain file would; so do we. Setting flags (chattr) is not supported.
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops.hpp"

namespace ovf::fuse::ops {

void ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void*, fuse_file_info*, unsigned flags,
           const void*, size_t, size_t out_size) {
    bool get_flags = cmd == FS_IOC_GETFLAGS && out_size >= sizeof(int);
    bool get_fsx = cmd == FS_IOC_FSGETXATTR && out_size >= sizeof(fsxattr);
    merge::Node& n = node(req, ino);
    // Only files and directories: opening a device node's layer copy would open the device.
    if ((flags & FUSE_IOCTL_COMPAT) || !(get_flags || get_fsx) || !(n.type() == S_IFREG || n.is_dir())) {
        fuse_reply_err(req, ENOTTY);
        return;
    }
    int fd = engine(req).open(n, O_RDONLY | O_NONBLOCK | (n.is_dir() ? O_DIRECTORY : 0));
    if (fd < 0) {
        fuse_reply_err(req, -fd);
        return;
    }
    UniqueFd guard(fd);
    if (get_flags) {
        int value = 0;
        if (::ioctl(fd, FS_IOC_GETFLAGS, &value) != 0)
            fuse_reply_err(req, errno);
        else
            fuse_reply_ioctl(req, 0, &value, sizeof value);
    } else {
        fsxattr value{};
        if (::ioctl(fd, FS_IOC_FSGETXATTR, &value) != 0)
            fuse_reply_err(req, errno);
        else
            fuse_reply_ioctl(req, 0, &value, sizeof value);
    }
}

}  // namespace ovf::fuse::ops
