#include "ops.hpp"

namespace ovf::fuse::ops {

void setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
    merge::AttrChange c;
    if (to_set & FUSE_SET_ATTR_MODE) c.mode = attr->st_mode;
    if (to_set & FUSE_SET_ATTR_UID) c.uid = attr->st_uid;
    if (to_set & FUSE_SET_ATTR_GID) c.gid = attr->st_gid;
    if (to_set & FUSE_SET_ATTR_SIZE) c.size = attr->st_size;
    if (to_set & FUSE_SET_ATTR_ATIME_NOW) c.atime = timespec{0, UTIME_NOW};
    else if (to_set & FUSE_SET_ATTR_ATIME) c.atime = attr->st_atim;
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) c.mtime = timespec{0, UTIME_NOW};
    else if (to_set & FUSE_SET_ATTR_MTIME) c.mtime = attr->st_mtim;
    struct stat st;
    int fd = fi && fi->fh != kDeferredFh ? static_cast<int>(fi->fh) : -1;
    int err = engine(req).setattr(node(req, ino), c, fd, &st);
    if (err < 0)
        fuse_reply_err(req, -err);
    else
        fuse_reply_attr(req, &st, ctx(req).timeout);
}

void setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
              int flags) {
    reply_status(req, engine(req).setxattr(node(req, ino), name, value, size, flags));
}

void removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
    reply_status(req, engine(req).removexattr(node(req, ino), name));
}

}  // namespace ovf::fuse::ops
