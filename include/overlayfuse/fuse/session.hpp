#pragma once
// The FUSE adapter: serves a merge::Engine to the kernel through libfuse's low-level API.
#include <memory>
#include <string>
#include <vector>

#include "overlayfuse/merge/engine.hpp"

struct fuse_session;

namespace ovf::fuse {

struct FuseOptions {
    std::string fsname = "overlayfuse";  // the mount's source in /proc/self/mountinfo
    bool allow_other = false;            // let other users in (root's default for images)
    bool debug = false;                  // libfuse's request trace on stderr (implies -f)
    // Layers are immutable while mounted, so the kernel may keep entries, attributes, listings
    // and pages for as long as it likes; this is the entry/attr timeout in seconds.
    double cache_timeout = 86400.0;
    unsigned max_threads = 0;            // request threads at most; 0: the loop's default
    unsigned spin_us = 50;               // see LoopOptions::spin_us (src/fuse/request_loop.hpp)
    // How a read-only view serves file data (writable views always use Daemon):
    //  Cache:       OPEN is answered ENOSYS, so the kernel never sends OPEN, FLUSH or RELEASE
    //               again and keeps each file's pages; a page is read from the layer once.
    //  Passthrough: every open is answered and the kernel reads the layer file itself (FUSE
    //               passthrough: libfuse >= 3.17, Linux >= 6.9, CAP_SYS_ADMIN; else Daemon).
    //               No second copy of the data in the page cache, two round trips per open.
    //  Daemon:      every open is answered and reads are spliced from the layer file.
    enum class DataPath { Cache, Passthrough, Daemon };
    DataPath data = DataPath::Cache;
    std::vector<std::string> fuse_args;  // further -o options handed to libfuse as they are
};

// "libfuse 3.17.2, FUSE passthrough" (or "no FUSE passthrough"): what the daemon was built
// with, for --version.
std::string library_summary();

// Owns the session and the mount: the destructor unmounts.
class FuseSession {
public:
    FuseSession(merge::Engine& engine, FuseOptions opts);
    ~FuseSession();
    FuseSession(const FuseSession&) = delete;
    FuseSession& operator=(const FuseSession&) = delete;

    // Mounts on MNT; throws ovf::UserError with libfuse's reason on one line.
    void mount(const std::string& mnt);
    // Serves requests until the view is unmounted or a signal arrives. Returns 0 on a clean
    // end. Call after any fork(): the loop starts threads.
    int serve();

    struct Context;  // what every request handler reaches through fuse_req_userdata()

private:
    // Root mounts with mount(2) itself and hands libfuse the descriptor ("/dev/fd/N"):
    // libfuse would also fork and exec mount(8) to update /etc/mtab, a symlink to
    // /proc/self/mounts on every current system, which costs more than the mount itself.
    bool mount_directly(const std::string& mnt);
    // Raises the mount's read-ahead to what one READ can carry (root only; see session.cpp).
    static constexpr unsigned kReadAheadKb = 1024;
    void widen_read_ahead();

    std::unique_ptr<Context> ctx_;
    FuseOptions opts_;
    ::fuse_session* se_ = nullptr;
    bool writable_ = false;
    bool mounted_ = false;
    std::string bdi_read_ahead_;  // /sys/class/bdi/<the mount's device>/read_ahead_kb
    std::string self_mounted_;  // the mount point, when mount_directly() mounted it
    bool signals_set_ = false;
};

}  // namespace ovf::fuse
