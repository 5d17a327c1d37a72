#pragma once
// The merge engine: ordered layer directories in, one merged tree out. It knows nothing of
// FUSE or Docker; the FUSE adapter calls it, and unit tests drive it on plain directories.
//
// With an upper directory the tree is writable: changes land in the upper in the kernel
// overlay's own format (char 0/0 whiteouts, overlay.opaque), copy-up is built in the work
// directory and renamed into place.
//
// Errors are returned as -errno. A layer that changed under a live mount (a file gone or
// replaced) yields -EIO for that object, never a crash.
#include <sys/statvfs.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "overlayfuse/merge/layer.hpp"
#include "overlayfuse/merge/listing.hpp"
#include "overlayfuse/merge/markers.hpp"
#include "overlayfuse/merge/node.hpp"

namespace ovf::merge {

class Origins;

struct PairHash {
    size_t operator()(const std::pair<dev_t, ino_t>& k) const noexcept {
        return std::hash<uint64_t>()(k.second * 0x9E3779B97F4A7C15ull ^ k.first);
    }
};

// A writable view's upper and work directories (same filesystem).
struct UpperSource {
    std::string upper;
    std::string work;
    // Mark opaque directories with user.overlay.opaque (what an unprivileged kernel overlay
    // with "userxattr" reads) rather than trusted.overlay.opaque.
    bool user_xattrs = false;
    // Rename merged directories in place and record overlay.redirect, like the kernel with
    // redirect_dir=on; otherwise such renames fail with EXDEV and tools copy instead.
    bool redirect_dir = false;
};

// Who asks for a change: new objects get the caller's owner, as in the kernel overlay.
struct Caller {
    uid_t uid = 0;
    gid_t gid = 0;
    // Applied to new objects' modes, unless their directory has a default POSIX ACL (then
    // the ACL decides, as in the kernel). 0 when the kernel already applied it.
    mode_t umask = 0;
};

// The attribute changes of one setattr call; unset fields stay as they are.
struct AttrChange {
    std::optional<mode_t> mode;
    std::optional<uid_t> uid;
    std::optional<gid_t> gid;
    std::optional<off_t> size;
    std::optional<timespec> atime;  // tv_nsec may be UTIME_NOW
    std::optional<timespec> mtime;
};

class Upper;

class Engine {
public:
    // LOWERS are top first, as in overlayfs' lowerdir=. Throws ovf::UserError naming the
    // layer if one cannot be opened or is not a directory.
    Engine(std::vector<LayerSource> lowers, MarkerFormats formats = {},
           std::optional<UpperSource> upper = std::nullopt);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    Node& root() { return *root_; }
    bool writable() const { return upper_ != nullptr; }
    size_t layer_count() const { return layers_.size(); }
    const Layer& layer(size_t i) const { return layers_[i]; }

    // ---- reading -------------------------------------------------------------------------
    // Looks NAME up in DIR. On success *OUT holds the child with its lookup count raised by
    // one (the kernel's nlookup); pair every success with forget(). With ATTR, also its
    // attributes as getattr() gives them, without a second stat when the node is new.
    int lookup(Node& dir, std::string_view name, Node** out, struct stat* attr = nullptr);
    // Drops N lookups; the node is freed when none are left. The root is never freed.
    void forget(Node& node, uint64_t n);
    size_t node_count() const;  // live nodes besides the root (tests, memory checks)

    // The merged listing of DIR, built on first use and kept while the node lives.
    int listing(Node& dir, std::shared_ptr<const Listing>* out);

    // ---- read-ahead across files (read_ahead.cpp) -----------------------------------------
    // The kernel's read-ahead never crosses files, so a reader that reads a directory's files
    // in listing order (tar, scanners, cp -r) waits for the disk once per file, where the
    // disk could be fetching the next ones meanwhile. When FILE's first read follows the first
    // read of an earlier file of the same directory, the next few regular files are worth
    // fetching: plan_read_ahead says which (cheap, no I/O) and read_ahead fetches them (the
    // caller runs it on another thread).
    struct ReadAhead {
        std::shared_ptr<Node> dir;
        uint32_t from = 0, to = 0;  // listing slots [from, to)
    };
    bool plan_read_ahead(Node& file, ReadAhead* out);
    // Starts reading the first bytes of JOB's regular files into the layers' page cache;
    // returns how many files it asked for.
    size_t read_ahead(const ReadAhead& job);

    int getattr(Node& node, struct stat* st) const;
    // st_ino of the directory NODE was found in (for ".."); its own for the root.
    ino_t parent_ino(const Node& node);
    int readlink(const Node& node, std::string& target) const;
    // Opens the object for I/O; opening for writing (or O_TRUNC) copies it up first.
    int open(Node& node, int flags);
    // Visible xattrs: overlay-internal ones are hidden and escaped ones unescaped, as the
    // kernel does. Return size (or needed size when SIZE is 0) or -errno.
    ssize_t getxattr(const Node& node, const char* name, void* value, size_t size) const;
    ssize_t listxattr(const Node& node, char* list, size_t size) const;
    int statfs(struct statvfs* st) const;

    // Called when a node's attributes change without the kernel asking (copy-up changes the
    // link count of a hard link and the nlink of a directory that starts merging), so the
    // adapter can drop what the kernel cached.
    void on_attr_change(std::function<void(Node&)> fn) { invalidate_ = std::move(fn); }

    // ---- writing (-EROFS without an upper) --------------------------------------------------
    // Each creating call returns the new node counted as looked up, like lookup().
    int create(Node& dir, std::string_view name, mode_t mode, int flags, const Caller& who,
               Node** out, int* fd);
    // An unnamed file in DIR's upper copy (open(2)'s O_TMPFILE), open for FLAGS in *FD;
    // link() can give it a name later.
    int tmpfile(Node& dir, mode_t mode, int flags, const Caller& who, Node** out, int* fd);
    int mknod(Node& dir, std::string_view name, mode_t mode, dev_t rdev, const Caller& who,
              Node** out);
    int mkdir(Node& dir, std::string_view name, mode_t mode, const Caller& who, Node** out);
    int symlink(Node& dir, std::string_view name, const std::string& target, const Caller& who,
                Node** out);
    int link(Node& node, Node& dir, std::string_view name, Node** out);
    int unlink(Node& dir, std::string_view name);
    int rmdir(Node& dir, std::string_view name);
    int rename(Node& olddir, std::string_view oldname, Node& newdir, std::string_view newname,
               unsigned flags);
    // FD (or -1) is an open descriptor of the file, used for truncation.
    int setattr(Node& node, const AttrChange& change, int fd, struct stat* out);
    int setxattr(Node& node, const char* name, const void* value, size_t size, int flags);
    int removexattr(Node& node, const char* name);

private:
    friend class Upper;
    struct Child;

    int listing_rw(Node& dir, std::shared_ptr<Listing>* out);
    // HIDDEN_XWHITEOUTS, if given, gets how many names an xattr whiteout hides.
    int build_listing(const Node& dir, const BranchList& branches, std::vector<DirEntry>& out,
                      size_t* hidden_xwhiteouts = nullptr) const;
    // SLOT: E's slot in DIR's listing. ATTR gets the new node's attributes as getattr()
    // gives them.
    int make_node(Node& dir, const std::shared_ptr<const BranchList>& parent, const DirEntry& e,
                  uint32_t slot, std::shared_ptr<Node>* out, struct stat* attr) const;
    // Enters a fresh node in the table, or returns the live node with the same key, and
    // counts one lookup. Nodes are found by their layer object, or, for a node per name
    // (PER_NAME), by their parent and name (the fresh node's parent_ and name_).
    Node* adopt(std::shared_ptr<Node> fresh, bool per_name = false);
    // Gives NODE the place (DIR, NAME) after a rename, or none (DIR null) after an unlink.
    void move_node(Node& node, Node* dir, const std::string& name);
    // The live node per name at (DIR, NAME), if any. Holds: table_mu_.
    std::unordered_multimap<size_t, Node*>::iterator find_named(const Node* dir, const std::string& name);
    // Takes NODE, a node per name, out of that index (found by its parent_ and name_, which
    // it still has). Holds: table_mu_.
    void unindex_named(Node& node);
    // Enters K as NODE's table key: its first, or the upper copy's after a copy-up. Holds: table_mu_.
    void add_key(Node& node, std::pair<dev_t, ino_t> k);
    void attr_changed(Node& node) const {
        if (invalidate_) invalidate_(node);
    }
    // Appends a directory's lower copies to OUT, which holds its top copy (whose markers are
    // M), following opacity and redirects (see make_node).
    int dir_stack_rest(const BranchList& parent, const DirEntry& e, DirMarkers m, BranchList& out) const;
    // NODE's copies, with a directory's lower copies opened if that was put off.
    int stack(Node& node, std::shared_ptr<const BranchList>* out) const;
    const Branch* branch_in(const BranchList& list, uint16_t layer) const;
    // Whether E, an entry of the directory whose copies are BRANCHES, is an empty file marked
    // overlay.whiteout in a lower directory without overlay.opaque=x: the kernel's lookup
    // hides it, its readdir lists it and its emptiness check counts it; a new object may be
    // made over it as over nothing (a "ghost"). ST: the copy's attributes, if already known.
    bool is_ghost(const BranchList& branches, const DirEntry& e, const struct stat* st = nullptr) const;
    // After the name NAME of DIR made over a ghost of layer LAYER went away: lists the ghost
    // again, as the kernel's readdir does. Holds: ns_mu_.
    void restore_ghost(const BranchList& branches, Listing& list, const std::string& name, uint16_t layer);
    ino_t map_ino(size_t layer, ino_t ino) const;
    struct stat view_attr(const struct stat& real, size_t layer, size_t nbranches) const;
    // Gives NODE (and its parents first) a copy in the upper layer; WITH_DATA false skips
    // the file's contents (it is about to be truncated to nothing).
    int copy_up(Node& node, bool with_data = true);
    // The child node of DIR called NAME, counted as looked up (the caller forgets it).
    int child(Node& dir, std::string_view name, Node** out);
    // Makes a new name in DIR's upper copy: MAKE creates the object (returning an fd, 0 or
    // -errno) in a directory fd under a name, taking UMASK from the mode it asked for; WHO,
    // if given, becomes its owner. UMASK is WHO's, or 0 under a default POSIX ACL, which the
    // filesystem applies instead (as it does for the kernel overlay).
    using MakeFn = std::function<int(int dirfd, const char* name, mode_t umask)>;
    int make_in_upper(Node& dir, std::string_view name, bool is_dir, const MakeFn& make,
                      const Caller* who, int* fd_out, Node** out);
    // Enters a just-created upper object NAME of DIR in the listing and the node table;
    // GHOST: the layer of a ghost it was made over (Engine::is_ghost).
    int enter_new(Node& dir, std::string_view name, bool covers_lower, std::optional<uint16_t> ghost,
                  Node** out);
    // A node for the new upper object FD (O_PATH; attributes ST) called NAME in DIR ("" for
    // an unnamed file), entered in the table and counted as looked up.
    Node* adopt_upper(Node& dir, const std::string& name, UniqueFd fd, const struct stat& st);
    int remove_entry(Node& dir, std::string_view name, bool want_dir);
    // overlay.redirect for a directory about to move: its old name (within the same parent)
    // or the absolute path of its lower origin.
    std::string redirect_path(const Node& node, bool samedir) const;
    int set_redirect(Node& node, bool samedir);

    std::vector<Layer> layers_;
    bool single_fs_ = true;
    std::map<dev_t, unsigned> fs_index_;
    std::unique_ptr<Upper> upper_;

    std::shared_ptr<Node> root_;
    mutable std::mutex table_mu_;
    std::unordered_map<std::pair<dev_t, ino_t>, Node*, PairHash> table_;
    // Owner of every live node; a node knows its slot (Node::owner_slot_), and a forgotten
    // node's slot takes the last one: 16 bytes a node instead of a hash table's ~56.
    // A deque: it grows by blocks, never copying what it holds nor keeping spare room for
    // as much again.
    std::deque<std::shared_ptr<Node>> owned_;
    std::unordered_multimap<size_t, Node*> named_;  // nodes per name, by a hash of the place
    std::unordered_map<const Node*, std::pair<dev_t, ino_t>> second_keys_;  // see Node::nkeys_
    std::function<void(Node&)> invalidate_;
    // Copied-up objects keep the view's number from their lower copy (the kernel reads it
    // back from overlay.origin). A listing of their directory rebuilt later meets only the
    // upper inode: this maps it back, for the mount's lifetime. The upper inode's birth time
    // tells a number the filesystem gave to a new object since (kept_ino.cpp).
    struct KeptIno {
        ino_t view;
        int64_t btime_sec;
        uint32_t btime_nsec;
    };
    // Records NODE's view number for its upper copy FD (just made by copy-up). Holds: ns_mu_.
    void keep_ino(const Node& node, int fd);
    // The view's number of the upper entry NAME (of type TYPE, a DT_* value) of directory
    // DIRFD, whose real number is INO: the one kept at its copy-up in this mount, else, in
    // an IMPURE directory (one that received copied-up or moved entries), its lower
    // copy's as overlay.origin names it (origin.cpp), else its own. FIXED: whether it was
    // either of the first two.
    ino_t upper_ino(int dirfd, const char* name, ino_t ino, unsigned char type, bool impure, bool* fixed) const;
    // The number kept for upper inode INO (NAME in DIRFD) at its copy-up, if any.
    std::optional<ino_t> kept_ino(int dirfd, const char* name, ino_t ino) const;
    // Whether the view shows upper object NODE under another number than its upper inode's
    // own: a copied-up or merged one (the kernel's type "origin"). A directory that receives
    // one by rename or link is marked impure, so its listings look the number up.
    bool numbered_from_lower(const Node& node) const;
    // Writes overlay.origin naming lower branch SRC on NAME in DIRFD, when the kernel would.
    void set_origin(int dirfd, const std::string& name, const Branch& src) const;
    std::unique_ptr<Origins> origins_;  // writable views only
    mutable std::mutex kept_mu_;
    mutable std::unordered_map<ino_t, KeptIno> kept_;
    size_t name_max_ = 255;
    // Namespace changes (create, unlink, rename, copy-up's final rename) run one at a time:
    // the kernel serialises most of them per directory anyway, and it keeps every listing,
    // upper directory and node consistent with the others.
    std::recursive_mutex ns_mu_;
};

}  // namespace ovf::merge
