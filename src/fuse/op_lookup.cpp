#include <cerrno>

#include "ops.hpp"

namespace ovf::fuse::ops {

fuse_entry_param entry_of(fuse_req_t req, merge::Node& n, const struct stat& attr) {
    fuse_entry_param e{};
    e.ino = node_id(engine(req), n);
    e.attr = attr;
    e.attr_timeout = ctx(req).timeout;
    e.entry_timeout = ctx(req).timeout;
    return e;
}

fuse_entry_param entry_of(fuse_req_t req, merge::Node& n) {
    struct stat attr{};
    engine(req).getattr(n, &attr);
    return entry_of(req, n, attr);
}

void reply_new_entry(fuse_req_t req, int err, merge::Node* n) {
    if (err < 0) {
        fuse_reply_err(req, -err);
        return;
    }
    fuse_entry_param e = entry_of(req, *n);
    merge::Engine& eng = engine(req);  // a reply frees REQ, even one that failed
    if (fuse_reply_entry(req, &e) != 0) eng.forget(*n, 1);
}

merge::Caller caller(fuse_req_t req) {
    const fuse_ctx* c = fuse_req_ctx(req);
    return {c->uid, c->gid, c->umask};  // the kernel leaves the umask to us (op_init.cpp)
}

void lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    merge::Node* child = nullptr;
    struct stat attr;
    int err = engine(req).lookup(node(req, parent), name, &child, &attr);
    if (err == -ENOENT) {
        // A negative entry: the kernel remembers the miss as long as the layers stay put.
        fuse_entry_param e{};
        e.entry_timeout = ctx(req).timeout;
        fuse_reply_entry(req, &e);
        return;
    }
    if (err < 0) {
        fuse_reply_err(req, -err);
        return;
    }
    fuse_entry_param e = entry_of(req, *child, attr);
    merge::Engine& eng = engine(req);  // a reply frees REQ, even one that failed
    if (fuse_reply_entry(req, &e) != 0) eng.forget(*child, 1);
}

}  // namespace ovf::fuse::ops
