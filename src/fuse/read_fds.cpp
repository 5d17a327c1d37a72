// Descriptors for reads that arrive without an open: see ReadFds in ops.hpp.
#include <fcntl.h>

#include "ops.hpp"

namespace ovf::fuse {

int ReadFds::get(merge::Engine& engine, merge::Node& node, std::shared_ptr<const UniqueFd>& out) {
    {
        std::lock_guard lock(mu_);
        if (auto hit = by_node_.find(&node); hit != by_node_.end()) {
            auto it = hit->second;
            // An entry whose node has gone is stale even if a new node took its address, and
            // so is one opened from copies the node has since left (a copy-up).
            if (!it->owner.expired() && it->copies.lock() == node.branches()) {
                lru_.splice(lru_.begin(), lru_, it);
                out = it->fd;
                return 0;
            }
            lru_.erase(it);
            by_node_.erase(hit);
        }
    }
    auto copies = node.branches();
    int fd = engine.open(node, O_RDONLY);
    if (fd < 0) return fd;
    out = std::make_shared<const UniqueFd>(fd);
    std::lock_guard lock(mu_);
    // Another READ of the same file may have opened it meanwhile: keep one of the two.
    if (by_node_.count(&node)) return 0;
    lru_.push_front(Entry{&node, node.weak_from_this(), copies, out});
    by_node_.emplace(&node, lru_.begin());
    if (lru_.size() > kMax) {  // a read still using the descriptor keeps its own reference
        by_node_.erase(lru_.back().node);
        lru_.pop_back();
    }
    return 0;
}

}  // namespace ovf::fuse

namespace ovf::fuse::ops {

int file_fd(fuse_req_t req, fuse_ino_t ino, const fuse_file_info* fi, std::shared_ptr<const UniqueFd>& held) {
    if (!ctx(req).no_open && fi->fh != kDeferredFh) return static_cast<int>(fi->fh);
    if (int err = ctx(req).read_fds.get(engine(req), node(req, ino), held); err < 0) return err;
    return held->get();
}

}  // namespace ovf::fuse::ops
