#include "layer_copy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include "fs_entries.hpp"
#include "marker_names.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/unique_fd.hpp"

namespace ovf::store::detail {

namespace fs = std::filesystem;

namespace {

constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";

[[noreturn]] void fail(const fs::path& p, const char* what) {
    throw UserError(p.string() + ": " + what + ": " + errno_text(errno));
}

class LayerCopier {
public:
    LayerCopier(MarkerForm form, std::vector<std::string>& notes)
        : form_(form), notes_(notes), privileged_(::geteuid() == 0) {}

    void copy_dir_contents(const fs::path& src, const fs::path& dst);
    void set_times(const fs::path& dst, const struct stat& st);
    void set_owner(const fs::path& dst, const struct stat& st);

private:
    void copy_entry(const fs::path& src, const fs::path& dst, const std::string& name);
    void make_whiteout(const fs::path& dir, const std::string& name, const struct stat& st);
    void copy_file(const fs::path& src, const fs::path& dst);
    void apply_metadata(const fs::path& src, const fs::path& dst, const struct stat& st);
    void note(const std::string& what) {
        if (noted_.insert(what).second) notes_.push_back(what);
    }

    MarkerForm form_;
    std::vector<std::string>& notes_;
    bool privileged_;
    std::map<std::pair<dev_t, ino_t>, fs::path> copied_;  // hard links: first copy of an inode
    std::set<std::string> noted_;
};

void LayerCopier::set_owner(const fs::path& dst, const struct stat& st) {
    if (::lchown(dst.c_str(), st.st_uid, st.st_gid) == 0) return;
    if (errno != EPERM) fail(dst, "lchown");
    note("ownership not kept (needs root): files belong to the builder's user");
}

void LayerCopier::set_times(const fs::path& dst, const struct stat& st) {
    // Tar keeps whole seconds, Docker's untar sets atime to mtime when the header has none,
    // and it clamps times before 1970 to the epoch (pkg/system/chtimes.go).
    time_t t = st.st_mtim.tv_sec < 0 ? 0 : st.st_mtim.tv_sec;
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    if (::utimensat(AT_FDCWD, dst.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) fail(dst, "utimensat");
}

void LayerCopier::apply_metadata(const fs::path& src, const fs::path& dst, const struct stat& st) {
    set_owner(dst, st);  // before chmod: chown clears setuid/setgid
    if (!S_ISLNK(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) != 0) fail(dst, "chmod");
    for (const auto& [name, value] : read_xattrs(src)) {
        if (is_overlay_xattr(name)) continue;
        if (::lsetxattr(dst.c_str(), name.c_str(), value.data(), value.size(), 0) != 0)
            note("xattr " + name + " not kept on " + dst.string() + ": " + errno_text(errno));
    }
    set_times(dst, st);
}

void LayerCopier::make_whiteout(const fs::path& dir, const std::string& name,
                                const struct stat& st) {
    if (form_ == MarkerForm::kernel) {
        // Docker's ConvertRead: mknod(name, S_IFCHR, 0), i.e. mode 0000, then lchown.
        fs::path p = dir / name;
        // Its times are left as created: Docker's untar stops after the mknod.
        if (::mknod(p.c_str(), S_IFCHR, 0) != 0) fail(p, "mknod whiteout");
        set_owner(p, st);
        return;
    }
    fs::path p = dir / (std::string(kWhiteoutPrefix) + name);
    UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) fail(p, "create whiteout file");
    fd.reset();
    set_times(p, st);
}

void LayerCopier::copy_file(const fs::path& src, const fs::path& dst) {
    UniqueFd in(::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) fail(src, "open");
    UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) fail(dst, "create");
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(in.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(src, "read");
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = ::write(out.get(), buf + off, static_cast<size_t>(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) fail(dst, "write");
            off += w;
        }
    }
}

void LayerCopier::copy_entry(const fs::path& src, const fs::path& dst_dir, const std::string& name) {
    struct stat st = lstat_or_throw(src);
    fs::path dst = dst_dir / name;
    std::string_view n = name;
    bool marker_file = S_ISREG(st.st_mode) && n.substr(0, kWhiteoutPrefix.size()) == kWhiteoutPrefix;

    if (S_ISCHR(st.st_mode) && st.st_rdev == 0) return make_whiteout(dst_dir, name, st);
    if (form_ == MarkerForm::kernel && marker_file) {
        // Untar turns the tar's ".wh." files into kernel markers (the opaque one was handled
        // with its directory); AUFS bookkeeping files are dropped like Docker drops them.
        if (n != kOpaqueMarker && n.substr(0, kAufsMetaPrefix.size()) != kAufsMetaPrefix)
            make_whiteout(dst_dir, name.substr(kWhiteoutPrefix.size()), st);
        return;
    }
    if (S_ISSOCK(st.st_mode)) return;  // never in a layer tar

    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
        auto it = copied_.find({st.st_dev, st.st_ino});
        if (it != copied_.end()) {
            if (::link(it->second.c_str(), dst.c_str()) != 0) fail(dst, "link");
            return;
        }
    }
    if (S_ISDIR(st.st_mode)) {
        if (::mkdir(dst.c_str(), 0700) != 0) fail(dst, "mkdir");
        copy_dir_contents(src, dst);
    } else if (S_ISREG(st.st_mode)) {
        copy_file(src, dst);
    } else if (S_ISLNK(st.st_mode)) {
        std::error_code ec;
        fs::path target = fs::read_symlink(src, ec);
        if (ec) throw UserError(src.string() + ": " + ec.message());
        if (::symlink(target.c_str(), dst.c_str()) != 0) fail(dst, "symlink");
    } else if (S_ISFIFO(st.st_mode)) {
        if (::mkfifo(dst.c_str(), 0600) != 0) fail(dst, "mkfifo");
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        if (::mknod(dst.c_str(), st.st_mode & S_IFMT, st.st_rdev) != 0) {
            if (errno != EPERM) fail(dst, "mknod");
            note("device " + dst.string() + " skipped (mknod needs root)");
            return;
        }
    }
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) copied_[{st.st_dev, st.st_ino}] = dst;
    apply_metadata(src, dst, st);
}

void LayerCopier::copy_dir_contents(const fs::path& src, const fs::path& dst) {
    auto names = sorted_names(src);
    bool has_marker_file = std::binary_search(names.begin(), names.end(), std::string(kOpaqueMarker));
    if (has_marker_file || has_opaque_xattr(read_xattrs(src))) {
        if (form_ == MarkerForm::kernel) {
            if (::lsetxattr(dst.c_str(), kOpaqueXattr, "y", 1, 0) != 0)
                fail(dst, "set trusted.overlay.opaque");
        } else if (!has_marker_file) {
            fs::path p = dst / kOpaqueMarker;
            UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
            if (!fd) fail(p, "create opaque marker");
        }
    }
    for (const auto& name : names) copy_entry(src / name, dst, name);
}

}  // namespace

void copy_layer_dir(const fs::path& src, const fs::path& dst, MarkerForm form,
                    std::vector<std::string>& notes) {
    LayerCopier copier(form, notes);
    copier.copy_dir_contents(src, dst);
    // The root of a diff dir is always 0755 root:root (a tar entry for "." is ignored).
    struct stat st = lstat_or_throw(src);
    if (::chmod(dst.c_str(), 0755) != 0) fail(dst, "chmod");
    if (::geteuid() == 0 && ::lchown(dst.c_str(), 0, 0) != 0) fail(dst, "lchown");
    copier.set_times(dst, st);
}

int64_t layer_size(const fs::path& dir) {
    int64_t total = 0;
    std::set<std::pair<dev_t, ino_t>> seen;
    std::vector<fs::path> todo{dir};
    while (!todo.empty()) {
        fs::path d = todo.back();
        todo.pop_back();
        for (const auto& name : sorted_names(d)) {
            struct stat st = lstat_or_throw(d / name);
            if (S_ISDIR(st.st_mode)) {
                todo.push_back(d / name);
            } else if (st.st_size > 0 && seen.insert({st.st_dev, st.st_ino}).second) {
                total += st.st_size;
            }
        }
    }
    return total;
}

bool can_write_kernel_markers(const fs::path& dir) {
    fs::path dev = dir / ".ovf-probe-whiteout";
    fs::path sub = dir / ".ovf-probe-opaque";
    bool ok = ::mknod(dev.c_str(), S_IFCHR, 0) == 0;
    ::unlink(dev.c_str());
    if (ok && ::mkdir(sub.c_str(), 0700) == 0) {
        ok = ::lsetxattr(sub.c_str(), kOpaqueXattr, "y", 1, 0) == 0;
        ::rmdir(sub.c_str());
    } else {
        ok = false;
    }
    return ok;
}

}  // namespace ovf::store::detail
