#include "ops.hpp"

namespace ovf::fuse::ops {

void forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    engine(req).forget(node(req, ino), nlookup);
    fuse_reply_none(req);
}

void forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
    for (size_t i = 0; i < count; ++i) engine(req).forget(node(req, forgets[i].ino), forgets[i].nlookup);
    fuse_reply_none(req);
}

}  // namespace ovf::fuse::ops
