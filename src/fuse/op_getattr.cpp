#include "ops.hpp"

namespace ovf::fuse::ops {

void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    struct stat st = node(req, ino).attr();
    fuse_reply_attr(req, &st, ctx(req).timeout);
}

}  // namespace ovf::fuse::ops
