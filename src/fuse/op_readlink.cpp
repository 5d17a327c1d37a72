#include "ops.hpp"

namespace ovf::fuse::ops {

void readlink(fuse_req_t req, fuse_ino_t ino) {
    std::string target;
    int err = engine(req).readlink(node(req, ino), target);
    if (err < 0)
        fuse_reply_err(req, -err);
    else
        fuse_reply_readlink(req, target.c_str());
}

}  // namespace ovf::fuse::ops
