// Creating names: create, mknod, mkdir, symlink, link; and unnamed files (tmpfile).
#include <unistd.h>

#include "ops.hpp"

namespace ovf::fuse::ops {

namespace {

// Answers CREATE or TMPFILE: the new node N, open on FD, or the error ERR.
void reply_created(fuse_req_t req, int err, merge::Node* n, int fd, fuse_file_info* fi) {
    if (err < 0) {
        fuse_reply_err(req, -err);
        return;
    }
    fi->fh = static_cast<uint64_t>(fd);
    fi->keep_cache = 1;
    fi->noflush = 1;  // as in open()
    fuse_entry_param e = entry_of(req, *n);
    merge::Engine& eng = engine(req);  // a reply frees REQ, even one that failed
    if (fuse_reply_create(req, &e, fi) != 0) {
        ::close(fd);
        eng.forget(*n, 1);
    }
}

}  // namespace

void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
    merge::Node* n = nullptr;
    int fd = -1;
    int err = engine(req).create(node(req, parent), name, mode, fi->flags, caller(req), &n, &fd);
    reply_created(req, err, n, fd, fi);
}

#if FUSE_VERSION >= FUSE_MAKE_VERSION(3, 17)
void tmpfile(fuse_req_t req, fuse_ino_t parent, mode_t mode, fuse_file_info* fi) {
    merge::Node* n = nullptr;
    int fd = -1;
    int err = engine(req).tmpfile(node(req, parent), mode, fi->flags, caller(req), &n, &fd);
    reply_created(req, err, n, fd, fi);
}
#endif

void mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
    merge::Node* n = nullptr;
    int err = engine(req).mknod(node(req, parent), name, mode, rdev, caller(req), &n);
    reply_new_entry(req, err, n);
}

void mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
    merge::Node* n = nullptr;
    int err = engine(req).mkdir(node(req, parent), name, mode, caller(req), &n);
    reply_new_entry(req, err, n);
}

void symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
    merge::Node* n = nullptr;
    int err = engine(req).symlink(node(req, parent), name, target, caller(req), &n);
    reply_new_entry(req, err, n);
}

void link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
    merge::Node* n = nullptr;
    int err = engine(req).link(node(req, ino), node(req, newparent), newname, &n);
    reply_new_entry(req, err, n);
}

}  // namespace ovf::fuse::ops
