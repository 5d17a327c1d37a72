#include "ops.hpp"

namespace ovf::fuse::ops {

void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    struct stat st;
    int err = engine(req).getattr(node(req, ino), &st);
    if (err < 0)
        fuse_reply_err(req, -err);
    else
        fuse_reply_attr(req, &st, ctx(req).timeout);
}

}  // namespace ovf::fuse::ops
