#include "ops.hpp"

namespace ovf::fuse::ops {

namespace {

// libfuse 3.17 wants capabilities set through its feature-flag calls (mixing them with
// conn->want is an error there); older ones only have conn->want.
void want(fuse_conn_info* conn, uint64_t cap) {
#ifdef OVERLAYFUSE_HAVE_PASSTHROUGH
    fuse_set_feature_flag(conn, cap);
#else
    if (conn->capable & cap) conn->want |= static_cast<unsigned>(cap);
#endif
}

void unwant(fuse_conn_info* conn, uint64_t cap) {
#ifdef OVERLAYFUSE_HAVE_PASSTHROUGH
    fuse_unset_feature_flag(conn, cap);
#else
    conn->want &= ~static_cast<unsigned>(cap);
#endif
}

}  // namespace

void init(void* userdata, fuse_conn_info* conn) {
    auto* c = static_cast<FuseSession::Context*>(userdata);
    // Reads are answered by splicing from the layer file, so data never passes through us.
    want(conn, FUSE_CAP_SPLICE_WRITE);
    want(conn, FUSE_CAP_SPLICE_MOVE);
    want(conn, FUSE_CAP_PARALLEL_DIROPS);
    want(conn, FUSE_CAP_CACHE_SYMLINKS);
    want(conn, FUSE_CAP_READDIRPLUS);
    want(conn, FUSE_CAP_READDIRPLUS_AUTO);
    want(conn, FUSE_CAP_ASYNC_READ);
    // Writes arrive spliced; O_TRUNC comes with open, so copy-up can skip the old data.
    want(conn, FUSE_CAP_SPLICE_READ);
    want(conn, FUSE_CAP_ATOMIC_O_TRUNC);
    // Lowers never change: page cache validity does not need mtime checks on every getattr.
    unwant(conn, FUSE_CAP_AUTO_INVAL_DATA);
#ifdef OVERLAYFUSE_HAVE_PASSTHROUGH
    if (c->passthrough.wanted) c->passthrough.active = fuse_set_feature_flag(conn, FUSE_CAP_PASSTHROUGH);
#else
    (void)c;
#endif
}

}  // namespace ovf::fuse::ops
