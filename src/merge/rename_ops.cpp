// rename(2) in a writable view, following the kernel overlay: both names are copied up and
// renamed within the upper; the old name gets a whiteout if lower layers hold it; a
// directory that lower layers hold cannot move (EXDEV, so `mv` copies instead).
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "overlayfuse/merge/engine.hpp"
#include "overlayfuse/merge/markers.hpp"
#include "overlayfuse/sys.hpp"
#include "upper.hpp"

namespace ovf::merge {

namespace {

struct Looked {  // a node we looked up for the rename, forgotten again at the end
    Engine* e = nullptr;
    Node* n = nullptr;
    ~Looked() {
        if (n) e->forget(*n, 1);
    }
};

// A directory whose contents come (also) from lower layers.
bool merged_or_lower(const Node& n) {
    auto b = n.branches();
    return n.is_dir() && (b->size() > 1 || b->front().layer != 0);
}

// Removes the whiteouts an empty upper directory may still hold, so rename can replace it.
int clear_whiteouts(int pfd, const std::string& name, int work, const std::string& tmp) {
    struct stat st;
    if (sys::fstatat(pfd, name.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) return 0;
    if (::renameat(pfd, name.c_str(), work, tmp.c_str()) != 0) return -errno;
    Upper::remove_tree(work, tmp.c_str());
    return 0;
}

}  // namespace

int Engine::rename(Node& olddir, std::string_view oldname, Node& newdir, std::string_view newname,
                   unsigned flags) {
    if (!writable()) return -EROFS;
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return -EINVAL;
    if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) return -EINVAL;
    if (newname.size() > 255) return -ENAMETOOLONG;
    bool exchange = flags & RENAME_EXCHANGE;
    std::lock_guard ns(ns_mu_);

    std::shared_ptr<Listing> ol, nl;
    if (int err = listing_rw(olddir, &ol); err < 0) return err;
    if (int err = listing_rw(newdir, &nl); err < 0) return err;
    auto src = ol->find(oldname);
    if (!src) return -ENOENT;
    auto dst = nl->find(newname);
    if ((flags & RENAME_NOREPLACE) && dst) return -EEXIST;
    if (exchange && !dst) return -ENOENT;
    if (&olddir == &newdir && oldname == newname) return 0;

    Looked s{this}, d{this};
    if (int err = child(olddir, oldname, &s.n); err < 0) return err;
    if (dst) {
        if (int err = child(newdir, newname, &d.n); err < 0) return err;
        if (d.n == s.n) return 0;  // two names of one inode: rename(2) does nothing
    }
    bool src_dir = src->type == DT_DIR;
    bool dst_dir = dst && dst->type == DT_DIR;
    if (!exchange && dst) {
        if (src_dir && !dst_dir) return -ENOTDIR;
        if (!src_dir && dst_dir) return -EISDIR;
        if (dst_dir) {
            std::shared_ptr<const Listing> dl;
            if (int err = listing(*d.n, &dl); err < 0) return err;
            if (!dl->empty()) return -ENOTEMPTY;
        }
    }
    if (merged_or_lower(*s.n) || (exchange && merged_or_lower(*d.n))) return -EXDEV;

    if (int err = copy_up(olddir); err < 0) return err;
    if (int err = copy_up(newdir); err < 0) return err;
    if (int err = copy_up(*s.n); err < 0) return err;
    if (exchange) {
        if (int err = copy_up(*d.n); err < 0) return err;
    }
    src = ol->find(oldname);  // copy-up updated them
    dst = nl->find(newname);
    int opfd = olddir.branches()->front().fd.get();
    int npfd = newdir.branches()->front().fd.get();
    std::string on(oldname), nn(newname);
    int work = upper_->work_fd();

    if (exchange) {
        if (::renameat2(opfd, on.c_str(), npfd, nn.c_str(), RENAME_EXCHANGE) != 0) return -errno;
        // Each name keeps what it covers below; the objects trade places.
        DirEntry at_old = *dst, at_new = *src;
        at_old.name = on;
        at_old.covers_lower = src->covers_lower;
        at_new.name = nn;
        at_new.covers_lower = dst->covers_lower;
        ol->put(std::move(at_old));
        nl->put(std::move(at_new));
        std::swap(s.n->parent_, d.n->parent_);
        std::swap(s.n->name_, d.n->name_);
        return 0;
    }

    // What the new name will cover: whatever it covered before, or a whiteout's lower entry.
    bool new_covers = dst ? (dst->covers_lower || dst->layer != 0) : false;
    struct stat wst;
    bool over_whiteout = !dst && sys::fstatat(npfd, nn.c_str(), &wst) == 0 && is_whiteout_device(wst);
    if (!dst && !over_whiteout) {
        std::string wh = std::string(kAufsWhiteoutPrefix) + nn;
        if (sys::fstatat(npfd, wh.c_str(), &wst) == 0) new_covers = true;
    }
    new_covers = new_covers || over_whiteout;
    if (dst_dir) {
        if (int err = clear_whiteouts(npfd, nn, work, upper_->temp_name()); err < 0) return err;
    }
    bool old_needs_whiteout = src->covers_lower;

    if (src_dir && over_whiteout) {
        // rename(2) cannot put a directory over a device: swap with the whiteout instead,
        // and keep it at the old name if that name needs one.
        if (::renameat2(opfd, on.c_str(), npfd, nn.c_str(), RENAME_EXCHANGE) != 0) return -errno;
        if (!old_needs_whiteout) ::unlinkat(opfd, on.c_str(), 0);
    } else if (old_needs_whiteout && upper_->device_whiteouts()) {
        if (::renameat2(opfd, on.c_str(), npfd, nn.c_str(), RENAME_WHITEOUT) != 0) {
            if (errno != EINVAL && errno != EPERM) return -errno;
            // No RENAME_WHITEOUT on this filesystem: rename, then leave the whiteout.
            if (::renameat(opfd, on.c_str(), npfd, nn.c_str()) != 0) return -errno;
            if (int err = upper_->make_whiteout(opfd, on.c_str()); err < 0) return err;
        }
    } else {
        if (::renameat(opfd, on.c_str(), npfd, nn.c_str()) != 0) return -errno;
        if (old_needs_whiteout) {
            if (int err = upper_->make_whiteout(opfd, on.c_str()); err < 0) return err;
        }
    }
    if (src_dir && new_covers) {
        // A directory that now covers lower entries must hide them.
        int fd = sys::open_path(npfd, nn.c_str());
        if (fd >= 0) {
            UniqueFd guard(fd);
            if (int err = upper_->set_opaque(fd); err < 0) return err;
        }
    }
    DirEntry moved = *src;
    moved.name = nn;
    moved.covers_lower = new_covers;
    ol->remove(oldname);
    nl->put(std::move(moved));
    s.n->parent_ = newdir.shared_from_this();
    s.n->name_ = nn;
    if (d.n && d.n->parent_.get() == &newdir && d.n->name_ == nn) d.n->parent_.reset();
    return 0;
}

}  // namespace ovf::merge
