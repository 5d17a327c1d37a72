// Directory listings. Each open handle holds a snapshot of the merged listing, so offsets stay
// valid for that handle (telldir/seekdir) whatever happens to the directory meanwhile.
// Offsets: 1 and 2 follow "." and "..", then entry i is followed by offset i + 3.
#include <dirent.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "ops.hpp"

namespace ovf::fuse::ops {

namespace {

struct DirHandle {
    std::shared_ptr<const merge::Listing> listing;
};

DirHandle* handle(fuse_file_info* fi) { return reinterpret_cast<DirHandle*>(fi->fh); }

constexpr off_t kDots = 2;

// Fills a reply buffer of SIZE bytes from offset OFF. ADD appends one entry and returns the
// space it needed (more than what was left means it did not fit, as libfuse's add functions).
template <typename Add>
void fill(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi, Add add) {
    merge::Node& dir = node(req, ino);
    const auto& entries = handle(fi)->listing->entries();
    std::vector<char> buf(size);
    size_t used = 0;
    for (off_t pos = off; pos < kDots + static_cast<off_t>(entries.size()); ++pos) {
        size_t need = add(dir, pos, buf.data() + used, size - used);
        if (need > size - used) break;
        used += need;
    }
    fuse_reply_buf(req, buf.data(), used);
}

struct stat dot_attr(const merge::Node& dir, off_t pos) {
    struct stat st{};
    st.st_mode = S_IFDIR;
    // ".." of the root is the root; elsewhere the kernel fills in the parent it knows.
    st.st_ino = pos == 0 || dir.path().empty() ? dir.attr().st_ino : 0;
    return st;
}

}  // namespace

void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    auto h = std::make_unique<DirHandle>();
    int err = engine(req).listing(node(req, ino), &h->listing);
    if (err < 0) {
        fuse_reply_err(req, -err);
        return;
    }
    fi->fh = reinterpret_cast<uint64_t>(h.get());
    fi->cache_readdir = 1;  // the listing cannot change: let the kernel cache it
    fi->keep_cache = 1;
    if (fuse_reply_open(req, fi) == 0) h.release();
}

void releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    delete handle(fi);
    fuse_reply_err(req, 0);
}

void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    const auto& entries = handle(fi)->listing->entries();
    fill(req, ino, size, off, fi, [&](merge::Node& dir, off_t pos, char* buf, size_t left) {
        if (pos < kDots) {
            struct stat st = dot_attr(dir, pos);
            return fuse_add_direntry(req, buf, left, pos == 0 ? "." : "..", &st, pos + 1);
        }
        const merge::DirEntry& e = entries[static_cast<size_t>(pos - kDots)];
        struct stat st{};
        st.st_mode = static_cast<mode_t>(DTTOIF(e.type));
        st.st_ino = engine(req).entry_ino(dir, e);
        return fuse_add_direntry(req, buf, left, e.name.c_str(), &st, pos + 1);
    });
}

void readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    const auto& entries = handle(fi)->listing->entries();
    fill(req, ino, size, off, fi, [&](merge::Node& dir, off_t pos, char* buf, size_t left) {
        if (pos < kDots) {
            fuse_entry_param e{};  // ino 0: a name only, the kernel looks it up itself
            e.attr = dot_attr(dir, pos);
            return fuse_add_direntry_plus(req, buf, left, pos == 0 ? "." : "..", &e, pos + 1);
        }
        const merge::DirEntry& de = entries[static_cast<size_t>(pos - kDots)];
        merge::Node* child = nullptr;
        fuse_entry_param e{};
        if (engine(req).lookup(dir, de.name, &child) == 0) {
            e = entry_of(req, *child);
        } else {  // vanished from its layer: list the name, let lookup report the error
            e.attr.st_mode = static_cast<mode_t>(DTTOIF(de.type));
            e.attr.st_ino = engine(req).entry_ino(dir, de);
        }
        size_t need = fuse_add_direntry_plus(req, buf, left, de.name.c_str(), &e, pos + 1);
        // An entry that did not fit is not sent, so the kernel never counts that lookup.
        if (need > left && child) engine(req).forget(*child, 1);
        return need;
    });
}

}  // namespace ovf::fuse::ops
