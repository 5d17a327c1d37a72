// Inode numbers that survive copy-up beyond the listing that held them.
//
// The kernel overlay reports a copied-up object under its lower copy's number (a lone file,
// or a directory on the same filesystem). The engine keeps the number in the parent's
// listing; when that listing is dropped (the kernel forgot the directory) and built again
// from the upper directory, readdir gives the upper inode's own number. Two records map it
// back: within a mount, upper inode -> view number noted at each copy-up (an upper number can
// go to a new object once the copy is deleted; the birth time noted with it tells the two
// apart); across mounts, and for uppers the kernel wrote, the overlay.origin file handle on
// the upper copy (origin.cpp), read as the kernel reads it: only in directories marked
// impure, where copy-up and rename put their objects.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "overlayfuse/merge/engine.hpp"
#include "overlayfuse/merge/origin.hpp"
#include "overlayfuse/sys.hpp"

namespace ovf::merge {

namespace {

bool birth_time(int dirfd, const char* name, struct statx* out) {
    int flags = AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC | (*name ? 0 : AT_EMPTY_PATH);
    return ::statx(dirfd, name, flags, STATX_BTIME | STATX_INO, out) == 0 && (out->stx_mask & STATX_BTIME);
}

}  // namespace

void Engine::keep_ino(const Node& node, int fd) {
    struct statx sx;
    if (!birth_time(fd, "", &sx)) return;
    if (map_ino(0, sx.stx_ino) == node.ino()) return;  // nothing to remember
    std::lock_guard lock(kept_mu_);
    kept_[sx.stx_ino] = {node.ino(), sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec};
}

std::optional<ino_t> Engine::kept_ino(int dirfd, const char* name, ino_t ino) const {
    {
        std::lock_guard lock(kept_mu_);
        if (kept_.empty() || !kept_.count(ino)) return std::nullopt;
    }
    struct statx sx;
    bool born = birth_time(dirfd, name, &sx) && sx.stx_ino == ino;
    std::lock_guard lock(kept_mu_);
    auto it = kept_.find(ino);
    if (it == kept_.end()) return std::nullopt;
    if (born && it->second.btime_sec == sx.stx_btime.tv_sec && it->second.btime_nsec == sx.stx_btime.tv_nsec)
        return it->second.view;
    kept_.erase(it);  // a new object got the number
    return std::nullopt;
}

ino_t Engine::upper_ino(int dirfd, const char* name, ino_t ino, unsigned char type, bool impure, bool* fixed) const {
    *fixed = true;
    if (auto kept = kept_ino(dirfd, name, ino)) return *kept;
    if (impure && origins_) {
        // The kernel's rule (ovl_getattr): the lower number for a directory, or for a file
        // whose lower copy is not a hard link (the upper copy left its group at copy-up).
        char buf[256];
        ssize_t n = sys::getxattr_at(dirfd, name, origins_->xattr_name(), buf, sizeof buf);
        auto found = n > 0 ? origins_->decode(std::string(buf, static_cast<size_t>(n)), DTTOIF(type)) : std::nullopt;
        if (found && (S_ISDIR(found->st.st_mode) || found->st.st_nlink == 1))
            return map_ino(found->layer, found->st.st_ino);
    }
    *fixed = false;
    return map_ino(0, ino);
}

bool Engine::numbered_from_lower(const Node& node) const {
    struct stat st;
    return sys::fstat_fd(node.branches()->front().fd.get(), &st) == 0 && node.ino() != map_ino(0, st.st_ino);
}

void Engine::set_origin(int dirfd, const std::string& name, const Branch& src) const {
    if (!origins_) return;
    std::string v = origins_->encode(src.fd.get(), src.layer);
    if (v.empty()) return;
    // Best effort, as in the kernel, which goes without when the upper has no xattrs.
    std::string path = sys::proc_fd_path(dirfd) + "/" + name;
    ::lsetxattr(path.c_str(), origins_->xattr_name(), v.data(), v.size(), 0);
}

}  // namespace ovf::merge
