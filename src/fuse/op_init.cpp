#include <algorithm>
#include <cstdio>

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

// libfuse splices a READ's data through a per-thread pipe, which it must grow to the reply's
// size plus a few pages. A process without CAP_SYS_RESOURCE cannot grow a pipe past
// /proc/sys/fs/pipe-max-size (1 MiB), and once growing fails libfuse (3.17) never grows that
// pipe again: every later reply of the thread is copied through the daemon's memory. So
// requests are kept small enough for the pipe that can be had: max_write also sets the
// kernel's max_pages (the READ size limit) and libfuse's request buffer.
unsigned splice_safe_max_write() {
    constexpr unsigned kPage = 4096;
    unsigned long pipe_max = 1u << 20;
    if (FILE* f = std::fopen("/proc/sys/fs/pipe-max-size", "re")) {
        if (std::fscanf(f, "%lu", &pipe_max) != 1) pipe_max = 1u << 20;
        std::fclose(f);
    }
    // libfuse's estimate of the pipe a reply needs: the data plus (header, data, 1) pages.
    unsigned long pages = pipe_max / kPage;
    return static_cast<unsigned>((pages > 36 ? pages - 4 : 32) * kPage);
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
    unwant(conn, FUSE_CAP_READDIRPLUS_AUTO);  // readdirplus decides (see op_readdir.cpp)
    want(conn, FUSE_CAP_ASYNC_READ);
    // The kernel overlay grants and denies by the layers' POSIX ACLs too (its permission
    // checks read them from the real inode); with this the kernel asks for system.posix_acl_*
    // through GETXATTR, caches them per inode, and default_permissions applies them.
    want(conn, FUSE_CAP_POSIX_ACL);
    // New objects in a directory with a default ACL inherit it and ignore the umask, so the
    // kernel must leave the umask to us (merge::Caller, Engine::make_in_upper).
    want(conn, FUSE_CAP_DONT_MASK);
    conn->max_write = std::min(conn->max_write, splice_safe_max_write());
    if (c->engine->writable()) {
        // Writes arrive spliced; O_TRUNC comes with open, so copy-up can skip the old data.
        want(conn, FUSE_CAP_SPLICE_READ);
        want(conn, FUSE_CAP_ATOMIC_O_TRUNC);
    } else {
        // No WRITE ever comes: splicing requests in would cost a second syscall for each.
        unwant(conn, FUSE_CAP_SPLICE_READ);
    }
    // Lowers never change: page cache validity does not need mtime checks on every getattr.
    unwant(conn, FUSE_CAP_AUTO_INVAL_DATA);
#ifdef OVERLAYFUSE_HAVE_PASSTHROUGH
    if (c->passthrough.wanted) c->passthrough.active = fuse_set_feature_flag(conn, FUSE_CAP_PASSTHROUGH);
#endif
}

}  // namespace ovf::fuse::ops
