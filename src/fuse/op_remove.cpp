// Removing and moving names: unlink, rmdir, rename.
#include "ops.hpp"

namespace ovf::fuse::ops {

void unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
    reply_status(req, engine(req).unlink(node(req, parent), name));
}

void rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
    reply_status(req, engine(req).rmdir(node(req, parent), name));
}

void rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
            const char* newname, unsigned int flags) {
    reply_status(req, engine(req).rename(node(req, parent), name, node(req, newparent), newname, flags));
}

}  // namespace ovf::fuse::ops
