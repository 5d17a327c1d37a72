// Directory listings. Offsets are the listing's slot numbers, which never move (see
// merge/listing.hpp), so they stay valid for an open handle (telldir/seekdir) while names
// come and go. Offsets 1 and 2 follow "." and ".."; the entry in slot i is followed by i + 3.
#include <dirent.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "ops.hpp"

namespace ovf::fuse::ops {

namespace {

constexpr off_t kDots = 2;
// The largest directory whose every READDIRPLUS reply carries attributes (see readdirplus).
constexpr size_t kAttrsUpTo = 4096;

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
            size_t need = add_entry(dir, listing, e, static_cast<off_t>(i) + kDots + 1, data + used, size - used);
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
        [&](merge::Node&, const merge::Listing&, const merge::DirEntry& e, off_t next, char* buf, size_t left) {
            struct stat st{};
            st.st_mode = static_cast<mode_t>(DTTOIF(e.type));
            st.st_ino = e.ino;
            return fuse_add_direntry(req, buf, left, e.name.c_str(), &st, next);
        });
}

void readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
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
            // The kernel asks for every part of a listing with attributes (READDIRPLUS_AUTO is
            // off: it would list the rest of a directory that needs a second reply without
            // them, and a walk then pays a LOOKUP round trip per entry). Only the rest of a
            // huge directory goes without: whoever lists 50,000 names may want only the names,
            // and each attribute costs us a lookup. The kernel looks such names up on demand.
            bool names_only = off > kDots && listing.live_count() > kAttrsUpTo;
            int err = names_only ? -EAGAIN : engine(req).lookup(dir, de.name, &child);
            if (err == -ENOENT) return size_t{0};  // a whiteout only lookup recognises
            if (err == 0) {
                e = entry_of(req, *child);
            } else {  // names only, or vanished meanwhile: let lookup report the error
                e.attr.st_mode = static_cast<mode_t>(DTTOIF(de.type));
                e.attr.st_ino = de.ino;
            }
            size_t need = fuse_add_direntry_plus(req, buf, left, de.name.c_str(), &e, next);
            // An entry that did not fit is not sent, so the kernel never counts that lookup.
            if (need > left && child) engine(req).forget(*child, 1);
            return need;
        });
}

}  // namespace ovf::fuse::ops
