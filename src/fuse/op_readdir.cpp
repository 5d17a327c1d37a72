// Directory listings. Offsets are the listing's slot numbers, which never move (see
// merge/listing.hpp), so they stay valid for an open handle (telldir/seekdir) while names
// come and go. Offsets 1 and 2 follow "." and ".."; the entry in slot i is followed by i + 3.
#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ops.hpp"

namespace ovf::fuse::ops {

namespace {

constexpr off_t kDots = 2;
// The kernel asks for every part of a listing with attributes (READDIRPLUS_AUTO is off: it
// would list the rest of a directory that needs a second reply without them, and a walk then
// pays a LOOKUP round trip per entry). Only the rest of a huge directory goes without: whoever
// lists 50,000 names may want only the names, and each attribute costs us a lookup. The kernel
// looks such names up on demand.
bool names_only(off_t off, const merge::Listing& listing) {
    constexpr size_t kAttrsUpTo = 4096;
    return off > kDots && listing.live_count() > kAttrsUpTo;
}

struct stat dot_attr(fuse_req_t req, merge::Node& dir, off_t pos) {
    struct stat st{};
    st.st_mode = S_IFDIR;
    // A zero d_ino would make readdir(3) skip the entry.
    st.st_ino = pos == 0 ? dir.ino() : engine(req).parent_ino(dir);
    return st;
}

// Fills a reply buffer of SIZE bytes from offset OFF. ADD appends one entry at the position
// it is given and returns the space it needed (more than was left: it did not fit).
template <typename AddDot, typename AddEntry>
void fill(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, AddDot add_dot,
          AddEntry add_entry) {
    merge::Node& dir = node(req, ino);
    // Not zero-filled: only the bytes the add functions write are sent.
    std::unique_ptr<char[]> storage(new char[size]);
    char* const data = storage.get();
    size_t used = 0;
    for (; off < kDots; ++off) {
        size_t need = add_dot(dir, off, data + used, size - used);
        if (need > size - used) return (void)fuse_reply_buf(req, data, used);
        used += need;
    }
    // No per-open handle (see opendir): the node keeps one listing for its whole life, and
    // its slots never move, so offsets stay valid while names come and go.
    std::shared_ptr<const merge::Listing> listing_ptr;
    if (int err = engine(req).listing(dir, &listing_ptr); err < 0) return (void)fuse_reply_err(req, -err);
    const merge::Listing& listing = *listing_ptr;
    for (size_t slot = static_cast<size_t>(off - kDots);;) {
        // A small batch at a time: enough for one reply, no lock held while adding.
        auto batch = listing.slice(slot, 64);
        if (batch.empty()) break;
        for (auto& [i, e] : batch) {
            off_t next = static_cast<off_t>(i) + kDots + 1;
            size_t need = add_entry(dir, listing, e, next, data + used, size - used);
            if (need > size - used) return (void)fuse_reply_buf(req, data, used);
            used += need;
        }
        slot = batch.back().first + 1;
    }
    fuse_reply_buf(req, data, used);
}

}  // namespace

void opendir(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
    // ENOSYS makes the kernel stop sending OPENDIR and RELEASEDIR for good (two round trips
    // per directory visited) and cache listings as with FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE:
    // lowers never change, and every change to the upper goes through the kernel, which
    // drops a directory's cached listing when it changes it. readdir needs no handle.
    fuse_reply_err(req, ENOSYS);
}

void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    fill(
        req, ino, size, off,
        [&](merge::Node& dir, off_t pos, char* buf, size_t left) {
            struct stat st = dot_attr(req, dir, pos);
            return fuse_add_direntry(req, buf, left, pos == 0 ? "." : "..", &st, pos + 1);
        },
        [&](merge::Node&, const merge::Listing&, const merge::DirEntry& e, off_t next, char* buf,
            size_t left) {
            struct stat st{};
            st.st_mode = static_cast<mode_t>(DTTOIF(e.type));
            st.st_ino = e.ino;
            return fuse_add_direntry(req, buf, left, e.name.c_str(), &st, next);
        });
}

namespace {

// The lookups a READDIRPLUS reply will need, done before it is filled, on two threads.
struct Prefetch {
    struct Result {
        off_t next = 0;  // the entry's offset cookie: says which entry this is
        int err = 0;
        merge::Node* child = nullptr;
        struct stat attr{};
        std::string name;
    };
    std::vector<Result> results;
    size_t used = 0;
};

// The entries from OFF that fit in SIZE bytes (by name length alone), looked up.
Prefetch prefetch(fuse_req_t req, merge::Node& dir, size_t size, off_t off) {
    Prefetch p;
    std::shared_ptr<const merge::Listing> listing;
    if (engine(req).listing(dir, &listing) < 0) return p;  // fill() reports the error
    if (names_only(off, *listing)) return p;
    size_t room = size;
    for (off_t pos = off; pos < kDots; ++pos)
        room -= std::min(room, fuse_add_direntry_plus(req, nullptr, 0, "..", nullptr, 0));
    for (size_t slot = static_cast<size_t>(std::max<off_t>(off - kDots, 0)); room > 0;) {
        auto batch = listing->slice(slot, 64);
        if (batch.empty()) break;
        for (auto& [i, e] : batch) {
            size_t need = fuse_add_direntry_plus(req, nullptr, 0, e.name.c_str(), nullptr, 0);
            if (need > room) {
                room = 0;
                break;
            }
            room -= need;
            p.results.push_back({static_cast<off_t>(i) + kDots + 1, 0, nullptr, {}, e.name});
        }
        slot = batch.back().first + 1;
    }
    // Worth a second thread only when there are enough lookups to share.
    constexpr size_t kShareFrom = 16;
    auto one = [&](size_t k) {
        auto& r = p.results[k];
        r.err = engine(req).lookup(dir, r.name, &r.child, &r.attr);
    };
    if (p.results.size() >= kShareFrom) {
        ctx(req).helper.parallel_for(p.results.size(), one);
    } else {
        for (size_t k = 0; k < p.results.size(); ++k) one(k);
    }
    return p;
}

}  // namespace

void readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    merge::Engine& eng = engine(req);  // fill() answers, and the answer frees REQ
    Prefetch pre = prefetch(req, node(req, ino), size, off);
    fill(
        req, ino, size, off,
        [&](merge::Node& dir, off_t pos, char* buf, size_t left) {
            fuse_entry_param e{};  // ino 0: a name only, the kernel looks it up itself
            e.attr = dot_attr(req, dir, pos);
            return fuse_add_direntry_plus(req, buf, left, pos == 0 ? "." : "..", &e, pos + 1);
        },
        [&](merge::Node& dir, const merge::Listing& listing, const merge::DirEntry& de, off_t next, char* buf,
            size_t left) {
            merge::Node* child = nullptr;
            fuse_entry_param e{};
            int err;
            struct stat attr;
            if (pre.used < pre.results.size() && pre.results[pre.used].next == next) {
                auto& r = pre.results[pre.used++];
                err = r.err;
                child = std::exchange(r.child, nullptr);
                attr = r.attr;
            } else {  // the listing changed since, or a name the prefetch did not cover
                err = names_only(off, listing) ? -EAGAIN : engine(req).lookup(dir, de.name, &child, &attr);
            }
            if (err == 0) {
                e = entry_of(req, *child, attr);
            } else {  // names only, vanished meanwhile, or a whiteout only lookup recognises
                      // (listed, as the kernel does): let lookup report the error
                e.attr.st_mode = static_cast<mode_t>(DTTOIF(de.type));
                e.attr.st_ino = de.ino;
            }
            size_t need = fuse_add_direntry_plus(req, buf, left, de.name.c_str(), &e, next);
            // An entry that did not fit is not sent, so the kernel never counts that lookup.
            if (need > left && child) engine(req).forget(*child, 1);
            return need;
        });
    // Looked up but not sent (the reply filled differently): the kernel never saw them.
    for (auto& r : pre.results)
        if (r.child) eng.forget(*r.child, 1);
}

}  // namespace ovf::fuse::ops
