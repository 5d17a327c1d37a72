// Building a directory's merged listing: one pass over each of its layers, top first.
#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "overlayfuse/merge/engine.hpp"
#include "overlayfuse/merge/markers.hpp"
#include "overlayfuse/sys.hpp"
#include "upper.hpp"

namespace ovf::merge {

namespace {

struct RawEntry {
    std::string name;
    unsigned char type;
    ino_t ino;
};

int read_dir(int opath_fd, std::vector<RawEntry>& out) {
    int fd = ::openat(opath_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? -EIO : -errno;
    UniqueFd guard(fd);
    alignas(8) char buf[64 * 1024];
    for (;;) {
        ssize_t n = ::getdents64(fd, buf, sizeof buf);
        if (n < 0) return -errno;
        if (n == 0) return 0;
        for (ssize_t off = 0; off < n;) {
            auto* d = reinterpret_cast<struct dirent64*>(buf + off);
            off += d->d_reclen;
            if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
            out.push_back({d->d_name, d->d_type, d->d_ino});
        }
    }
}

bool starts_with(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

// Accumulates layers top first. The first layer to mention a name decides; a directory stays
// open for lower copies until a whiteout or a non-directory below it ends the merge.
class Merger {
public:
    // FIXED: INO is the entry's for good (not its upper inode's own number).
    void add(const RawEntry& e, uint16_t layer, ino_t ino, bool whiteout, bool fixed) {
        auto [it, inserted] = seen_.try_emplace(e.name, State{});
        State& s = it->second;
        if (inserted) {
            s.layer = layer;
            if (whiteout) {  // hidden; State{} is closed
                if (e.type == DT_REG) ++hidden_xwhiteouts_;
                return;
            }
            s.index = static_cast<int32_t>(out_.size());
            s.open = e.type == DT_DIR;
            s.fixed = fixed;
            out_.push_back({e.name, ino, {}, layer, e.type, false});
            return;
        }
        if (s.layer == layer) return;  // a second marker for a name of the same layer
        below(s, !whiteout);
        if (!s.open) return;
        if (!whiteout && e.type == DT_DIR) {
            DirEntry& d = out_[static_cast<size_t>(s.index)];
            if (d.lower_dirs.empty() && !s.fixed) merged_.push_back({static_cast<size_t>(s.index), ino});
            d.lower_dirs.push_back(layer);
        } else {
            s.open = false;
        }
    }
    // An AUFS or tar-split whiteout for NAME in LAYER hides NAME in the layers below it,
    // not in its own.
    void whiteout(const std::string& name, uint16_t layer) {
        auto [it, inserted] = seen_.try_emplace(name, State{});
        State& s = it->second;
        if (inserted) {
            s.layer = layer;
            return;
        }
        if (s.index < 0) return;
        const DirEntry& e = out_[static_cast<size_t>(s.index)];
        uint16_t last = e.lower_dirs.empty() ? e.layer : e.lower_dirs.back();
        if (last == layer) return;
        below(s, false);
        s.open = false;
    }
    std::vector<DirEntry> take() { return std::move(out_); }
    // Entries whose number is not fixed that found a lower directory of their name: index
    // into the result, and that directory's number.
    const std::vector<std::pair<size_t, ino_t>>& merged() const { return merged_; }
    // Names whose topmost copy is an xattr whiteout (see Listing::counts_as_empty).
    size_t hidden_xwhiteouts() const { return hidden_xwhiteouts_; }

private:
    struct State {
        int32_t index = -1;   // into out_, or -1 when the name is hidden
        uint16_t layer = 0;   // the layer that first named it
        bool open = false;    // lower directories still merge in
        bool below_seen = false;
        bool fixed = true;    // the number may not change to a lower directory's
    };
    // The first lower layer to mention a visible name says whether deleting it will need a
    // whiteout (anything but a whiteout would show through).
    void below(State& s, bool positive) {
        if (s.below_seen || s.index < 0) return;
        s.below_seen = true;
        out_[static_cast<size_t>(s.index)].covers_lower = positive;
    }
    std::unordered_map<std::string, State> seen_;
    std::vector<DirEntry> out_;
    std::vector<std::pair<size_t, ino_t>> merged_;
    size_t hidden_xwhiteouts_ = 0;
};

}  // namespace

int Engine::build_listing(const Node& dir, const BranchList& branches, std::vector<DirEntry>& out,
                          size_t* hidden_xwhiteouts) const {
    Merger merger;
    std::vector<RawEntry> raw;
    std::vector<std::string> aufs_whiteouts;
    for (const Branch& b : branches) {
        const Layer& layer = layers_[b.layer];
        const MarkerFormats& f = layer.formats;
        raw.clear();
        aufs_whiteouts.clear();
        if (int err = read_dir(b.fd.get(), raw); err < 0) return err;
        bool upper = b.layer == 0 && writable();
        bool impure = upper && upper_->is_impure(b.fd.get());
        for (auto& e : raw) {
            if (f.aufs_files && starts_with(e.name, kAufsWhiteoutPrefix)) {
                if (!starts_with(e.name, kAufsMetaPrefix))
                    aufs_whiteouts.push_back(e.name.substr(kAufsWhiteoutPrefix.size()));
                continue;
            }
            struct stat st;
            bool need_stat = e.type == DT_UNKNOWN || e.type == DT_CHR ||
                             (b.has_xwhiteouts && e.type == DT_REG);
            if (need_stat) {
                if (sys::fstatat(b.fd.get(), e.name.c_str(), &st) < 0) continue;  // raced away
                e.type = IFTODT(st.st_mode);
            }
            bool whiteout = (e.type == DT_CHR && st.st_rdev == 0) ||
                            (b.has_xwhiteouts && e.type == DT_REG && st.st_size == 0 &&
                             is_xattr_whiteout(b.fd.get(), e.name.c_str(), f));
            bool fixed = true;
            ino_t ino = upper && !whiteout ? upper_ino(b.fd.get(), e.name.c_str(), e.ino, e.type, impure, &fixed)
                                           : map_ino(b.layer, e.ino);
            merger.add(e, b.layer, ino, whiteout, fixed);
        }
        for (const auto& name : aufs_whiteouts) merger.whiteout(name, b.layer);
        // Whiteouts named by the layer's tar headers count even if the layer directory lost
        // its char 0/0 devices (a copied store).
        if (auto it = layer.marker_whiteouts.find(b.path()); it != layer.marker_whiteouts.end())
            for (const auto& name : it->second) merger.whiteout(name, b.layer);
    }
    // An upper directory that merges lower ones shows the first one's number, as in the
    // kernel (ovl_getattr takes a merged directory's st_ino from its lower copy), unless it
    // is opaque or redirected (its number then came from overlay.origin, or is its own).
    out = merger.take();
    for (auto [index, lower_ino] : merger.merged()) {
        DirEntry& e = out[index];
        const Branch& top = branches.front();  // the upper: only its entries can be unfixed
        int fd = sys::open_path(top.fd.get(), e.name.c_str());
        if (fd < 0) continue;
        UniqueFd guard(fd);
        DirMarkers m = dir_markers(layers_[0], fd, top.path_of(e.name));
        if (m.opacity != DirOpacity::opaque && m.redirect.empty()) e.ino = lower_ino;
    }
    if (hidden_xwhiteouts) *hidden_xwhiteouts = merger.hidden_xwhiteouts();
    return 0;
}

}  // namespace ovf::merge
