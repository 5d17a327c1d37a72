// SEEK_DATA and SEEK_HOLE: the layer file knows where its holes are (cp --sparse, tar
// --sparse and image scanners ask). Without this operation the kernel reports a file as all
// data up to its end; the kernel overlay reports the real file's holes.
#include <unistd.h>

#include "ops.hpp"

namespace ovf::fuse::ops {

void lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi) {
    std::shared_ptr<const UniqueFd> held;  // an open without a descriptor of ours (see read)
    int fd = static_cast<int>(fi->fh);
    if (ctx(req).no_open || fi->fh == kDeferredFh) {
        if (int err = ctx(req).read_fds.get(engine(req), node(req, ino), held); err < 0) {
            reply_status(req, err);
            return;
        }
        fd = held->get();
    }
    off_t r = ::lseek(fd, off, whence);
    if (r < 0) {
        fuse_reply_err(req, errno);
        return;
    }
    fuse_reply_lseek(req, r);
}

}  // namespace ovf::fuse::ops
