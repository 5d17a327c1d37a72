// Copy-up: giving a lower object a copy in the upper layer before it changes. As in the
// kernel, parents go first; the copy is built in the work directory (owner, mode, xattrs,
// data, times) and renamed into place, so a crash never leaves a half-copied file visible.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "overlayfuse/merge/engine.hpp"
#include "overlayfuse/merge/xattr_names.hpp"
#include "overlayfuse/sys.hpp"
#include "upper.hpp"

namespace ovf::merge {

namespace {

// Data: a reflink where the filesystem shares extents; else copied in 1 MiB chunks with
// copy_file_range (sendfile where it cannot), skipping holes the way the kernel overlay does
// (ovl_copy_up_file): before each chunk, SEEK_DATA from where the copy stands, and a hole
// found there is left a hole. Holes inside a chunk are copied as zeros, as there. OUT gets
// SIZE at the end (a trailing hole).
int copy_data(int in, int out, off_t size) {
    if (::ioctl(out, FICLONE, in) == 0) return 0;
    constexpr off_t kChunk = 1 << 20;
    off_t pos = 0, data = -1;
    bool skip_holes = true, use_cfr = true;
    while (pos < size) {
        if (skip_holes && data < pos) {
            data = ::lseek(in, pos, SEEK_DATA);
            if (data > pos) {
                pos = std::min(data, size);
                continue;
            }
            if (data < 0 && errno == ENXIO) break;  // nothing but a hole to the end
            if (data < 0) skip_holes = false;
        }
        size_t chunk = static_cast<size_t>(std::min(size - pos, kChunk));
        ssize_t n;
        if (use_cfr) {
            off_t in_pos = pos, out_pos = pos;
            n = ::copy_file_range(in, &in_pos, out, &out_pos, chunk, 0);
            if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
                use_cfr = false;
                continue;
            }
        } else {
            off_t in_pos = pos;
            if (::lseek(out, pos, SEEK_SET) != pos) return -errno;
            n = ::sendfile(out, in, &in_pos, chunk);
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (n == 0) break;  // the lower file shrank under us: copy what there is
        pos += n;
    }
    if (::ftruncate(out, size) != 0) return -errno;
    return 0;
}

// Every xattr of SRC the view shows (overlay's own stay behind), by their layer names.
int copy_xattrs(const std::string& src, const std::string& dst) {
    std::string names;
    ssize_t n = ::listxattr(src.c_str(), nullptr, 0);
    if (n <= 0) return n < 0 && errno != ENOTSUP ? -errno : 0;
    names.resize(static_cast<size_t>(n));
    n = ::listxattr(src.c_str(), names.data(), names.size());
    if (n < 0) return -errno;
    names.resize(static_cast<size_t>(n));
    std::string value;
    for (size_t pos = 0; pos < names.size(); pos += std::strlen(names.data() + pos) + 1) {
        const char* name = names.data() + pos;
        if (!visible_xattr_name(name)) continue;
        ssize_t len = ::getxattr(src.c_str(), name, nullptr, 0);
        if (len < 0) continue;
        value.resize(static_cast<size_t>(len));
        len = ::getxattr(src.c_str(), name, value.data(), value.size());
        if (len < 0) continue;
        if (::setxattr(dst.c_str(), name, value.data(), static_cast<size_t>(len), 0) != 0) {
            // An ordinary user cannot set trusted.* or security.*: the kernel overlay skips
            // what the upper filesystem refuses in the same way.
            if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP) continue;
            return -errno;
        }
    }
    return 0;
}

// Builds WORK/TMP as a copy of the object SRC_FD (stat ST).
int build_copy(int src_fd, const struct stat& st, int work, const std::string& tmp, bool with_data) {
    const char* t = tmp.c_str();
    switch (st.st_mode & S_IFMT) {
        case S_IFREG: {
            int out = ::openat(work, t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (out < 0) return -errno;
            UniqueFd out_guard(out);
            if (with_data && st.st_size > 0) {
                int in = sys::reopen(src_fd, O_RDONLY | O_NOATIME);
                if (in == -EPERM) in = sys::reopen(src_fd, O_RDONLY);
                if (in < 0) return in == -ENOENT ? -EIO : in;
                UniqueFd in_guard(in);
                if (int err = copy_data(in, out, st.st_size); err < 0) return err;
            }
            if (::fsync(out) != 0) return -errno;
            break;
        }
        case S_IFDIR:
            if (::mkdirat(work, t, 0700) != 0) return -errno;
            break;
        case S_IFLNK: {
            std::string target;
            if (int err = sys::readlink_fd(src_fd, target); err < 0) return err;
            if (::symlinkat(target.c_str(), work, t) != 0) return -errno;
            break;
        }
        default:
            if (::mknodat(work, t, (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0) return -errno;
    }
    if (::fchownat(work, t, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) return -errno;
    // After chown, which clears set-id bits.
    if (!S_ISLNK(st.st_mode) && ::fchmodat(work, t, st.st_mode & 07777, 0) != 0) return -errno;
    std::string dst = sys::proc_fd_path(work) + "/" + tmp;
    if (int err = copy_xattrs(sys::proc_fd_path(src_fd), dst); err < 0) return err;
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(work, t, times, AT_SYMLINK_NOFOLLOW) != 0) return -errno;
    return 0;
}

}  // namespace

int Engine::copy_up(Node& node, bool with_data) {
    if (!writable()) return -EROFS;
    std::shared_ptr<const BranchList> branches;
    if (int err = stack(node, &branches); err < 0) return err;  // a directory keeps them all
    if (branches->front().layer == 0) return 0;
    std::shared_ptr<Node> parent;
    {
        std::lock_guard ns(ns_mu_);
        parent = node.parent_;
    }
    if (!parent) return -EIO;
    if (int err = copy_up(*parent); err < 0) return err;

    const Branch& src = branches->front();
    struct stat st;
    if (sys::fstat_fd(src.fd.get(), &st) < 0) return -EIO;
    int work = upper_->work_fd();
    std::string tmp = upper_->temp_name();
    // The copy is built without the namespace lock, so a large file does not stall other
    // operations; if another thread wins the race, its copy stays and ours is discarded.
    int err = build_copy(src.fd.get(), st, work, tmp, with_data);
    // The kernel records where a copy came from, except for a lower hard link: its copy
    // leaves the group, so the lower number is no longer its own.
    if (err == 0 && (S_ISDIR(st.st_mode) || st.st_nlink == 1)) set_origin(work, tmp, src);
    if (err < 0) {
        Upper::remove_tree(work, tmp.c_str());
        return err;
    }

    std::lock_guard ns(ns_mu_);
    if (node.branches()->front().layer == 0) {
        Upper::remove_tree(work, tmp.c_str());
        return 0;
    }
    if (!node.parent_) {  // unlinked meanwhile: nowhere to put it
        Upper::remove_tree(work, tmp.c_str());
        return -ENOENT;
    }
    auto pb = node.parent_->branches();
    int pfd = pb->front().fd.get();
    const std::string& name = node.name_;
    // Entering the copy changes the parent's times; the view must not see that (the kernel
    // puts them back too).
    struct stat pst;
    bool restore_times = sys::fstat_fd(pfd, &pst) == 0;
    if (::renameat2(work, tmp.c_str(), pfd, name.c_str(), RENAME_NOREPLACE) != 0) {
        err = -errno;
        Upper::remove_tree(work, tmp.c_str());
        return err == -EEXIST ? -EIO : err;
    }
    upper_->set_impure(pfd);
    if (restore_times) {
        struct timespec t[2] = {pst.st_atim, pst.st_mtim};
        ::utimensat(AT_FDCWD, sys::proc_fd_path(pfd).c_str(), t, 0);
    }
    int fd = sys::open_path(pfd, name.c_str());
    if (fd < 0) return -EIO;
    struct stat ust;
    sys::fstat_fd(fd, &ust);

    BranchList list;
    list.push_back({0, false, UniqueFd(fd), nullptr});
    if (node.is_dir()) {
        // The directory keeps merging its lower copies below the new upper one.
        for (const auto& b : *branches) list.push_back({b.layer, b.has_xwhiteouts, UniqueFd(::dup(b.fd.get())), b.where});
    }
    node.branches_.store(std::make_shared<const BranchList>(std::move(list)));
    {
        std::lock_guard lock(table_mu_);
        add_key(node, {ust.st_dev, ust.st_ino});
    }
    // A lower hard link leaves its group: without an index the kernel then reports the
    // upper file's own inode number (a lone file keeps the lower one).
    if (!node.is_dir() && st.st_nlink > 1) node.ino_ = map_ino(0, ust.st_ino);
    else keep_ino(node, node.branches()->front().fd.get());
    std::shared_ptr<Listing> pl;
    if (listing_rw(*node.parent_, &pl) == 0) {
        if (auto e = pl->find(name)) {
            e->layer = 0;
            e->ino = node.ino();
            e->covers_lower = true;
            e->lower_dirs.clear();
            for (size_t i = 1; node.is_dir() && i < node.branches()->size(); ++i)
                e->lower_dirs.push_back((*node.branches())[i].layer);
            pl->put(std::move(*e));
        }
    }
    attr_changed(node);
    return 0;
}

}  // namespace ovf::merge
