// Inode numbers that survive copy-up beyond the listing that held them.
//
// The kernel overlay reports a copied-up object under its lower copy's number (a lone file,
// or a directory on the same filesystem), and reads it back from the overlay.origin file
// handle it stores on the upper copy. The engine keeps the number in the parent's listing;
// when that listing is dropped (the kernel forgot the directory) and built again from the
// upper directory, readdir gives the upper inode's own number. The engine therefore records
// upper inode -> view number at each copy-up. An upper inode number can be given to a new
// object once the copied-up one is deleted; the birth time recorded with it tells the two
// apart (filesystems without birth times keep no record: their copies show the upper number
// after such a rebuild, as before).
#include <fcntl.h>
#include <sys/stat.h>

#include "overlayfuse/merge/engine.hpp"

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

ino_t Engine::upper_ino(int dirfd, const char* name, ino_t ino) const {
    {
        std::lock_guard lock(kept_mu_);
        if (kept_.empty() || !kept_.count(ino)) return map_ino(0, ino);
    }
    struct statx sx;
    bool born = birth_time(dirfd, name, &sx) && sx.stx_ino == ino;
    std::lock_guard lock(kept_mu_);
    auto it = kept_.find(ino);
    if (it == kept_.end()) return map_ino(0, ino);
    if (born && it->second.btime_sec == sx.stx_btime.tv_sec && it->second.btime_nsec == sx.stx_btime.tv_nsec)
        return it->second.view;
    kept_.erase(it);  // a new object got the number
    return map_ino(0, ino);
}

}  // namespace ovf::merge
