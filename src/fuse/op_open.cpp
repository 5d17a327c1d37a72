#include <fcntl.h>
#include <unistd.h>

#include "ops.hpp"

namespace ovf::fuse::ops {

void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    int fd = engine(req).open(node(req, ino), fi->flags);
    if (fd < 0) {
        fuse_reply_err(req, -fd);
        return;
    }
    fi->fh = static_cast<uint64_t>(fd);
    // Every change goes through this mount, so cached pages stay valid across opens.
    fi->keep_cache = 1;
    fi->noflush = !engine(req).writable();
    if (fuse_reply_open(req, fi) != 0) ::close(fd);
}

void release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    ::close(static_cast<int>(fi->fh));
    fuse_reply_err(req, 0);
}

}  // namespace ovf::fuse::ops
