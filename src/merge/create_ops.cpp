// Creating names in a writable view: create, mknod, mkdir, symlink, link. New objects go to
// the upper directory, owned by the caller. Over a whiteout the object is made in the work
// directory and exchanged with the whiteout in one rename, as the kernel does; a directory
// made there is opaque, so what the whiteout hid stays hidden.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "overlayfuse/merge/engine.hpp"
#include "overlayfuse/merge/markers.hpp"
#include "overlayfuse/sys.hpp"
#include "upper.hpp"

namespace ovf::merge {

namespace {

constexpr const char* kDefaultAcl = "system.posix_acl_default";

int check_name(std::string_view name) {
    if (name.size() > 255) return -ENAMETOOLONG;
    if (name.empty() || name.find('/') != std::string_view::npos || name == "." || name == "..")
        return -EINVAL;
    return 0;
}

// Does the upper directory PFD hold a whiteout for NAME, so that the new object covers
// lower ones? -EEXIST if it holds anything else (someone changed the upper behind us).
int upper_whiteout(int pfd, const std::string& name, bool* found) {
    struct stat st;
    *found = false;
    int err = sys::fstatat(pfd, name.c_str(), &st);
    if (err == 0) {
        if (!is_whiteout_device(st)) return -EEXIST;
        *found = true;
        return 0;
    }
    if (err != -ENOENT) return err;
    std::string wh = std::string(kAufsWhiteoutPrefix) + name;
    *found = sys::fstatat(pfd, wh.c_str(), &st) == 0;
    return 0;
}

// The default POSIX ACL of the directory FD ("" when it has none), which new objects in it
// inherit instead of having the caller's umask applied.
std::string default_acl(int fd) {
    std::string path = sys::proc_fd_path(fd);
    ssize_t n = ::getxattr(path.c_str(), kDefaultAcl, nullptr, 0);
    if (n <= 0) return {};
    std::string value(static_cast<size_t>(n), '\0');
    n = ::getxattr(path.c_str(), kDefaultAcl, value.data(), value.size());
    if (n <= 0) return {};
    value.resize(static_cast<size_t>(n));
    return value;
}

// Gives the new object NAME of the directory AT (the object AT itself when NAME is "") to
// WHO, in the upper directory PFD: a set-group-ID parent's group, else WHO's. chown clears
// the set-id bits of a file just created with them: they are put back.
int give_to(const Caller& who, int pfd, int at, const char* name) {
    int flags = *name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH;
    struct stat parent, made;
    if (sys::fstat_fd(pfd, &parent) < 0 || sys::fstatat(at, name, &made, flags | AT_SYMLINK_NOFOLLOW) < 0) return -EIO;
    gid_t gid = (parent.st_mode & S_ISGID) ? parent.st_gid : who.gid;
    if (::fchownat(at, name, who.uid, gid, flags) != 0) return -errno;
    if (S_ISREG(made.st_mode) && (made.st_mode & 06000)) {
        int r = *name ? ::fchmodat(at, name, made.st_mode & 07777, 0) : ::fchmod(at, made.st_mode & 07777);
        if (r != 0) return -errno;
    }
    return 0;
}

}  // namespace

int Engine::make_in_upper(Node& dir, std::string_view name, bool is_dir, const MakeFn& make,
                          const Caller* who, int* fd_out, Node** out) {
    if (!writable()) return -EROFS;
    if (int err = check_name(name); err < 0) return err;
    std::shared_ptr<const Listing> list;
    if (int err = listing(dir, &list); err < 0) return err;
    std::optional<uint16_t> ghost;  // the layer of a ghost the new object goes over
    if (auto e = list->find(name)) {
        std::shared_ptr<const BranchList> branches;
        if (int err = stack(dir, &branches); err < 0) return err;
        if (!is_ghost(*branches, *e)) return -EEXIST;
        ghost = e->layer;
    }
    if (int err = copy_up(dir); err < 0) return err;
    int pfd = dir.branches()->front().fd.get();
    std::string n(name);
    bool over_whiteout = false;
    if (int err = upper_whiteout(pfd, n, &over_whiteout); err < 0) return err;

    int work = upper_->work_fd();
    std::string tmp = upper_->temp_name();
    int at = over_whiteout ? work : pfd;
    const char* at_name = over_whiteout ? tmp.c_str() : n.c_str();
    // Under a default ACL the new object inherits it and the umask does not apply. Made in
    // the work directory, it is made inside a directory of its own carrying the same default
    // ACL, so that the filesystem computes what it would have in place.
    std::string acl = who ? default_acl(pfd) : std::string();  // a new name (link) keeps its inode's
    UniqueFd acl_dir;
    if (over_whiteout && !acl.empty()) {
        if (::mkdirat(work, tmp.c_str(), 0700) != 0) return -errno;
        acl_dir.reset(::openat(work, tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!acl_dir || ::setxattr(sys::proc_fd_path(acl_dir.get()).c_str(), kDefaultAcl, acl.data(), acl.size(), 0) != 0) {
            int err = -errno;
            Upper::remove_tree(work, tmp.c_str());
            return err;
        }
        at = acl_dir.get();
        at_name = "new";
    }
    // Whatever happens below, the directory made for the default ACL goes (with what the
    // exchange left in it).
    struct AclDirCleanup {
        int work;
        const std::string& tmp;
        bool made;
        ~AclDirCleanup() {
            if (made) Upper::remove_tree(work, tmp.c_str());
        }
    } acl_dir_cleanup{work, tmp, static_cast<bool>(acl_dir)};
    int r = make(at, at_name, acl.empty() && who ? who->umask : 0);
    if (r < 0) return r;
    UniqueFd fd(r > 0 ? r : -1);
    auto undo = [&](int err) {
        Upper::remove_tree(at, at_name);
        return err;
    };
    // The object already belongs to the daemon's own ids; when the caller has the same ones
    // (root in a root-mounted view, a user in their own view) there is nothing to change,
    // unless it was made in the work directory: a set-group-ID parent's group was inherited
    // only when it was made in place.
    bool owned = who && who->uid == upper_->own_uid() && who->gid == upper_->own_gid() && !over_whiteout;
    if (who && !owned) {
        if (int err = give_to(*who, pfd, at, at_name); err < 0) return undo(err);
    }
    if (over_whiteout) {
        if (is_dir) {
            int dfd = sys::open_path(at, at_name);
            if (dfd < 0) return undo(dfd);
            UniqueFd guard(dfd);
            if (int err = upper_->set_opaque(dfd); err < 0) return undo(err);
        }
        struct stat st;
        if (sys::fstatat(pfd, n.c_str(), &st) == 0) {
            if (::renameat2(at, at_name, pfd, n.c_str(), RENAME_EXCHANGE) != 0) return undo(-errno);
            ::unlinkat(at, at_name, 0);  // the whiteout, now in the work directory
        } else {
            // The fallback ".wh.NAME" form: the layer's own NAME wins over its marker.
            if (::renameat2(at, at_name, pfd, n.c_str(), RENAME_NOREPLACE) != 0) return undo(-errno);
            ::unlinkat(pfd, (std::string(kAufsWhiteoutPrefix) + n).c_str(), 0);
        }
    }
    int err = enter_new(dir, n, over_whiteout, ghost, out);
    if (err == 0 && fd_out) *fd_out = fd.release();
    return err;
}

int Engine::enter_new(Node& dir, std::string_view name, bool covers_lower, std::optional<uint16_t> ghost,
                      Node** out) {
    std::string n(name);
    int fd = sys::open_path(dir.branches()->front().fd.get(), n.c_str());
    if (fd < 0) return fd;
    UniqueFd guard(fd);
    struct stat st;
    if (sys::fstat_fd(fd, &st) < 0) return -EIO;
    struct stat view = view_attr(st, 0, 1);
    std::shared_ptr<Listing> l;
    if (int err = listing_rw(dir, &l); err < 0) return err;
    DirEntry e{n, view.st_ino, {}, 0, static_cast<uint8_t>(IFTODT(st.st_mode)), covers_lower};
    // Over a ghost: not a whiteout below, for unlink (the kernel's ovl_lower_positive says
    // the same), but shown again once this name goes.
    e.over_ghost = ghost.has_value();
    e.ghost_layer = ghost.value_or(0);
    l->put(std::move(e));
    *out = adopt_upper(dir, n, std::move(guard), st);
    return 0;
}

Node* Engine::adopt_upper(Node& dir, const std::string& name, UniqueFd fd, const struct stat& st) {
    BranchList b;
    b.push_back({0, false, std::move(fd), nullptr});
    auto node = std::make_shared<Node>(std::move(b), view_attr(st, 0, 1));
    node->key_ = {st.st_dev, st.st_ino};
    node->nkeys_ = 1;
    node->parent_ = dir.shared_from_this();
    node->name_ = name;
    return adopt(std::move(node));
}

int Engine::create(Node& dir, std::string_view name, mode_t mode, int flags, const Caller& who,
                   Node** out, int* fd) {
    *fd = -1;
    int oflags = (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC)) | O_CREAT | O_EXCL | O_CLOEXEC;
    auto make = [oflags, mode](int at, const char* n, mode_t umask) {
        int r = ::openat(at, n, oflags, (mode & 07777) & ~umask);
        return r >= 0 ? r : -errno;
    };
    std::lock_guard ns(ns_mu_);
    return make_in_upper(dir, name, false, make, &who, fd, out);
}

int Engine::tmpfile(Node& dir, mode_t mode, int flags, const Caller& who, Node** out, int* fd) {
    *fd = -1;
    if (!writable()) return -EROFS;
    if (!dir.is_dir()) return -ENOTDIR;
    std::lock_guard ns(ns_mu_);
    if (int err = copy_up(dir); err < 0) return err;
    int pfd = dir.branches()->front().fd.get();
    mode_t umask = default_acl(pfd).empty() ? who.umask : 0;
    int oflags = (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_TMPFILE)) | O_TMPFILE | O_CLOEXEC;
    if ((oflags & O_ACCMODE) == O_RDONLY) oflags |= O_RDWR;  // the kernel refuses O_TMPFILE read-only
    UniqueFd file(::openat(pfd, ".", oflags, (mode & 07777) & ~umask));
    if (!file) return -errno;
    if (who.uid != upper_->own_uid() || who.gid != upper_->own_gid()) {
        if (int err = give_to(who, pfd, file.get(), ""); err < 0) return err;
    }
    struct stat st;
    if (sys::fstat_fd(file.get(), &st) < 0) return -EIO;
    UniqueFd path(::open(sys::proc_fd_path(file.get()).c_str(), O_PATH | O_CLOEXEC));  // the file, not the link
    if (!path) return -EIO;
    *out = adopt_upper(dir, "", std::move(path), st);  // no name: nothing to copy up, ever
    *fd = file.release();
    return 0;
}

int Engine::mknod(Node& dir, std::string_view name, mode_t mode, dev_t rdev, const Caller& who,
                  Node** out) {
    auto make = [mode, rdev](int at, const char* n, mode_t umask) {
        return ::mknodat(at, n, (mode & S_IFMT) | ((mode & 07777) & ~umask), rdev) == 0 ? 0 : -errno;
    };
    std::lock_guard ns(ns_mu_);
    return make_in_upper(dir, name, false, make, &who, nullptr, out);
}

int Engine::mkdir(Node& dir, std::string_view name, mode_t mode, const Caller& who, Node** out) {
    std::lock_guard ns(ns_mu_);
    auto make = [this, &dir, mode](int at, const char* n, mode_t umask) {
        mode_t m = (mode & 07777) & ~umask;
        struct stat parent;
        sys::fstat_fd(dir.branches()->front().fd.get(), &parent);
        if (::mkdirat(at, n, m & 01777) != 0) return -errno;
        // A setgid parent passes its bit on; made in the work directory (over a whiteout),
        // the new directory does not inherit it by itself. chown keeps it on directories.
        // The mode it got stays (a default ACL may have narrowed it).
        if (!(parent.st_mode & S_ISGID)) return 0;
        struct stat made;
        if (int err = sys::fstatat(at, n, &made); err < 0) return err;
        if (::fchmodat(at, n, (made.st_mode & 07777) | S_ISGID, 0) != 0) return -errno;
        return 0;
    };
    return make_in_upper(dir, name, true, make, &who, nullptr, out);
}

int Engine::symlink(Node& dir, std::string_view name, const std::string& target, const Caller& who,
                    Node** out) {
    auto make = [&target](int at, const char* n, mode_t) {
        return ::symlinkat(target.c_str(), at, n) == 0 ? 0 : -errno;
    };
    std::lock_guard ns(ns_mu_);
    return make_in_upper(dir, name, false, make, &who, nullptr, out);
}

int Engine::link(Node& node, Node& dir, std::string_view name, Node** out) {
    if (!writable()) return -EROFS;
    if (node.is_dir()) return -EPERM;
    std::lock_guard ns(ns_mu_);
    // Like the kernel, link() joins the source's upper copy: copy it up first.
    if (int err = copy_up(node); err < 0) return err;
    std::string src = sys::proc_fd_path(node.branches()->front().fd.get());
    auto make = [&src](int at, const char* n, mode_t) {
        return ::linkat(AT_FDCWD, src.c_str(), at, n, AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
    };
    int err = make_in_upper(dir, name, false, make, nullptr, nullptr, out);
    if (err < 0) return err;
    if (numbered_from_lower(node)) upper_->set_impure(dir.branches()->front().fd.get());
    // The new name shows the node's inode number, which copy-up kept from the lower file.
    std::shared_ptr<Listing> l;
    if (listing_rw(dir, &l) == 0) {
        if (auto e = l->find(name)) {
            e->ino = node.ino();
            l->put(std::move(*e));
        }
    }
    return 0;
}

}  // namespace ovf::merge
