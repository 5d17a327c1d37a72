#pragma once
// The merge engine: ordered layer directories in, one merged tree out. It knows nothing of
// FUSE or Docker; the FUSE adapter calls it, and unit tests drive it on plain directories.
//
// Errors are returned as -errno. A layer that changed under a live mount (a file gone or
// replaced) yields -EIO for that object, never a crash.
#include <sys/statvfs.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "overlayfuse/merge/layer.hpp"
#include "overlayfuse/merge/listing.hpp"
#include "overlayfuse/merge/node.hpp"

namespace ovf::merge {

struct PairHash {
    size_t operator()(const std::pair<dev_t, ino_t>& k) const noexcept {
        return std::hash<uint64_t>()(k.second * 0x9E3779B97F4A7C15ull ^ k.first);
    }
};

class Engine {
public:
    // LAYERS are top first, as in overlayfs' lowerdir=. Throws ovf::UserError naming the
    // layer if one cannot be opened or is not a directory.
    Engine(std::vector<LayerSource> layers, MarkerFormats formats = {});
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    Node& root() { return *root_; }
    size_t layer_count() const { return layers_.size(); }
    const Layer& layer(size_t i) const { return layers_[i]; }
    const MarkerFormats& formats() const { return formats_; }

    // Looks NAME up in DIR. On success *OUT holds the child with its lookup count raised by
    // one (the kernel's nlookup); pair every success with forget().
    int lookup(Node& dir, std::string_view name, Node** out);
    // Drops N lookups; the node is freed when none are left. The root is never freed.
    void forget(Node& node, uint64_t n);
    // Number of live nodes besides the root (for tests and memory checks).
    size_t node_count() const;

    // The merged listing of DIR, built on first use and kept while the node lives.
    int listing(Node& dir, std::shared_ptr<const Listing>* out);
    // st_ino the view reports for an entry of DIR's listing (equals the child's attr().st_ino).
    ino_t entry_ino(const Node& dir, const DirEntry& e) const;

    int readlink(const Node& node, std::string& target) const;
    // Opens the topmost copy for reading (never for writing: lowers are immutable).
    int open_read(const Node& node, int flags) const;
    // Visible xattrs: overlay-internal ones are hidden and escaped ones unescaped, as the
    // kernel does. Return size (or needed size when SIZE is 0) or -errno.
    ssize_t getxattr(const Node& node, const char* name, void* value, size_t size) const;
    ssize_t listxattr(const Node& node, char* list, size_t size) const;
    int statfs(struct statvfs* st) const;

private:
    int build_listing(const Node& dir, std::vector<DirEntry>& out) const;
    int make_node(Node& dir, const DirEntry& e, std::string_view name,
                  std::unique_ptr<Node>* out) const;
    std::vector<Branch> dir_branches(Node& dir, const DirEntry& e, std::string_view name,
                                     Branch top) const;
    ino_t map_ino(size_t layer, ino_t ino) const;
    struct stat view_attr(const struct stat& real, size_t layer, size_t nbranches) const;

    std::vector<Layer> layers_;
    MarkerFormats formats_;
    bool single_fs_ = true;
    std::map<dev_t, unsigned> fs_index_;

    std::unique_ptr<Node> root_;
    mutable std::mutex table_mu_;
    std::unordered_map<std::pair<dev_t, ino_t>, std::unique_ptr<Node>, PairHash> table_;
};

}  // namespace ovf::merge
