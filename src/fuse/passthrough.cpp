// FUSE passthrough (Linux 6.9, libfuse 3.17): for a read-only view the kernel reads the layer
// files directly, so data costs what it costs natively. Built against an older libfuse this
// compiles to nothing and reads are spliced instead.
#include "ops.hpp"

namespace ovf::fuse {

int Passthrough::attach(fuse_req_t req, const merge::Node* node, int fd) {
#ifdef OVERLAYFUSE_HAVE_PASSTHROUGH
    if (!active.load()) return 0;
    std::lock_guard lock(mu_);
    Shared& s = by_node_[node];
    if (s.opens == 0) {
        s.id = fuse_passthrough_open(req, fd);
        if (s.id <= 0) {  // e.g. a layer on another stacked filesystem: serve it ourselves
            by_node_.erase(node);
            return 0;
        }
    }
    ++s.opens;
    by_fd_[fd] = node;
    return s.id;
#else
    (void)req, (void)node, (void)fd;
    return 0;
#endif
}

void Passthrough::detach(fuse_req_t req, int fd) {
#ifdef OVERLAYFUSE_HAVE_PASSTHROUGH
    std::lock_guard lock(mu_);
    auto it = by_fd_.find(fd);
    if (it == by_fd_.end()) return;
    auto node = by_node_.find(it->second);
    by_fd_.erase(it);
    if (node != by_node_.end() && --node->second.opens == 0) {
        // Without a request (its reply failed and freed it) the id stays with the kernel
        // until the connection ends.
        if (req) fuse_passthrough_close(req, node->second.id);
        by_node_.erase(node);
    }
#else
    (void)req, (void)fd;
#endif
}

}  // namespace ovf::fuse
