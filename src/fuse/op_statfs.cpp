#include "ops.hpp"

namespace ovf::fuse::ops {

void statfs(fuse_req_t req, fuse_ino_t) {
    struct statvfs st;
    int err = engine(req).statfs(&st);
    if (err < 0)
        fuse_reply_err(req, -err);
    else
        fuse_reply_statfs(req, &st);
}

}  // namespace ovf::fuse::ops
