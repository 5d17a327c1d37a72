// Clearing setuid and setgid when an open with O_TRUNC truncates a file.
//
// Writable views take ATOMIC_O_TRUNC: the kernel sends O_TRUNC with the OPEN and skips its
// own truncate, and with it the clearing of setuid/setgid that the truncate would have done
// with the caller's rights. The daemon truncates as itself (root with CAP_FSETID, usually),
// which keeps them. So the rule is applied here, as the VFS words it
// (setattr_should_drop_suidgid): nothing for a caller with CAP_FSETID; else setuid, and
// setgid when the file is group-executable or the caller is outside its group. Writes and
// plain truncates need none of this: the kernel clears the bits with a SETATTR of its own.
// (HANDLE_KILLPRIV_V2 would leave those to us too, but libfuse 3.17 does not pass its
// per-write flag, and the kernel then drops the clearing of chown(f, -1, -1) altogether.)
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "ops.hpp"
#include "overlayfuse/sys.hpp"

namespace ovf::fuse::ops {

namespace {

// Whether thread PID holds CAP_FSETID in the daemon's user namespace (where the daemon's
// own truncate is judged). Unknown (the caller is gone) counts as no.
bool caller_has_fsetid(pid_t pid) {
    if (pid <= 0) return false;
    char path[64];
    struct stat mine, theirs;
    std::snprintf(path, sizeof path, "/proc/%d/ns/user", static_cast<int>(pid));
    if (::stat(path, &theirs) != 0 || ::stat("/proc/self/ns/user", &mine) != 0 || theirs.st_ino != mine.st_ino)
        return false;
    constexpr int kCapFsetid = 4;
    auto caps = sys::effective_caps(pid);
    return caps && (*caps >> kCapFsetid & 1);
}

bool caller_in_group(fuse_req_t req, gid_t gid) {
    if (fuse_req_ctx(req)->gid == gid) return true;
    std::vector<gid_t> groups(64);
    int n = fuse_req_getgroups(req, static_cast<int>(groups.size()), groups.data());
    if (n > static_cast<int>(groups.size())) {
        groups.resize(static_cast<size_t>(n));
        n = fuse_req_getgroups(req, n, groups.data());
    }
    for (int i = 0; i < n && i < static_cast<int>(groups.size()); ++i)
        if (groups[static_cast<size_t>(i)] == gid) return true;
    return false;
}

mode_t privs_to_kill(fuse_req_t req, const struct stat& st) {
    mode_t m = st.st_mode;
    if (!S_ISREG(m) || !(m & (S_ISUID | S_ISGID))) return 0;  // the common case: nothing to ask
    if (caller_has_fsetid(fuse_req_ctx(req)->pid)) return 0;
    mode_t kill = m & S_ISUID;
    if ((m & S_ISGID) && ((m & S_IXGRP) || !caller_in_group(req, st.st_gid))) kill |= S_ISGID;
    return kill;
}

}  // namespace

int kill_privs_after_truncate(fuse_req_t req, fuse_ino_t ino, int fd) {
    struct stat st;
    if (::fstat(fd, &st) != 0) return -errno;
    mode_t kill = privs_to_kill(req, st);
    if (kill == 0) return 0;
    merge::AttrChange c;
    c.mode = st.st_mode & ~kill;
    struct stat out;
    int err = engine(req).setattr(node(req, ino), c, fd, &out);
    // The kernel's cached mode is the old one; the next stat must ask again.
    if (err == 0) fuse_lowlevel_notify_inval_inode(ctx(req).session, ino, -1, 0);
    return err;
}

}  // namespace ovf::fuse::ops
