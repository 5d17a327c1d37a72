#include "ops.hpp"

namespace ovf::fuse::ops {

void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    std::shared_ptr<const UniqueFd> held;  // keeps a no-open read's descriptor until replied
    int fd = static_cast<int>(fi->fh);
    if (ctx(req).no_open) {
        if (int err = ctx(req).read_fds.get(engine(req), node(req, ino), held); err < 0) {
            reply_status(req, err);
            return;
        }
        fd = held->get();
    }
    // Hand libfuse the layer file's fd: with splice the data goes kernel to kernel.
    fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
    buf.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    buf.buf[0].fd = fd;
    buf.buf[0].pos = off;
    fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

}  // namespace ovf::fuse::ops
