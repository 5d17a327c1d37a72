#pragma once
// A merged object: what the kernel knows as one inode.
#include <sys/stat.h>

#include <atomic>
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
    uint16_t layer = 0;           // engine layer index, 0 = topmost (the upper, if any)
    bool has_xwhiteouts = false;  // directory marked overlay.opaque=x
    UniqueFd fd;                  // O_PATH, opened without following symlinks
    // Where this copy sits in its layer, for directories only (files have one branch each,
    // and a walk meets many: 24 bytes here instead of 48). Shared by copies of the list.
    std::shared_ptr<const std::string> where;
    const std::string& path() const {
        static const std::string root;
        return where ? *where : root;
    }
    // Where NAME, inside this directory copy, sits in the layer.
    std::string path_of(const std::string& name) const { return path().empty() ? name : path() + "/" + name; }
};
using BranchList = std::vector<Branch>;

class Node : public std::enable_shared_from_this<Node> {
public:
    Node(BranchList branches, const struct stat& st)
        : branches_(std::make_shared<const BranchList>(std::move(branches))),
          type_(st.st_mode & S_IFMT), ino_(st.st_ino),
          dir_(S_ISDIR(st.st_mode) ? std::make_unique<DirState>() : nullptr) {}
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    bool is_dir() const { return type_ == S_IFDIR; }
    mode_t type() const { return type_; }
    // The view's st_ino. Fixed, except that a copied-up lower hard link gets the upper's
    // number, as in the kernel overlay without an index.
    ino_t ino() const { return ino_.load(); }

    // The layers' copies, topmost first: for a non-directory only the first matters; a
    // directory lists every layer that contributes, ending at an opaque one. Copy-up and
    // rename replace the list as a whole, so a caller keeps a consistent snapshot.
    // A directory's list may hold only its top copy until the engine completes it (see
    // Engine::stack); front() is always right.
    std::shared_ptr<const BranchList> branches() const { return branches_.load(); }
    // A directory with copies in more than one layer (its nlink is then 1).
    bool merged() const {
        return pending_flag_.load(std::memory_order_acquire) || branches_.load()->size() > 1;
    }

private:
    friend class Engine;
    // The fields are ordered so that no padding is wasted: a walk makes a node per entry.
    std::atomic<std::shared_ptr<const BranchList>> branches_;
    const mode_t type_;
    // The slot of this name in parent_'s listing (read-ahead across files), or kNoSlot.
    static constexpr uint32_t kNoSlot = UINT32_MAX;
    std::atomic<uint32_t> slot_{kNoSlot};
    std::atomic<bool> pending_flag_{false};  // DirState::pending is set (read without the lock)
    // A node per name (lower hard links in a writable view) is found by parent_ and name_,
    // through the engine's index of them. Guarded by the engine's table lock.
    bool per_name_ = false;
    // How many (st_dev, st_ino) table keys lead here: key_, and after the copy-up of a node
    // that had one, the upper copy's too, kept in the engine (Engine::second_keys_: few nodes
    // have one). Guarded by the engine's table lock.
    uint8_t nkeys_ = 0;
    // This node's entry in the engine's list of the nodes it owns (guarded by the table lock).
    static constexpr uint32_t kNotOwned = UINT32_MAX;
    uint32_t owner_slot_ = kNotOwned;
    std::atomic<ino_t> ino_;

    // Where the node was reached: copy-up needs its parent first. Changed by rename and
    // unlink (Engine::move_node) under the namespace lock and the table lock: either lock is
    // enough to read them. Hard-linked lower files get a node per name in writable views, as
    // in the kernel overlay without an index, so one parent is enough.
    std::shared_ptr<Node> parent_;
    std::string name_;

    uint64_t nlookup_ = 0;  // guarded by the engine's table lock
    std::pair<dev_t, ino_t> key_{};  // the top copy's when made (see nkeys_)

    // What only directories need, allocated for them alone: a walk meets far more files.
    struct PendingStack {
        std::shared_ptr<const BranchList> parent;  // the parent's copies, kept open
        DirEntry entry;                            // the parent's listing entry
    };
    struct DirState {
        std::mutex mu;  // guards listing and pending
        std::shared_ptr<Listing> listing;
        // The lower copies are opened when first needed (its listing, a child's lookup,
        // copy-up): READDIRPLUS of a directory whose subdirectories span 100 layers then
        // opens each subdirectory once, not 100 times. Only put off when no redirect is
        // involved, so the parent's listing says which layers hold it.
        std::unique_ptr<PendingStack> pending;
        std::string redirect;  // the upper copy's overlay.redirect, if any
        // Read-ahead across files (read_ahead.cpp): the slot of the file whose first read came
        // last, and the slot up to which files have been fetched ahead.
        std::atomic<uint32_t> last_read{kNoSlot};
        std::atomic<uint32_t> ahead_until{0};
    };
    const std::unique_ptr<DirState> dir_;
};

}  // namespace ovf::merge
