#include "ops.hpp"

namespace ovf::fuse::ops {

void init(void* userdata, fuse_conn_info* conn) {
    auto want = [conn](unsigned cap) {
        if (conn->capable & cap) conn->want |= cap;
    };
    // Reads are answered by splicing from the layer file, so data never passes through us.
    want(FUSE_CAP_SPLICE_WRITE);
    want(FUSE_CAP_SPLICE_MOVE);
    want(FUSE_CAP_PARALLEL_DIROPS);
    want(FUSE_CAP_CACHE_SYMLINKS);
    want(FUSE_CAP_READDIRPLUS);
    want(FUSE_CAP_READDIRPLUS_AUTO);
    want(FUSE_CAP_ASYNC_READ);
    // Writes arrive spliced; O_TRUNC comes with open, so copy-up can skip the old data.
    want(FUSE_CAP_SPLICE_READ);
    want(FUSE_CAP_ATOMIC_O_TRUNC);
    // Lowers never change: page cache validity does not need mtime checks on every getattr.
    conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

}  // namespace ovf::fuse::ops
