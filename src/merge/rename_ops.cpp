// rename(2) in a writable view, step for step as the kernel overlay does it: copy both
// sides up, pick the upper rename (leaving a whiteout where lower layers show through),
// mark moved directories opaque or redirected, then rename within the upper.
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

struct Looked {  // a node looked up for the rename, forgotten again at the end
    Engine* e = nullptr;
    Node* n = nullptr;
    ~Looked() {
        if (n) e->forget(*n, 1);
    }
};

// A directory whose contents come (also) from lower layers: without redirect_dir such a
// directory cannot move, and tools fall back to copying (EXDEV).
bool merged_or_lower(const Node& n) {
    return n.is_dir() && (n.merged() || n.branches()->front().layer != 0);
}

bool merged(const Node& dir) { return dir.merged(); }

bool upper_is_whiteout(int pfd, const std::string& name) {
    struct stat st;
    return sys::fstatat(pfd, name.c_str(), &st) == 0 && is_whiteout_device(st);
}

}  // namespace

std::string Engine::redirect_path(const Node& node, bool samedir) const {
    if (samedir) return node.name_;
    // The absolute path of the directory's lower origin: each ancestor's own redirect, or
    // its name, up to the root or to an absolute redirect.
    std::string path;
    for (const Node* d = &node; d && d != root_.get(); d = d->parent_.get()) {
        const std::string& comp = d->dir_->redirect.empty() ? d->name_ : d->dir_->redirect;
        path = comp + (path.empty() ? "" : "/" + path);
        if (comp[0] == '/') return path;
    }
    return "/" + path;
}

int Engine::set_redirect(Node& node, bool samedir) {
    // Like the kernel: keep a redirect already there unless an absolute one is needed.
    std::string& redirect = node.dir_->redirect;
    if (!redirect.empty() && (samedir || redirect[0] == '/')) return 0;
    std::string r = redirect_path(node, samedir);
    if (int err = upper_->set_redirect(node.branches()->front().fd.get(), r); err < 0) return -EXDEV;
    redirect = r;
    return 0;
}

int Engine::rename(Node& olddir, std::string_view oldname, Node& newdir, std::string_view newname,
                   unsigned flags) {
    if (!writable()) return -EROFS;
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return -EINVAL;
    if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE)) return -EINVAL;
    if (newname.size() > 255) return -ENAMETOOLONG;
    bool exchange = flags & RENAME_EXCHANGE;
    bool samedir = &olddir == &newdir;
    std::lock_guard ns(ns_mu_);

    std::shared_ptr<Listing> ol, nl;
    if (int err = listing_rw(olddir, &ol); err < 0) return err;
    if (int err = listing_rw(newdir, &nl); err < 0) return err;
    auto src = ol->find(oldname);
    if (!src) return -ENOENT;
    auto dst = nl->find(newname);
    // A ghost at the new name is nothing to replace (the kernel's lookup found no object).
    std::optional<uint16_t> ghost;
    if (dst) {
        std::shared_ptr<const BranchList> nb;
        if (int err = stack(newdir, &nb); err < 0) return err;
        if (is_ghost(*nb, *dst)) {
            ghost = dst->layer;
            dst.reset();
        }
    }
    if ((flags & RENAME_NOREPLACE) && dst) return -EEXIST;
    if (exchange && !dst) return -ENOENT;
    if (samedir && oldname == newname) return 0;

    Looked s{this}, d{this};
    if (int err = child(olddir, oldname, &s.n); err < 0) return err;
    if (dst) {
        if (int err = child(newdir, newname, &d.n); err < 0) return err;
        if (d.n == s.n) return 0;  // two names of one inode: rename(2) does nothing
    }
    bool src_dir = src->type == DT_DIR;
    bool dst_dir = dst && dst->type == DT_DIR;
    // In the kernel's order: type mismatches (the VFS), then whether it can move, then
    // whether the replaced directory is empty.
    if (!exchange && dst) {
        if (src_dir && !dst_dir) return -ENOTDIR;
        if (!src_dir && dst_dir) return -EISDIR;
    }
    if (!upper_->redirect_dir() && (merged_or_lower(*s.n) || (exchange && merged_or_lower(*d.n))))
        return -EXDEV;
    // Like ovl_rename: a replaced directory with nothing below it (the kernel's "pure upper":
    // made in the upper, never copied up, opaque or not) is checked by the upper
    // filesystem's own rename, after the copy-ups; so a rename that fails there has still
    // copied the source up (and touched its parent).
    bool dst_pure_upper = !exchange && dst_dir && !merged_or_lower(*d.n);
    if (!exchange && dst_dir && !dst_pure_upper) {
        std::shared_ptr<const Listing> dl;
        if (int err = listing(*d.n, &dl); err < 0) return err;
        if (!dl->counts_as_empty()) return -ENOTEMPTY;
    }

    if (int err = copy_up(*s.n); err < 0) return err;
    if (int err = copy_up(newdir); err < 0) return err;
    if (exchange) {
        if (int err = copy_up(*d.n); err < 0) return err;
    }
    src = ol->find(oldname);  // copy-up updated them
    dst = ghost ? std::nullopt : nl->find(newname);
    int opfd = olddir.branches()->front().fd.get();
    int npfd = newdir.branches()->front().fd.get();
    std::string on(oldname), nn(newname);
    int work = upper_->work_fd();

    // Which upper rename, as the kernel picks it.
    unsigned how = exchange ? RENAME_EXCHANGE : 0;
    bool new_whiteout = !dst && upper_is_whiteout(npfd, nn);
    bool cleanup_whiteout = false;
    if (!exchange) {
        if (src->covers_lower) {
            how = new_whiteout ? RENAME_EXCHANGE : RENAME_WHITEOUT;  // leave (or swap in) a whiteout
        } else if (src_dir && new_whiteout) {
            how = RENAME_EXCHANGE;  // rename(2) cannot put a directory over a device
            cleanup_whiteout = true;
        }
        if (dst_dir && !dst_pure_upper) {
            // An empty directory in the view may still hold whiteouts in the upper.
            struct stat st;
            if (sys::fstatat(npfd, nn.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
                std::string tmp = upper_->temp_name();
                if (::renameat(npfd, nn.c_str(), work, tmp.c_str()) != 0) return -errno;
                Upper::remove_tree(work, tmp.c_str());
            }
        }
    }

    // Moved directories: redirected if lower copies come with them, else opaque when they
    // land in a merged directory (nothing below may show through them).
    auto mark = [&](Node& n, bool is_dir, const Node& to_dir) -> int {
        if (!is_dir) return 0;
        if (merged_or_lower(n)) return set_redirect(n, samedir);
        auto b = n.branches();
        if (dir_markers(layers_[0], b->front().fd.get(), "").opacity == DirOpacity::opaque) return 0;
        if (!merged(to_dir)) return 0;
        return upper_->set_opaque(b->front().fd.get()) < 0 ? -EXDEV : 0;
    };
    if (int err = mark(*s.n, src_dir, newdir); err < 0) return err;
    if (exchange) {
        if (int err = mark(*d.n, dst_dir, olddir); err < 0) return err;
    }

    // Like ovl_rename: a directory that receives an object numbered after its lower copy is
    // marked impure, so that its listings, built again later or after a remount, look the
    // number up in overlay.origin.
    if (!samedir) {
        if (numbered_from_lower(*s.n)) upper_->set_impure(npfd);
        if (exchange && numbered_from_lower(*d.n)) upper_->set_impure(opfd);
    }

    int r = ::renameat2(opfd, on.c_str(), npfd, nn.c_str(), how);
    if (r != 0 && how == RENAME_WHITEOUT && (errno == EINVAL || errno == EPERM)) {
        // No RENAME_WHITEOUT here (or ".wh." whiteouts): rename, then leave the whiteout.
        r = ::renameat(opfd, on.c_str(), npfd, nn.c_str());
        if (r == 0) {
            if (int err = upper_->make_whiteout(opfd, on.c_str()); err < 0) return err;
        }
    }
    if (r != 0) {
        // Failed, but not without traces, as in the kernel: the copy-ups stay, and ext4's
        // RENAME_WHITEOUT touches the old directory even when it then finds the target not
        // empty. The kernel cached both directories' times; they may be stale now.
        int err = -errno;
        attr_changed(olddir);
        if (!samedir) attr_changed(newdir);
        return err;
    }
    if (cleanup_whiteout) ::unlinkat(opfd, on.c_str(), 0);

    if (exchange) {
        // Each name keeps what it covers below; the objects trade places.
        DirEntry at_old = *dst, at_new = *src;
        at_old.name = on;
        at_old.covers_lower = src->covers_lower;
        at_new.name = nn;
        at_new.covers_lower = dst->covers_lower;
        // So does a ghost below a name.
        at_old.over_ghost = src->over_ghost;
        at_old.ghost_layer = src->ghost_layer;
        at_new.over_ghost = dst->over_ghost;
        at_new.ghost_layer = dst->ghost_layer;
        ol->put(std::move(at_old));
        nl->put(std::move(at_new));
        // Set, not swapped: a node shared by several names (hard links) may have been
        // reached through another name than these two.
        move_node(*s.n, &newdir, nn);
        move_node(*d.n, &olddir, on);
        return 0;
    }
    DirEntry moved = *src;
    moved.name = nn;
    moved.covers_lower = dst ? (dst->covers_lower || dst->layer != 0) : new_whiteout;
    moved.over_ghost = ghost || (dst && dst->over_ghost);
    moved.ghost_layer = ghost ? *ghost : dst ? dst->ghost_layer : 0;
    ol->remove(oldname);
    nl->put(std::move(moved));
    if (src->over_ghost) {
        std::shared_ptr<const BranchList> ob;
        if (stack(olddir, &ob) == 0) restore_ghost(*ob, *ol, on, src->ghost_layer);
    }
    if (d.n && d.n->parent_.get() == &newdir && d.n->name_ == nn) move_node(*d.n, nullptr, "");
    move_node(*s.n, &newdir, nn);
    return 0;
}

}  // namespace ovf::merge
