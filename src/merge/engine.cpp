#include "overlayfuse/merge/engine.hpp"

#include <fcntl.h>
#include <sys/statvfs.h>

#include <cerrno>

#include "overlayfuse/error.hpp"
#include "overlayfuse/merge/markers.hpp"
#include "overlayfuse/sys.hpp"

namespace ovf::merge {

namespace {

Layer open_layer(const LayerSource& src) {
    Layer l;
    l.path = src.path;
    l.label = src.label.empty() ? src.path : src.label;
    l.markers = src.markers;
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
    if (l.markers) {
        for (const auto& path : l.markers->whiteouts) {
            auto slash = path.rfind('/');
            std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
            l.marker_whiteouts[dir].push_back(path.substr(slash == std::string::npos ? 0 : slash + 1));
        }
    }
    return l;
}

}  // namespace

Engine::Engine(std::vector<LayerSource> sources, MarkerFormats formats) : formats_(formats) {
    if (sources.empty()) throw UserError("no layers to mount");
    if (sources.size() > UINT16_MAX) throw UserError("too many layers");
    for (const auto& s : sources) layers_.push_back(open_layer(s));
    for (const auto& l : layers_) fs_index_.emplace(l.dev, static_cast<unsigned>(fs_index_.size()));
    single_fs_ = fs_index_.size() == 1;

    // The root merges every layer: like the kernel, opacity of a layer root is ignored.
    std::vector<Branch> branches;
    for (size_t i = 0; i < layers_.size(); ++i) {
        int fd = ::openat(layers_[i].root.get(), ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) throw UserError("cannot open " + layers_[i].label + ": " + errno_text(errno));
        Branch b{static_cast<uint16_t>(i), UniqueFd(fd), false};
        b.has_xwhiteouts =
            dir_opacity(layers_[i], fd, "", formats_) == DirOpacity::has_xwhiteouts;
        branches.push_back(std::move(b));
    }
    struct stat st;
    sys::fstat_fd(branches.front().fd.get(), &st);
    size_t n = branches.size();
    root_ = std::make_unique<Node>(std::move(branches), view_attr(st, 0, n), "");
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

ino_t Engine::entry_ino(const Node& dir, const DirEntry& e) const {
    return map_ino(dir.branches()[e.branch].layer, e.real_ino);
}

size_t Engine::node_count() const {
    std::lock_guard lock(table_mu_);
    return table_.size();
}

int Engine::listing(Node& dir, std::shared_ptr<const Listing>* out) {
    if (!dir.is_dir()) return -ENOTDIR;
    std::lock_guard lock(dir.listing_mu_);
    if (!dir.listing_) {
        std::vector<DirEntry> entries;
        int err = build_listing(dir, entries);
        if (err < 0) return err;
        dir.listing_ = std::make_shared<const Listing>(std::move(entries));
    }
    *out = dir.listing_;
    return 0;
}

int Engine::lookup(Node& dir, std::string_view name, Node** out) {
    if (name.empty() || name.find('/') != std::string_view::npos) return -EINVAL;
    if (name == "." || name == "..") return -EINVAL;  // the kernel resolves these itself
    std::shared_ptr<const Listing> list;
    if (int err = listing(dir, &list); err < 0) return err;
    const DirEntry* e = list->find(name);
    if (!e) return -ENOENT;

    std::unique_ptr<Node> fresh;
    if (int err = make_node(dir, *e, name, &fresh); err < 0) return err;

    std::lock_guard lock(table_mu_);
    auto [it, inserted] = table_.try_emplace(fresh->key_, nullptr);
    if (inserted) it->second = std::move(fresh);
    Node* node = it->second.get();
    ++node->nlookup_;
    *out = node;
    return 0;
}

void Engine::forget(Node& node, uint64_t n) {
    if (&node == root_.get()) return;
    std::lock_guard lock(table_mu_);
    node.nlookup_ = n >= node.nlookup_ ? 0 : node.nlookup_ - n;
    if (node.nlookup_ == 0) table_.erase(node.key_);
}

int Engine::make_node(Node& dir, const DirEntry& e, std::string_view name,
                      std::unique_ptr<Node>* out) const {
    const Branch& parent = dir.branches()[e.branch];
    std::string cname(name);
    int fd = sys::open_path(parent.fd.get(), cname.c_str());
    // The listing saw this name: if it is gone now, the layer changed under the mount.
    if (fd < 0) return -EIO;
    Branch top{parent.layer, UniqueFd(fd), false};
    struct stat st;
    if (sys::fstat_fd(fd, &st) < 0) return -EIO;

    std::vector<Branch> branches;
    std::string path;
    if (S_ISDIR(st.st_mode)) {
        path = dir.path().empty() ? cname : dir.path() + "/" + cname;
        DirOpacity o = dir_opacity(layers_[top.layer], fd, path, formats_);
        top.has_xwhiteouts = o == DirOpacity::has_xwhiteouts;
        branches.push_back(std::move(top));
        for (uint16_t bi = 0; o != DirOpacity::opaque && bi < e.lower_dirs.size(); ++bi) {
            const Branch& pb = dir.branches()[e.lower_dirs[bi]];
            int lfd = sys::open_path(pb.fd.get(), cname.c_str());
            struct stat lst;
            if (lfd < 0) return -EIO;
            Branch lower{pb.layer, UniqueFd(lfd), false};
            if (sys::fstat_fd(lfd, &lst) < 0 || !S_ISDIR(lst.st_mode)) return -EIO;
            o = dir_opacity(layers_[pb.layer], lfd, path, formats_);
            lower.has_xwhiteouts = o == DirOpacity::has_xwhiteouts;
            branches.push_back(std::move(lower));
        }
    } else {
        branches.push_back(std::move(top));
    }
    size_t layer = branches.front().layer;
    size_t n = branches.size();
    auto node = std::make_unique<Node>(std::move(branches), view_attr(st, layer, n), std::move(path));
    node->key_ = {st.st_dev, st.st_ino};
    *out = std::move(node);
    return 0;
}

int Engine::readlink(const Node& node, std::string& target) const {
    if (!S_ISLNK(node.attr().st_mode)) return -EINVAL;
    int err = sys::readlink_fd(node.top().fd.get(), target);
    return err == -ENOENT ? -EIO : err;
}

int Engine::open_read(const Node& node, int flags) const {
    if ((flags & O_ACCMODE) != O_RDONLY) return -EROFS;
    int keep = flags & (O_NONBLOCK | O_DIRECT | O_DIRECTORY);
    // Reading a lower file must not touch its atime (the kernel overlay opens with
    // O_NOATIME too); only the file's owner or CAP_FOWNER may ask for it.
    int fd = sys::reopen(node.top().fd.get(), O_RDONLY | O_NOATIME | keep);
    if (fd == -EPERM) fd = sys::reopen(node.top().fd.get(), O_RDONLY | keep);
    return fd == -ENOENT ? -EIO : fd;
}

int Engine::statfs(struct statvfs* st) const {
    int fd = sys::reopen(layers_.front().root.get(), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return fd;
    UniqueFd guard(fd);
    return ::fstatvfs(fd, st) == 0 ? 0 : -errno;
}

}  // namespace ovf::merge
