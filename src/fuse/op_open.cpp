#include <fcntl.h>
#include <unistd.h>

#include "ops.hpp"

namespace ovf::fuse::ops {

void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    if (ctx(req).no_open) {
        fuse_reply_err(req, ENOSYS);  // no more OPEN or RELEASE on this mount (see ReadFds)
        return;
    }
    if (ctx(req).defer_opens && (fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & (O_TRUNC | O_DIRECT))) {
        // Nothing to copy up and nothing the open could change: the descriptor can wait for
        // the first READ (warm reads never need one) and RELEASE has nothing to close.
        fi->fh = kDeferredFh;
        fi->noflush = 1;
        fi->keep_cache = 1;
        fuse_reply_open(req, fi);
        return;
    }
    int fd = engine(req).open(node(req, ino), fi->flags);
    if (fd < 0) {
        fuse_reply_err(req, -fd);
        return;
    }
    // The kernel leaves O_TRUNC to us (ATOMIC_O_TRUNC), and with it clearing setuid: its own
    // truncate-on-open would have done that with the caller's rights, ours ran with the daemon's.
    if (fi->flags & O_TRUNC) {
        int err = kill_privs_after_truncate(req, ino, fd);
        if (err < 0) {
            ::close(fd);
            fuse_reply_err(req, -err);
            return;
        }
    }
    fi->fh = static_cast<uint64_t>(fd);
    // Writes reach the layer file before WRITE is answered and locks are the kernel's own,
    // so a FLUSH on close would have nothing to do: not asking for it saves a round trip.
    fi->noflush = 1;
#ifdef OVERLAYFUSE_HAVE_PASSTHROUGH
    fi->backing_id = ctx(req).passthrough.attach(req, &node(req, ino), fd);
    // The kernel refuses keep_cache with passthrough; the backing file's own cache serves.
    fi->keep_cache = fi->backing_id == 0;
#else
    // Every change goes through this mount, so cached pages stay valid across opens.
    fi->keep_cache = 1;
#endif
    FuseSession::Context& c = ctx(req);  // a reply frees REQ, even one that failed
    if (fuse_reply_open(req, fi) != 0) {
        c.passthrough.detach(nullptr, fd);
        ::close(fd);
    }
}

void release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    if (fi->fh == kDeferredFh) {
        fuse_reply_err(req, 0);
        return;
    }
    ctx(req).passthrough.detach(req, static_cast<int>(fi->fh));
    ::close(static_cast<int>(fi->fh));
    fuse_reply_err(req, 0);
}

}  // namespace ovf::fuse::ops
