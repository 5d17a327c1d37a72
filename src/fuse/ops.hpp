#pragma once
// Internal to the FUSE adapter: the request handlers (one file each, op_*.cpp) and what
// they share. Handlers translate between FUSE and the merge engine and nothing more.
#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "overlayfuse/fuse/session.hpp"
#include "overlayfuse/helper_thread.hpp"
#include "overlayfuse/work_queue.hpp"
#include "overlayfuse/merge/engine.hpp"

namespace ovf::fuse {

// Files opened with FUSE passthrough: the kernel reads the layer file itself. It allows one
// backing file per inode at a time, so opens of one node share a backing id.
class Passthrough {
public:
    bool wanted = false;                // built with libfuse >= 3.17, allowed, read-only view
    std::atomic<bool> active{false};    // the kernel agreed (set in init)
    // The backing id for NODE's open file FD (0: serve reads ourselves).
    int attach(fuse_req_t req, const merge::Node* node, int fd);
    // Drops FD's share; closes the backing id with the node's last open (through REQ, which
    // must not have been answered yet; none: the kernel keeps it until the unmount).
    void detach(fuse_req_t req, int fd);

private:
    struct Shared {
        int id = 0;
        unsigned opens = 0;
    };
    std::mutex mu_;
    std::unordered_map<const merge::Node*, Shared> by_node_;
    std::unordered_map<int, const merge::Node*> by_fd_;
};

// Read-only views may answer OPEN with ENOSYS: the kernel then stops sending OPEN and
// RELEASE altogether and keeps every file's pages across opens, so a file read again costs
// no round trip at all. Its first READs come without a descriptor of ours; these are kept
// for the files read last, so a large file is not reopened for every READ.
// Writable views hand out kDeferredFh for opens that only read (see op_open.cpp) and read
// through the same cache; an entry follows its node's copy-up.
class ReadFds {
public:
    // Sets FD to a descriptor open for reading NODE's file; 0 or -errno.
    int get(merge::Engine& engine, merge::Node& node, std::shared_ptr<const UniqueFd>& fd);

private:
    static constexpr size_t kMax = 64;  // more than the kernel's parallel readers of files
    struct Entry {
        const merge::Node* node;
        std::weak_ptr<const merge::Node> owner;
        std::weak_ptr<const merge::BranchList> copies;  // what the descriptor was opened from
        std::shared_ptr<const UniqueFd> fd;
    };
    std::mutex mu_;
    std::list<Entry> lru_;  // most recent first
    std::unordered_map<const merge::Node*, std::list<Entry>::iterator> by_node_;
};

struct FuseSession::Context {
    merge::Engine* engine = nullptr;
    double timeout = 0;
    Passthrough passthrough;
    bool no_open = false;  // answer OPEN with ENOSYS and read through read_fds
    bool defer_opens = false;  // read-only opens get kDeferredFh (writable views, see op_open)
    fuse_session* session = nullptr;
    ReadFds read_fds;
    HelperThread helper;
    WorkQueue read_ahead;  // fetches files ahead of a reader (Engine::plan_read_ahead)
};


// The file handle of an open that only reads, in a writable view: no descriptor of ours
// behind it until a READ needs one (then read_fds), none to close on RELEASE.
constexpr uint64_t kDeferredFh = ~uint64_t{0};

namespace ops {

inline FuseSession::Context& ctx(fuse_req_t req) {
    return *static_cast<FuseSession::Context*>(fuse_req_userdata(req));
}
inline merge::Engine& engine(fuse_req_t req) { return *ctx(req).engine; }

// The descriptor to read node INO through for the handle FI: FI's own, or, for an open
// without one (read-only views, a writable view's deferred opens), one from the cache that
// HELD keeps open until the caller is done. The descriptor or -errno.
int file_fd(fuse_req_t req, fuse_ino_t ino, const fuse_file_info* fi, std::shared_ptr<const UniqueFd>& held);

// Node ids are the nodes' addresses, except the root's, which FUSE fixes at 1.
inline merge::Node& node(fuse_req_t req, fuse_ino_t ino) {
    if (ino == FUSE_ROOT_ID) return engine(req).root();
    return *reinterpret_cast<merge::Node*>(ino);
}
inline fuse_ino_t node_id(merge::Engine& e, merge::Node& n) {
    return &n == &e.root() ? FUSE_ROOT_ID : reinterpret_cast<fuse_ino_t>(&n);
}

// Replies ERR (a -errno or 0) as FUSE wants it.
inline void reply_status(fuse_req_t req, int err) { fuse_reply_err(req, err < 0 ? -err : 0); }
// Replies with the entry of a node just created (or linked), or the error.
void reply_new_entry(fuse_req_t req, int err, merge::Node* n);
// The caller's identity and umask for new objects.
merge::Caller caller(fuse_req_t req);

// After the daemon truncated node INO's file FD for REQ's caller: clears the setuid and
// setgid bits the caller's own truncate would have cleared (kill_privs.cpp). 0 or -errno.
int kill_privs_after_truncate(fuse_req_t req, fuse_ino_t ino, int fd);

// The entry reply for a node the engine just counted a lookup for.
fuse_entry_param entry_of(fuse_req_t req, merge::Node& n);
// The same with the attributes already at hand (from Engine::lookup).
fuse_entry_param entry_of(fuse_req_t req, merge::Node& n, const struct stat& attr);

void init(void* userdata, fuse_conn_info* conn);
void lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
void forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets);
void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void readlink(fuse_req_t req, fuse_ino_t ino);
void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info* fi);
void release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size);
void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void statfs(fuse_req_t req, fuse_ino_t ino);
void ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void* arg, fuse_file_info* fi, unsigned flags,
           const void* in_buf, size_t in_size, size_t out_size);

// Writable views only (the mount is read-only otherwise, and the kernel refuses these).
void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi);
#if FUSE_VERSION >= FUSE_MAKE_VERSION(3, 17)
void tmpfile(fuse_req_t req, fuse_ino_t parent, mode_t mode, fuse_file_info* fi);
#endif
void mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev);
void mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
void symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name);
void link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname);
void unlink(fuse_req_t req, fuse_ino_t parent, const char* name);
void rmdir(fuse_req_t req, fuse_ino_t parent, const char* name);
void rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
            const char* newname, unsigned int flags);
void setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi);
void setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
              int flags);
void removexattr(fuse_req_t req, fuse_ino_t ino, const char* name);
void write_buf(fuse_req_t req, fuse_ino_t ino, fuse_bufvec* in, off_t off, fuse_file_info* fi);
void flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi);
void fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi);
void fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
               fuse_file_info* fi);

}  // namespace ops
}  // namespace ovf::fuse
