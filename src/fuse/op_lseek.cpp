// SEEK_DATA and SEEK_HOLE: the layer file knows where its holes are (cp --sparse, tar
// --sparse and image scanners ask). Without this operation the kernel reports a file as all
// data up to its end; the kernel overlay reports the real file's holes.
#include <unistd.h>

#include "ops.hpp"

namespace ovf::fuse::ops {

void lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi) {
    std::shared_ptr<const UniqueFd> held;
    int fd = file_fd(req, ino, fi, held);
    if (fd < 0) {
        reply_status(req, fd);
        return;
    }
    off_t r = ::lseek(fd, off, whence);
    if (r < 0) {
        fuse_reply_err(req, errno);
        return;
    }
    fuse_reply_lseek(req, r);
}

}  // namespace ovf::fuse::ops
