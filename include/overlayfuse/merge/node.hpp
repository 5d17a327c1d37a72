#pragma once
// A merged object: what the kernel knows as one inode.
#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "overlayfuse/merge/listing.hpp"
#include "overlayfuse/unique_fd.hpp"

namespace ovf::merge {

// The copy of a merged object in one layer.
struct Branch {
    uint16_t layer = 0;  // engine layer index, 0 = topmost
    UniqueFd fd;         // O_PATH, opened without following symlinks
    bool has_xwhiteouts = false;  // directory marked overlay.opaque=x
};

class Node {
public:
    Node(std::vector<Branch> branches, const struct stat& st, std::string path)
        : branches_(std::move(branches)), st_(st), path_(std::move(path)) {}
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    bool is_dir() const { return S_ISDIR(st_.st_mode); }
    // Attributes as the merged view shows them (st_ino mapped, nlink of merged dirs).
    const struct stat& attr() const { return st_; }
    // The topmost copy; for a non-directory the only one that matters.
    const Branch& top() const { return branches_.front(); }
    // Directories: every layer that contributes, top first, ending at an opaque one.
    const std::vector<Branch>& branches() const { return branches_; }
    // Path relative to the layer roots ("" for the root); kept for directories only.
    const std::string& path() const { return path_; }

private:
    friend class Engine;
    std::vector<Branch> branches_;
    struct stat st_;
    std::string path_;
    uint64_t nlookup_ = 0;  // guarded by the engine's table lock
    std::pair<dev_t, ino_t> key_{};

    std::mutex listing_mu_;
    std::shared_ptr<const Listing> listing_;
};

}  // namespace ovf::merge
