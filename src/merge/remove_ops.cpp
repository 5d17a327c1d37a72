// Removing names in a writable view. A name that lower layers also hold is replaced by a
// whiteout in the upper directory; the swap goes through the work directory, so the old
// name never shows through even for a moment.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "overlayfuse/merge/engine.hpp"
#include "overlayfuse/sys.hpp"
#include "upper.hpp"

namespace ovf::merge {

int Engine::child(Node& dir, std::string_view name, Node** out) { return lookup(dir, name, out); }

int Engine::unlink(Node& dir, std::string_view name) { return remove_entry(dir, name, false); }

int Engine::rmdir(Node& dir, std::string_view name) { return remove_entry(dir, name, true); }

int Engine::remove_entry(Node& dir, std::string_view name, bool want_dir) {
    if (!writable()) return -EROFS;
    std::lock_guard ns(ns_mu_);
    std::shared_ptr<Listing> list;
    if (int err = listing_rw(dir, &list); err < 0) return err;
    auto e = list->find(name);
    if (!e) return -ENOENT;
    bool is_dir = e->type == DT_DIR;
    if (want_dir && !is_dir) return -ENOTDIR;
    if (!want_dir && is_dir) return -EISDIR;

    Node* victim = nullptr;
    if (int err = child(dir, name, &victim); err < 0) return err;
    struct Forget {  // the lookup above is ours alone
        Engine* e;
        Node* n;
        ~Forget() { e->forget(*n, 1); }
    } forget_victim{this, victim};
    if (is_dir) {
        std::shared_ptr<const Listing> vl;
        if (int err = listing(*victim, &vl); err < 0) return err;
        if (!vl->counts_as_empty()) return -ENOTEMPTY;
    }

    bool needs_whiteout = e->covers_lower || e->layer != 0;
    if (needs_whiteout) {
        if (int err = copy_up(dir); err < 0) return err;
    }
    int pfd = dir.branches()->front().fd.get();
    std::string n(name);
    int work = upper_->work_fd();
    if (e->layer == 0) {
        // Move the upper object out of the way first (a directory may still hold whiteouts
        // and markers), then delete it at leisure in the work directory.
        std::string tmp = upper_->temp_name();
        if (needs_whiteout && upper_->device_whiteouts()) {
            if (int err = upper_->make_whiteout(work, tmp.c_str()); err < 0) return err;
            if (::renameat2(work, tmp.c_str(), pfd, n.c_str(), RENAME_EXCHANGE) != 0) {
                int err = -errno;
                ::unlinkat(work, tmp.c_str(), 0);
                return err;
            }
        } else {
            if (::renameat(pfd, n.c_str(), work, tmp.c_str()) != 0) return -errno;
            if (needs_whiteout) {
                if (int err = upper_->make_whiteout(pfd, n.c_str()); err < 0) return err;
            }
        }
        Upper::remove_tree(work, tmp.c_str());
    } else if (int err = upper_->make_whiteout(pfd, n.c_str()); err < 0) {
        return err;
    }
    list->remove(name);
    if (e->over_ghost) {
        std::shared_ptr<const BranchList> branches;
        if (stack(dir, &branches) == 0) restore_ghost(*branches, *list, n, e->ghost_layer);
    }
    // The node no longer has this name: a later copy-up must not bring it back here.
    if (victim->parent_.get() == &dir && victim->name_ == n) move_node(*victim, nullptr, "");
    return 0;
}

}  // namespace ovf::merge
