// The engine's core: layers, the node table, lookup and attributes.
#include "overlayfuse/merge/engine.hpp"
#include "overlayfuse/merge/origin.hpp"

#include <dirent.h>
#include <fcntl.h>

#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <set>
#include <cerrno>

#include "overlayfuse/error.hpp"
#include "overlayfuse/merge/markers.hpp"
#include "overlayfuse/sys.hpp"
#include "upper.hpp"

namespace ovf::merge {

namespace {

Layer open_layer(const LayerSource& src, const MarkerFormats& formats) {
    Layer l;
    l.path = src.path;
    l.label = src.label.empty() ? src.path : src.label;
    l.markers = src.markers;
    l.formats = formats;
    int fd = ::open(src.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        bool names_path = l.label.find(src.path) != std::string::npos;
        throw UserError("cannot open " + l.label + (names_path ? "" : " at " + src.path) + ": " +
                        errno_text(errno));
    }
    l.root.reset(fd);
    struct stat st;
    if (sys::fstat_fd(fd, &st) < 0) throw UserError("cannot stat " + src.path);
    l.dev = st.st_dev;
    l.ino = st.st_ino;
    if (l.markers) {
        for (const auto& path : l.markers->whiteouts) {
            auto slash = path.rfind('/');
            std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
            l.marker_whiteouts[dir].push_back(path.substr(slash == std::string::npos ? 0 : slash + 1));
        }
    }
    return l;
}

using DirId = std::pair<dev_t, ino_t>;

// Whether the chain of ".." from FD's directory (itself excluded) up to this process's "/"
// meets an id of STOP (then *HIT is it) or one of KNOWN (then it is cut short there).
// Every directory walked through is added to SEEN.
bool walk_up(int fd, DirId self, const std::set<DirId>& stop, const std::set<DirId>& known,
             std::vector<DirId>& seen, DirId* hit) {
    std::string up = "..";
    for (DirId prev = self; up.size() < PATH_MAX; up += "/..") {
        struct stat st;
        if (sys::fstatat(fd, up.c_str(), &st) < 0) return false;
        DirId id{st.st_dev, st.st_ino};
        if (id == prev || known.count(id)) return false;  // "/", or a chain walked before
        if (stop.count(id)) {
            *hit = id;
            return true;
        }
        seen.push_back(prev = id);
    }
    return false;
}

// The upper and work directories may neither hold a layer nor sit in one: writes would
// change a layer (the engine's store included). Directories are compared by identity
// along their chains of "..", so symlinks, bind mounts and ".." in the arguments hide
// nothing. Layers are usually siblings: after the first, one fstatat of ".." each finds a
// parent known to lie outside (naming every layer through /proc instead cost 5 us each).
void check_outside_layers(const UpperSource& upper, const std::vector<Layer>& lowers) {
    struct Ours {
        std::string what;  // "upper directory /x"
        DirId id;
        std::set<DirId> chain;  // itself and its ancestors
    };
    std::vector<Ours> ours;
    std::set<DirId> ids, none;
    for (auto [what, given] : {std::pair{"upper directory ", &upper.upper}, {"work directory ", &upper.work}}) {
        UniqueFd fd(::open(given->c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        struct stat st;
        if (!fd || sys::fstat_fd(fd.get(), &st) < 0) continue;  // Upper names what is missing
        Ours o{what + sys::resolved_dir_name(fd.get(), *given), {st.st_dev, st.st_ino}, {}};
        std::vector<DirId> chain{o.id};
        DirId unused;
        walk_up(fd.get(), o.id, none, none, chain, &unused);
        o.chain.insert(chain.begin(), chain.end());
        ids.insert(o.id);
        ours.push_back(std::move(o));
    }
    std::set<DirId> outside;  // directories whose chains meet neither of ours
    for (const auto& l : lowers) {
        DirId self{l.dev, l.ino}, hit{};
        const Ours* overlap = nullptr;
        for (const auto& o : ours)
            if (!overlap && o.chain.count(self)) overlap = &o;  // the layer is it or holds it
        std::vector<DirId> seen;
        if (!overlap && walk_up(l.root.get(), self, ids, outside, seen, &hit))
            for (const auto& o : ours)
                if (o.id == hit) overlap = &o;  // the layer sits in it
        if (!overlap) {
            outside.insert(seen.begin(), seen.end());
            continue;
        }
        std::string lower = sys::resolved_dir_name(l.root.get(), l.path);
        bool label_names_it = lower.empty() || l.label.find(lower) != std::string::npos;
        throw UserError(overlap->what + " overlaps " + l.label + (label_names_it ? "" : " (" + lower + ")") +
                        ": never write into a layer");
    }
}

}  // namespace

Engine::Engine(std::vector<LayerSource> lowers, MarkerFormats formats,
               std::optional<UpperSource> upper) {
    if (lowers.empty()) throw UserError("no layers to mount");
    if (lowers.size() + 1 > UINT16_MAX) throw UserError("too many layers");
    std::vector<Layer> opened;
    for (const auto& s : lowers) {
        MarkerFormats f = formats;
        if (s.upper_format) f.aufs_files = f.xattr_whiteouts = false;
        opened.push_back(open_layer(s, f));
    }
    if (upper) {
        // Before Upper empties WORK/work: that must never be inside a layer.
        check_outside_layers(*upper, opened);
        upper_ = std::make_unique<Upper>(*upper);
        layers_.push_back(open_layer({upper->upper, "upper directory " + upper->upper, nullptr},
                                     upper_->read_formats(formats)));
    }
    for (auto& l : opened) layers_.push_back(std::move(l));
    for (const auto& l : layers_) fs_index_.emplace(l.dev, static_cast<unsigned>(fs_index_.size()));
    single_fs_ = fs_index_.size() == 1;
    if (upper_) origins_ = std::make_unique<Origins>(layers_, upper->user_xattrs);
    // Like the kernel overlay: names as long as the most generous layer allows (asked once
    // per filesystem; fstatfs works on O_PATH descriptors).
    name_max_ = 0;
    for (const auto& [dev, index] : fs_index_) {
        auto l = std::find_if(layers_.begin(), layers_.end(), [&](const Layer& x) { return x.dev == dev; });
        struct statfs sf;
        if (::fstatfs(l->root.get(), &sf) == 0) name_max_ = std::max<size_t>(name_max_, sf.f_namelen);
    }
    if (name_max_ == 0) name_max_ = 255;

    // The root merges every layer: like the kernel, opacity of a layer root is ignored.
    BranchList branches;
    for (size_t i = 0; i < layers_.size(); ++i) {
        int fd = ::fcntl(layers_[i].root.get(), F_DUPFD_CLOEXEC, 0);
        if (fd < 0) throw UserError("cannot open " + layers_[i].label + ": " + errno_text(errno));
        Branch b{static_cast<uint16_t>(i), false, UniqueFd(fd), nullptr};
        b.has_xwhiteouts = dir_markers(layers_[i], fd, "").opacity == DirOpacity::has_xwhiteouts;
        branches.push_back(std::move(b));
    }
    struct stat st;
    sys::fstat_fd(branches.front().fd.get(), &st);
    size_t n = branches.size();
    root_ = std::make_shared<Node>(std::move(branches), view_attr(st, 0, n));
}

Engine::~Engine() = default;

ino_t Engine::map_ino(size_t layer, ino_t ino) const {
    // One filesystem: real inode numbers, as the kernel reports them. Several: fold the
    // filesystem's index into the high bits (the kernel's "xino") so numbers stay unique.
    if (single_fs_) return ino;
    unsigned idx = fs_index_.at(layers_[layer].dev);
    return idx == 0 || ino >> 56 ? ino : ino | (static_cast<ino_t>(idx) << 56);
}

struct stat Engine::view_attr(const struct stat& real, size_t layer, size_t nbranches) const {
    struct stat st = real;
    st.st_ino = map_ino(layer, real.st_ino);
    // The kernel does not count subdirectories across layers: a merged directory has nlink 1.
    if (S_ISDIR(st.st_mode) && nbranches > 1) st.st_nlink = 1;
    return st;
}

const Branch* Engine::branch_in(const BranchList& list, uint16_t layer) const {
    for (const auto& b : list)
        if (b.layer == layer) return &b;
    return nullptr;
}

size_t Engine::node_count() const {
    std::lock_guard lock(table_mu_);
    return owned_.size();
}

int Engine::listing(Node& dir, std::shared_ptr<const Listing>* out) {
    std::shared_ptr<Listing> l;
    int err = listing_rw(dir, &l);
    *out = std::move(l);
    return err;
}

int Engine::listing_rw(Node& dir, std::shared_ptr<Listing>* out) {
    if (!dir.is_dir()) return -ENOTDIR;
    std::shared_ptr<const BranchList> branches;
    if (int err = stack(dir, &branches); err < 0) return err;
    std::lock_guard lock(dir.dir_->mu);
    if (!dir.dir_->listing) {
        std::vector<DirEntry> entries;
        size_t hidden = 0;
        int err = build_listing(dir, *branches, entries, &hidden);
        if (err < 0) return err;
        dir.dir_->listing = std::make_shared<Listing>(std::move(entries));
        dir.dir_->listing->set_hidden_xwhiteouts(hidden);
    }
    *out = dir.dir_->listing;
    return 0;
}

int Engine::lookup(Node& dir, std::string_view name, Node** out, struct stat* attr) {
    if (name.empty() || name.find('/') != std::string_view::npos) return -EINVAL;
    if (name.size() > name_max_) return -ENAMETOOLONG;
    if (name == "." || name == "..") return -EINVAL;  // the kernel resolves these itself
    std::shared_ptr<const Listing> list;
    if (int err = listing(dir, &list); err < 0) return err;
    uint32_t slot = Node::kNoSlot;
    auto e = list->find(name, &slot);
    if (!e) return -ENOENT;
    std::shared_ptr<Node> fresh;
    std::shared_ptr<const BranchList> branches;
    if (int err = stack(dir, &branches); err < 0) return err;
    struct stat made_attr;
    // -ENOENT: an xattr whiteout outside an overlay.opaque=x directory. The kernel's lookup
    // hides it, its readdir lists it and its emptiness check counts it; so does the listing.
    if (int err = make_node(dir, branches, *e, slot, &fresh, &made_attr); err < 0) return err;
    // Lower hard links get one node per name in a writable view: copying up one name must
    // not change the others (the kernel overlay without an index behaves the same).
    bool per_name = writable() && !fresh->is_dir() && e->layer != 0 && made_attr.st_nlink > 1;
    const Node* made = fresh.get();
    *out = adopt(std::move(fresh), per_name);
    if (!attr) return 0;
    // A node made just now was stat'ed just now; one the view already had may have changed.
    if (*out == made) {
        *attr = made_attr;
    } else if (int err = getattr(**out, attr); err < 0) {
        forget(**out, 1);
        return err;
    }
    return 0;
}

namespace {
size_t place_hash(const Node* dir, const std::string& name) {
    return std::hash<std::string>{}(name) ^ (std::hash<const Node*>{}(dir) * 0x9e3779b97f4a7c15ULL);
}
}  // namespace

std::unordered_multimap<size_t, Node*>::iterator Engine::find_named(const Node* dir, const std::string& name) {
    for (auto [it, end] = named_.equal_range(place_hash(dir, name)); it != end; ++it) {
        if (it->second->parent_.get() == dir && it->second->name_ == name) return it;
    }
    return named_.end();
}

void Engine::unindex_named(Node& node) {
    for (auto [it, end] = named_.equal_range(place_hash(node.parent_.get(), node.name_)); it != end; ++it) {
        if (it->second == &node) {
            named_.erase(it);
            break;
        }
    }
    node.per_name_ = false;
}

void Engine::add_key(Node& node, std::pair<dev_t, ino_t> k) {
    if (node.nkeys_ == 0) {
        node.key_ = k;
        node.nkeys_ = 1;
    } else {
        second_keys_[&node] = k;
        node.nkeys_ = 2;
    }
    table_.emplace(k, &node);
}

Node* Engine::adopt(std::shared_ptr<Node> fresh, bool per_name) {
    // A node per name is indexed by a hash of its place; the node itself says where it is,
    // so the name is stored once (a walk of a writable view of hard-linked files met one per
    // file).
    std::lock_guard lock(table_mu_);
    Node* found = nullptr;
    if (per_name) {
        if (auto it = find_named(fresh->parent_.get(), fresh->name_); it != named_.end()) found = it->second;
    } else if (auto it = table_.find(fresh->key_); it != table_.end()) {
        found = it->second;
    }
    if (found) {
        ++found->nlookup_;
        return found;
    }
    if (per_name) {
        fresh->nkeys_ = 0;  // its layer object may be shared by other names' nodes
        fresh->per_name_ = true;
        named_.emplace(place_hash(fresh->parent_.get(), fresh->name_), fresh.get());
    } else {
        table_.emplace(fresh->key_, fresh.get());
    }
    Node* n = fresh.get();
    n->nlookup_ = 1;
    n->owner_slot_ = static_cast<uint32_t>(owned_.size());
    owned_.push_back(std::move(fresh));
    return n;
}

void Engine::move_node(Node& node, Node* dir, const std::string& name) {
    std::shared_ptr<Node> old_parent;  // released after the lock: it may be the last reference
    std::lock_guard lock(table_mu_);
    bool per_name = node.per_name_;
    if (per_name) unindex_named(node);
    old_parent = std::move(node.parent_);
    node.parent_ = dir ? dir->shared_from_this() : nullptr;
    if (dir) node.name_ = name;
    node.slot_ = Node::kNoSlot;
    if (!dir || !per_name) return;
    // A node still indexed at the new place lost its name to this one.
    if (auto it = find_named(dir, name); it != named_.end()) {
        it->second->per_name_ = false;
        named_.erase(it);
    }
    node.per_name_ = true;
    named_.emplace(place_hash(dir, name), &node);
}

void Engine::forget(Node& node, uint64_t n) {
    if (&node == root_.get()) return;
    std::shared_ptr<Node> dying;  // released after the lock: it may drop its parent
    std::lock_guard lock(table_mu_);
    node.nlookup_ = n >= node.nlookup_ ? 0 : node.nlookup_ - n;
    if (node.nlookup_ != 0) return;
    auto drop_key = [this, &node](std::pair<dev_t, ino_t> k) {
        auto it = table_.find(k);
        if (it != table_.end() && it->second == &node) table_.erase(it);
    };
    if (node.nkeys_ >= 1) drop_key(node.key_);
    if (node.nkeys_ == 2) {
        if (auto it = second_keys_.find(&node); it != second_keys_.end()) {
            drop_key(it->second);
            second_keys_.erase(it);
        }
    }
    if (node.per_name_) unindex_named(node);
    if (uint32_t slot = node.owner_slot_; slot != Node::kNotOwned) {
        node.owner_slot_ = Node::kNotOwned;
        dying = std::move(owned_[slot]);
        if (slot + 1 != owned_.size()) {
            owned_[slot] = std::move(owned_.back());
            owned_[slot]->owner_slot_ = slot;
        }
        owned_.pop_back();
    }
}

bool Engine::is_ghost(const BranchList& branches, const DirEntry& e, const struct stat* known) const {
    if (e.type != DT_REG || !layers_[e.layer].formats.xattr_whiteouts) return false;
    const Branch* b = branch_in(branches, e.layer);
    struct stat st;
    if (!b || (!known && sys::fstatat(b->fd.get(), e.name.c_str(), &st) < 0)) return false;
    if (!known) known = &st;
    return S_ISREG(known->st_mode) && known->st_size == 0 &&
           is_xattr_whiteout(b->fd.get(), e.name.c_str(), layers_[e.layer].formats);
}

void Engine::restore_ghost(const BranchList& branches, Listing& list, const std::string& name, uint16_t layer) {
    const Branch* b = branch_in(branches, layer);
    struct stat st;
    if (!b || sys::fstatat(b->fd.get(), name.c_str(), &st) < 0) return;  // the layer changed
    DirEntry ghost{name, map_ino(layer, st.st_ino), {}, layer, DT_REG, false};
    if (is_ghost(branches, ghost, &st)) list.put(std::move(ghost));
}

int Engine::make_node(Node& dir, const std::shared_ptr<const BranchList>& parent_list,
                      const DirEntry& e, uint32_t slot, std::shared_ptr<Node>* out,
                      struct stat* attr) const {
    const BranchList& parent = *parent_list;
    const Branch* pb = branch_in(parent, e.layer);
    if (!pb) return -EIO;
    int fd = sys::open_path(pb->fd.get(), e.name.c_str());
    // The listing saw this name: if it is gone now, the layer changed under the mount. Out
    // of descriptors is said as it is, not blamed on the layer.
    if (fd == -EMFILE || fd == -ENFILE) return fd;
    if (fd < 0) return -EIO;
    Branch top{e.layer, false, UniqueFd(fd), nullptr};
    struct stat st;
    if (sys::fstat_fd(fd, &st) < 0) return -EIO;
    if (IFTODT(st.st_mode) != e.type) return -EIO;
    // Like the kernel's lookup, an empty file marked overlay.whiteout hides the name even
    // outside an overlay.opaque=x directory (its readdir still lists it, and so do we).
    if (S_ISREG(st.st_mode) && st.st_size == 0 && is_ghost(parent, e, &st)) return -ENOENT;

    BranchList branches;
    DirMarkers top_markers;
    bool defer = false;  // a directory whose lower copies are opened on first need
    if (S_ISDIR(st.st_mode)) {
        top.where = std::make_shared<const std::string>(pb->path_of(e.name));
        top_markers = dir_markers(layers_[e.layer], top.fd.get(), top.path());
        top.has_xwhiteouts = top_markers.opacity == DirOpacity::has_xwhiteouts;
        branches.push_back(std::move(top));
        // Without a redirect the lower copies are the ones the parent's listing names, so
        // whether the directory merges is known without opening them.
        defer = top_markers.opacity != DirOpacity::opaque && top_markers.redirect.empty() &&
                !e.lower_dirs.empty();
        if (!defer) {
            if (int err = dir_stack_rest(parent, e, top_markers, branches); err < 0) return err;
        }
    } else {
        branches.push_back(std::move(top));
    }
    struct stat view = view_attr(st, e.layer, defer ? 2 : branches.size());
    view.st_ino = e.ino;  // the listing's number: stays the same across copy-up
    auto node = std::make_shared<Node>(std::move(branches), view);
    node->key_ = {st.st_dev, st.st_ino};
    node->nkeys_ = 1;
    // Copy-up, rename and unlink need to know where a node was reached; a read-only view asks
    // a directory for its parent (".."), and read-ahead a file for its place in the listing,
    // so its files do without their names.
    node->parent_ = dir.shared_from_this();
    node->slot_ = slot;
    if (writable() || node->is_dir()) node->name_ = e.name;
    if (node->is_dir() && e.layer == 0) node->dir_->redirect = top_markers.redirect;
    if (defer) {
        // The parent's list keeps its copies open until the stack is complete.
        node->dir_->pending = std::make_unique<Node::PendingStack>(Node::PendingStack{parent_list, e});
        node->pending_flag_.store(true, std::memory_order_release);
    }
    *attr = view;
    *out = std::move(node);
    return 0;
}

namespace {

// Finds directory PATH (components separated by '/') below ROOT, which is ROOT_PATH in
// LAYER, one component at a time without following symlinks. Returns the O_PATH fd, -ENOENT
// when the layer does not have it, or -ENOTDIR when a whiteout or a non-directory ends the
// search. *OPAQUE_ON_WAY is set when a directory on the way (not PATH itself) is opaque: as
// in the kernel's lookup of a redirect, no layer below this one is searched then.
int find_dir(const Layer& layer, int root, const std::string& root_path, const std::string& path,
             bool* opaque_on_way) {
    std::vector<std::string> comps;
    for (size_t start = 0; start < path.size();) {
        size_t end = std::min(path.find('/', start), path.size());
        if (end > start) comps.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    UniqueFd cur(::openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    std::string at = root_path;
    for (size_t i = 0; i < comps.size(); ++i) {
        int fd = sys::open_dir_path(cur.get(), comps[i].c_str());
        if (fd == -ENOENT) return -ENOENT;
        if (fd < 0) return -ENOTDIR;  // a whiteout, a file or a symlink ends the search
        cur.reset(fd);
        at = at.empty() ? comps[i] : at + "/" + comps[i];
        if (i + 1 < comps.size() && dir_markers(layer, cur.get(), at).opacity == DirOpacity::opaque)
            *opaque_on_way = true;
    }
    return cur.release();
}

}  // namespace

int Engine::dir_stack_rest(const BranchList& parent, const DirEntry& e, DirMarkers m,
                           BranchList& out) const {
    // Lower copies come from the parent's listing (E.lower_dirs) until a redirect says they
    // live under another name or path; then each lower layer is searched for it.
    enum class Source { listing, parent_name, layer_path } source = Source::listing;
    std::string where;  // the name (parent_name) or path (layer_path) to search for
    size_t next_listed = 0;
    while (m.opacity != DirOpacity::opaque) {
        uint16_t below = out.back().layer;
        if (!m.redirect.empty()) {
            source = m.redirect[0] == '/' ? Source::layer_path : Source::parent_name;
            where = m.redirect[0] == '/' ? m.redirect.substr(1) : m.redirect;
        }
        Branch next;
        bool found = false, stop = false;
        if (source == Source::listing) {
            if (next_listed >= e.lower_dirs.size()) break;
            const Branch* lb = branch_in(parent, e.lower_dirs[next_listed++]);
            if (!lb) return -EIO;
            // Not a directory any more (ENOTDIR) or gone: the layer changed under the mount.
            int fd = sys::open_dir_path(lb->fd.get(), e.name.c_str());
            if (fd == -EMFILE || fd == -ENFILE) return fd;
            if (fd < 0) return -EIO;
            next = {lb->layer, false, UniqueFd(fd), std::make_shared<const std::string>(lb->path_of(e.name))};
            found = true;
        } else {
            for (size_t l = below + 1; l < layers_.size() && !found && !stop; ++l) {
                std::string path;
                int fd;
                bool opaque_on_way = false;
                if (source == Source::parent_name) {
                    const Branch* lb = branch_in(parent, static_cast<uint16_t>(l));
                    if (!lb) continue;
                    fd = find_dir(layers_[l], lb->fd.get(), lb->path(), where, &opaque_on_way);
                    path = lb->path_of(where);
                } else {
                    fd = find_dir(layers_[l], layers_[l].root.get(), "", where, &opaque_on_way);
                    path = where;
                }
                if (fd == -ENOTDIR || opaque_on_way) stop = true;
                if (fd < 0) continue;
                auto at = std::make_shared<const std::string>(std::move(path));
                next = {static_cast<uint16_t>(l), false, UniqueFd(fd), std::move(at)};
                found = true;
            }
        }
        if (!found) break;
        m = dir_markers(layers_[next.layer], next.fd.get(), next.path());
        next.has_xwhiteouts = m.opacity == DirOpacity::has_xwhiteouts;
        out.push_back(std::move(next));
        if (stop) break;  // found where the search had to end: nothing below merges
    }
    return 0;
}

ino_t Engine::parent_ino(const Node& node) {
    std::lock_guard ns(ns_mu_);
    return node.parent_ ? node.parent_->ino() : node.ino();
}

int Engine::stack(Node& node, std::shared_ptr<const BranchList>* out) const {
    if (node.pending_flag_.load(std::memory_order_acquire)) {
        std::lock_guard lock(node.dir_->mu);
        if (auto& pending = node.dir_->pending) {
            auto current = node.branches();
            const Branch& top = current->front();
            BranchList list;
            UniqueFd again(::fcntl(top.fd.get(), F_DUPFD_CLOEXEC, 0));
            list.push_back({top.layer, top.has_xwhiteouts, std::move(again), top.where});
            DirMarkers m;
            m.opacity = top.has_xwhiteouts ? DirOpacity::has_xwhiteouts : DirOpacity::merged;
            int err = list.front().fd ? dir_stack_rest(*pending->parent, pending->entry, m, list) : -errno;
            if (err < 0) return err;  // tried again next time; the caller reports it
            node.branches_.store(std::make_shared<const BranchList>(std::move(list)));
            pending.reset();
            node.pending_flag_.store(false, std::memory_order_release);
        }
    }
    *out = node.branches();
    return 0;
}

// Asked of the layer each time, as the kernel overlay does: the kernel caches attributes of
// read-only views for a day, so this is rare there, and a node is 80 bytes smaller for it.
int Engine::getattr(Node& node, struct stat* st) const {
    auto branches = node.branches();
    if (sys::fstat_fd(branches->front().fd.get(), st) < 0) return -EIO;
    *st = view_attr(*st, branches->front().layer, node.merged() ? 2 : 1);
    st->st_ino = node.ino();
    return 0;
}

}  // namespace ovf::merge
