// Data writes and syncs go straight to the upper file the handle holds.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "ops.hpp"

namespace ovf::fuse::ops {

void write_buf(fuse_req_t req, fuse_ino_t, fuse_bufvec* in, off_t off, fuse_file_info* fi) {
    fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
    out.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    out.buf[0].fd = static_cast<int>(fi->fh);
    out.buf[0].pos = off;
    ssize_t n = fuse_buf_copy(&out, in, FUSE_BUF_SPLICE_NONBLOCK);
    if (n < 0)
        fuse_reply_err(req, static_cast<int>(-n));
    else
        fuse_reply_write(req, static_cast<size_t>(n));
}

void flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    if (ctx(req).no_open) {  // no descriptor of ours behind the file: stop FLUSH altogether
        fuse_reply_err(req, ENOSYS);
        return;
    }
    // close() of a duplicate: what a close on a local file would do (POSIX locks, NFS-style
    // write-back errors), without closing the handle itself.
    int dup = ::dup(static_cast<int>(fi->fh));
    int err = dup < 0 ? errno : (::close(dup) == 0 ? 0 : errno);
    fuse_reply_err(req, err);
}

void fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
    int fd = static_cast<int>(fi->fh);
    std::shared_ptr<const UniqueFd> held;
    if (fi->fh == kDeferredFh) {
        // As the kernel overlay: a lower file is never synced; a copied-up one is, through
        // any descriptor (the file may have been copied up since this open).
        merge::Node& n = node(req, ino);
        if (n.branches()->front().layer != 0) {
            fuse_reply_err(req, 0);
            return;
        }
        if (int err = ctx(req).read_fds.get(engine(req), n, held); err < 0) {
            reply_status(req, err);
            return;
        }
        fd = held->get();
    }
    int r = datasync ? ::fdatasync(fd) : ::fsync(fd);
    fuse_reply_err(req, r == 0 ? 0 : errno);
}

void fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
    auto b = node(req, ino).branches();
    if (b->front().layer != 0 || !engine(req).writable()) {
        fuse_reply_err(req, 0);  // nothing of ours to sync: lowers never change
        return;
    }
    int fd = ::openat(b->front().fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = fd < 0 ? -1 : (datasync ? ::fdatasync(fd) : ::fsync(fd));
    int err = r == 0 ? 0 : errno;
    if (fd >= 0) ::close(fd);
    fuse_reply_err(req, err);
}

void fallocate(fuse_req_t req, fuse_ino_t, int mode, off_t offset, off_t length, fuse_file_info* fi) {
    int r = ::fallocate(static_cast<int>(fi->fh), mode, offset, length);
    fuse_reply_err(req, r == 0 ? 0 : errno);
}

}  // namespace ovf::fuse::ops
