#include "ops.hpp"

namespace ovf::fuse::ops {

void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    merge::Node& n = node(req, ino);
    std::shared_ptr<const UniqueFd> held;  // keeps a no-open read's descriptor until replied
    int fd = file_fd(req, ino, fi, held);
    if (fd < 0) {
        reply_status(req, fd);
        return;
    }
    // Hand libfuse the layer file's fd: with splice the data goes kernel to kernel.
    fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
    buf.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
    buf.buf[0].fd = fd;
    buf.buf[0].pos = off;
    // A file read from its start: if it follows its directory's last one, fetch the next few
    // while the reader works on this one. Planned before the reply (after it the kernel may
    // forget the node), posted after (the reader need not wait for the thread's wake-up).
    merge::Engine& e = engine(req);
    FuseSession::Context& c = ctx(req);
    merge::Engine::ReadAhead job;
    bool ahead = off == 0 && e.plan_read_ahead(n, &job);
    fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
    if (ahead) c.read_ahead.post([&e, job = std::move(job)] { e.read_ahead(job); });
}

}  // namespace ovf::fuse::ops
