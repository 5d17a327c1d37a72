// Descriptors for reads that arrive without an open: see ReadFds in ops.hpp.
#include <fcntl.h>

#include "ops.hpp"

namespace ovf::fuse {

int ReadFds::get(merge::Engine& engine, merge::Node& node, std::shared_ptr<const UniqueFd>& out) {
    {
        std::lock_guard lock(mu_);
        for (auto it = lru_.begin(); it != lru_.end(); ++it) {
            if (it->node != &node) continue;
            // An entry whose node has gone is stale even if a new node took its address.
            if (it->owner.expired()) {
                lru_.erase(it);
                break;
            }
            lru_.splice(lru_.begin(), lru_, it);
            out = it->fd;
            return 0;
        }
    }
    int fd = engine.open(node, O_RDONLY);
    if (fd < 0) return fd;
    out = std::make_shared<const UniqueFd>(fd);
    std::lock_guard lock(mu_);
    lru_.push_front(Entry{&node, node.weak_from_this(), out});
    if (lru_.size() > kMax) lru_.pop_back();  // a read still using it keeps its own reference
    return 0;
}

}  // namespace ovf::fuse
