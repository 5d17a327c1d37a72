#include <fcntl.h>
#include <unistd.h>

#include "ops.hpp"

namespace ovf::fuse::ops {

void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    int fd = engine(req).open_read(node(req, ino), fi->flags);
    if (fd < 0) {
        fuse_reply_err(req, -fd);
        return;
    }
    fi->fh = static_cast<uint64_t>(fd);
    fi->keep_cache = 1;  // the file cannot change: keep its pages across opens
    fi->noflush = 1;     // nothing to flush on close
    if (fuse_reply_open(req, fi) != 0) ::close(fd);
}

void release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    ::close(static_cast<int>(fi->fh));
    fuse_reply_err(req, 0);
}

}  // namespace ovf::fuse::ops
