// Read-ahead across files: while a reader works through a directory's files in listing
// order, the next few are fetched into the layers' page cache (see Engine::ReadAhead).
//
// The trigger is a file's first read (offset 0) following the first read of an earlier file
// of the same directory, no further back than kWindow slots: tar, cp -r and scanners read in
// listing order; a reader jumping around gets nothing fetched for it. Walks that only stat
// never read, so they never fetch. Each file gets its first kBytes asked for with
// readahead(2), which queues the I/O and returns; the kernel's own read-ahead takes over
// from there when the reader gets to the file.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "overlayfuse/merge/engine.hpp"

namespace ovf::merge {

namespace {

constexpr uint32_t kAhead = 8;     // files fetched ahead of the one being read
constexpr uint32_t kWindow = 16;   // how far a first read may skip and still count as in order
constexpr size_t kBytes = 128 << 10;  // per file: what the kernel's first read-ahead asks for

}  // namespace

bool Engine::plan_read_ahead(Node& file, ReadAhead* out) {
    if (file.is_dir()) return false;
    uint32_t slot = file.slot_.load(std::memory_order_relaxed);
    if (slot == Node::kNoSlot) return false;
    std::shared_ptr<Node> dir;
    {
        std::lock_guard ns(ns_mu_);  // rename moves nodes between directories
        dir = file.parent_;
    }
    if (!dir || !dir->dir_) return false;
    Node::DirState& d = *dir->dir_;
    uint32_t prev = d.last_read.exchange(slot, std::memory_order_relaxed);
    if (prev == Node::kNoSlot || prev >= slot || slot - prev > kWindow) return false;
    // Two readers of one directory must not fetch the same files twice.
    uint32_t to = slot + 1 + kAhead;
    uint32_t until = d.ahead_until.load(std::memory_order_relaxed);
    uint32_t from;
    do {
        from = std::max(slot + 1, until);
        if (from >= to) return false;
    } while (!d.ahead_until.compare_exchange_weak(until, to, std::memory_order_relaxed));
    out->dir = std::move(dir);
    out->from = from;
    out->to = to;
    return true;
}

size_t Engine::read_ahead(const ReadAhead& job) {
    std::shared_ptr<const Listing> list;
    std::shared_ptr<const BranchList> branches;
    if (listing(*job.dir, &list) < 0 || stack(*job.dir, &branches) < 0) return 0;
    size_t asked = 0;
    for (const auto& [slot, e] : list->slice(job.from, job.to - job.from)) {
        if (slot >= job.to) break;  // holes were skipped: the slice may run past the range
        const Branch* b = e.type == DT_REG ? branch_in(*branches, e.layer) : nullptr;
        if (!b) continue;
        int fd = ::openat(b->fd.get(), e.name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) continue;  // a hint only: the reader will meet the error itself
        if (::readahead(fd, 0, kBytes) == 0) ++asked;
        ::close(fd);
    }
    return asked;
}

}  // namespace ovf::merge
