#include "upper.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "overlayfuse/error.hpp"
#include "overlayfuse/merge/markers.hpp"
#include "overlayfuse/sys.hpp"

namespace ovf::merge {

namespace {

int open_dir(const std::string& path, const char* what) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw UserError(std::string(what) + " " + path + ": " + errno_text(errno));
    return fd;
}

}  // namespace

Upper::Upper(const UpperSource& src) : src_(src) {
    UniqueFd upper(open_dir(src.upper, "upper directory"));
    UniqueFd work(open_dir(src.work, "work directory"));
    struct stat ust, wst;
    ::fstat(upper.get(), &ust);
    ::fstat(work.get(), &wst);
    if (ust.st_dev != wst.st_dev)
        throw UserError("work directory " + src.work + " is not on the filesystem of upper directory " +
                        src.upper);
    if (ust.st_ino == wst.st_ino) throw UserError("upper and work directory are the same: " + src.upper);
    if (::faccessat(upper.get(), ".", W_OK, AT_EACCESS) != 0)
        throw UserError("upper directory " + src.upper + " is not writable: " + errno_text(errno));
    if (::flock(work.get(), LOCK_EX | LOCK_NB) != 0)
        throw UserError("work directory " + src.work + " is in use by another mount");
    // Like the kernel, work happens in WORK/work, emptied at every mount: anything there
    // is what a crash interrupted, never visible in the view.
    if (int err = remove_tree(work.get(), "work"); err < 0 && err != -ENOENT)
        throw UserError("cannot clear " + src.work + "/work: " + errno_text(err));
    if (::mkdirat(work.get(), "work", 0700) != 0)
        throw UserError("cannot create " + src.work + "/work: " + errno_text(errno));
    int wfd = ::openat(work.get(), "work", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (wfd < 0) throw UserError("cannot open " + src.work + "/work: " + errno_text(errno));
    work_.reset(wfd);
    work_lock_ = std::move(work);

    // Ordinary users may create whiteout devices since Linux 5.8; where they may not, fall
    // back to ".wh.NAME" files, which only overlayfuse and fuse-overlayfs read.
    // The probe stays: it is the device whiteouts are linked to (make_whiteout).
    if (::mknodat(work_.get(), kSharedWhiteout, S_IFCHR | 0, makedev(0, 0)) != 0) device_whiteouts_ = false;
}

MarkerFormats Upper::read_formats(const MarkerFormats& lower) const {
    // One family of overlay xattrs, the one we write: like the kernel, "user.overlay.*" is an
    // ordinary xattr in a trusted-mode upper, and the other way round.
    MarkerFormats f;
    f.trusted_xattrs = lower.trusted_xattrs && !src_.user_xattrs;
    f.user_xattrs = src_.user_xattrs;
    f.aufs_files = !device_whiteouts_;
    f.xattr_whiteouts = false;  // the kernel reads those in lower layers only
    return f;
}

std::string Upper::xattr_name(std::string_view view_name) const {
    std::string_view own = src_.user_xattrs ? "user.overlay." : "trusted.overlay.";
    if (view_name.substr(0, own.size()) != own) return std::string(view_name);
    return std::string(own) + "overlay." + std::string(view_name.substr(own.size()));
}

Upper::~Upper() {
    if (work_) ::unlinkat(work_.get(), kSharedWhiteout, 0);
}

std::string Upper::temp_name() { return "#ovf" + std::to_string(::getpid()) + "." + std::to_string(counter_++); }

int Upper::make_whiteout(int dir_fd, const char* name) const {
    if (device_whiteouts_) {
        // Like the kernel overlay (ovl_whiteout), whiteouts are hard links of one device
        // kept in the work directory: a link costs no inode, and `rm -rf` of a lower tree
        // makes one whiteout per name. When the device is full of links (EMLINK) a new one
        // takes its place; if links are refused altogether, each whiteout is its own device.
        std::lock_guard lock(whiteout_mu_);
        for (int attempt = 0; attempt < 2 && shared_whiteout_; ++attempt) {
            if (::linkat(work_.get(), kSharedWhiteout, dir_fd, name, 0) == 0) return 0;
            int err = errno;
            if (err == EEXIST) return -EEXIST;
            if (err != ENOENT && err != EMLINK) {
                shared_whiteout_ = false;
                break;
            }
            ::unlinkat(work_.get(), kSharedWhiteout, 0);
            if (::mknodat(work_.get(), kSharedWhiteout, S_IFCHR | 0, makedev(0, 0)) != 0) shared_whiteout_ = false;
        }
        return ::mknodat(dir_fd, name, S_IFCHR | 0, makedev(0, 0)) == 0 ? 0 : -errno;
    }
    std::string wh = std::string(kAufsWhiteoutPrefix) + name;
    int fd = ::openat(dir_fd, wh.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0) return -errno;
    ::close(fd);
    return 0;
}

int Upper::set_opaque(int opath_fd) const {
    const char* name = src_.user_xattrs ? "user.overlay.opaque" : "trusted.overlay.opaque";
    std::string path = sys::proc_fd_path(opath_fd);
    if (::setxattr(path.c_str(), name, "y", 1, 0) == 0) return 0;
    // Without xattr support the marker file of the OCI form still makes it opaque for us.
    int err = errno;
    int fd = ::openat(opath_fd, std::string(kAufsOpaqueMarker).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0);
    if (fd < 0) return -err;
    ::close(fd);
    return 0;
}

int Upper::set_redirect(int opath_fd, const std::string& target) const {
    const char* name = src_.user_xattrs ? "user.overlay.redirect" : "trusted.overlay.redirect";
    std::string path = sys::proc_fd_path(opath_fd);
    return ::setxattr(path.c_str(), name, target.data(), target.size(), 0) == 0 ? 0 : -errno;
}

const char* Upper::impure_xattr() const {
    return src_.user_xattrs ? "user.overlay.impure" : "trusted.overlay.impure";
}

bool Upper::is_impure(int opath_fd) const {
    char v;
    return sys::getxattr_dir(opath_fd, impure_xattr(), &v, 1) == 1;
}

void Upper::set_impure(int opath_fd) const {
    if (is_impure(opath_fd)) return;
    ::setxattr(sys::proc_fd_path(opath_fd).c_str(), impure_xattr(), "y", 1, 0);  // best effort, as in the kernel
}

int Upper::remove_tree(int dir_fd, const char* name) {
    if (::unlinkat(dir_fd, name, 0) == 0) return 0;
    if (errno != EISDIR && errno != EPERM) return -errno;
    int fd = ::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -errno;
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return -errno;
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.emplace_back(e->d_name);
    }
    int err = 0;
    for (const auto& n : names)
        if (int r = remove_tree(::dirfd(d), n.c_str()); r < 0) err = r;
    ::closedir(d);
    if (err < 0) return err;
    return ::unlinkat(dir_fd, name, AT_REMOVEDIR) == 0 ? 0 : -errno;
}

}  // namespace ovf::merge
