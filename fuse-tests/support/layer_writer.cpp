// Writes a LayerStack to disk in a given Encoding. Every operation goes through the parent
// directory's fd (no path is ever longer than one component plus /proc/self/fd/N), because the
// generator makes paths far longer than PATH_MAX.
#include <algorithm>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "support/layer_model.hpp"

namespace ovft {

namespace {

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Fd& operator=(Fd&& o) noexcept {
        std::swap(fd_, o.fd_);
        return *this;
    }
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw std::runtime_error("writing layer: " + what + " " + path + ": " + std::strerror(errno));
}

std::string dirname_of(const std::string& p) {
    auto slash = p.rfind('/');
    return slash == std::string::npos ? "" : p.substr(0, slash);
}

std::string basename_of(const std::string& p) {
    auto slash = p.rfind('/');
    return slash == std::string::npos ? p : p.substr(slash + 1);
}

uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ULL) {
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

template <typename T>
T pick_form(const std::vector<T>& forms, uint64_t seed, size_t layer, const std::string& path) {
    uint64_t h = fnv1a(path, fnv1a(std::to_string(seed) + "/" + std::to_string(layer)));
    return forms[h % forms.size()];
}

bool is_xattr_whiteout(WhiteoutForm f) { return f == WhiteoutForm::TrustedXattr || f == WhiteoutForm::UserXattr; }

// Writes one layer directory.
class LayerWriter {
public:
    LayerWriter(const Layer& layer, size_t index, const LayerStack& stack, const Encoding& enc,
                const std::string& dir)
        : layer_(layer), index_(index), stack_(stack), enc_(enc), dir_(dir) {}

    void write() {
        if (::mkdir(dir_.c_str(), 0755) != 0) fail("mkdir", dir_);
        root_ = Fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (root_.get() < 0) fail("open", dir_);
        choose_whiteout_forms();
        for (const auto& [path, e] : layer_.entries) {
            if (e.kind != Kind::HardLink) create(path, e);
        }
        for (const auto& [path, e] : layer_.entries) {
            if (e.kind == Kind::HardLink) link(path, e);
        }
        for (const auto& [path, e] : layer_.entries) set_owner_mode_xattrs(path, e);
        set_owner_mode_xattrs("", layer_.root);
        // Times last and children before parents: creating anything in a directory changes
        // its mtime.
        for (auto it = layer_.entries.rbegin(); it != layer_.entries.rend(); ++it) {
            set_mtime(it->first, it->second);
        }
        set_mtime("", layer_.root);
    }

private:
    const Layer& layer_;
    size_t index_;
    const LayerStack& stack_;
    const Encoding& enc_;
    std::string dir_;
    Fd root_;
    std::map<std::string, WhiteoutForm> whiteout_form_;  // per whiteout path
    std::set<std::string> xwhiteout_parents_;            // dirs that need overlay.opaque=x
    std::map<std::string, std::string> xwhiteout_prefix_;

    bool opaque_in_layer(const std::string& dirpath) const {
        auto it = layer_.entries.find(dirpath);
        return it != layer_.entries.end() && it->second.opaque;
    }

    // Xattr whiteouts only count under a parent marked overlay.opaque=x, which says "not
    // opaque"; inside an opaque directory a whiteout falls back to the first plain form.
    void choose_whiteout_forms() {
        for (const auto& [path, e] : layer_.entries) {
            if (e.kind != Kind::Whiteout) continue;
            WhiteoutForm f = pick_form(enc_.whiteouts, stack_.seed, index_, path);
            std::string parent = dirname_of(path);
            // ".wh." + a name longer than 251 bytes exceeds NAME_MAX: no tar can carry such a
            // whiteout either, so it is written as a char 0/0 device.
            if (f == WhiteoutForm::WhFile && basename_of(path).size() > 251) f = WhiteoutForm::CharDev;
            if (is_xattr_whiteout(f) && opaque_in_layer(parent)) {
                f = WhiteoutForm::CharDev;
                for (auto g : enc_.whiteouts) {
                    if (!is_xattr_whiteout(g)) {
                        f = g;
                        break;
                    }
                }
            }
            whiteout_form_[path] = f;
            if (is_xattr_whiteout(f)) {
                xwhiteout_parents_.insert(parent);
                xwhiteout_prefix_[parent] = f == WhiteoutForm::TrustedXattr ? "trusted" : "user";
            }
        }
    }

    // O_PATH-free directory fd for a layer-relative directory, one component at a time.
    Fd open_dir(const std::string& rel) {
        Fd cur(::dup(root_.get()));
        size_t start = 0;
        while (start < rel.size()) {
            size_t slash = rel.find('/', start);
            std::string comp = rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
            Fd next(::openat(cur.get(), comp.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (next.get() < 0) fail("open directory", dir_ + "/" + rel);
            cur = std::move(next);
            if (slash == std::string::npos) break;
            start = slash + 1;
        }
        return cur;
    }

    static std::string proc_path(const Fd& dirfd, const std::string& name) {
        return "/proc/self/fd/" + std::to_string(dirfd.get()) + "/" + name;
    }

    // SPARSE: 4 KiB blocks of zeros are left as holes.
    void write_regular(int dirfd, const std::string& name, const std::string& data, const std::string& where,
                       bool sparse = false) {
        Fd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (fd.get() < 0) fail("create", where);
        constexpr size_t kBlock = 4096;
        size_t done = 0;
        while (done < data.size()) {
            size_t len = std::min(data.size() - done, kBlock);
            if (sparse && data.find_first_not_of('\0', done) >= done + len) {
                done += len;
                continue;
            }
            ssize_t n = ::pwrite(fd.get(), data.data() + done, len, static_cast<off_t>(done));
            if (n < 0) fail("write", where);
            done += static_cast<size_t>(n);
        }
        if (sparse && ::ftruncate(fd.get(), static_cast<off_t>(data.size())) != 0) fail("truncate", where);
    }

    void create(const std::string& path, const Entry& e) {
        Fd parent = open_dir(dirname_of(path));
        std::string name = basename_of(path), where = dir_ + "/" + path;
        int pfd = parent.get();
        switch (e.kind) {
            case Kind::File: write_regular(pfd, name, e.data, where, e.sparse); break;
            case Kind::Dir:
                if (::mkdirat(pfd, name.c_str(), 0700) != 0) fail("mkdir", where);
                if (e.opaque && pick_form(enc_.opaques, stack_.seed, index_, path) == OpaqueForm::WhOpqFile) {
                    Fd d = open_dir(path);
                    write_regular(d.get(), ".wh..wh..opq", "", where + "/.wh..wh..opq");
                }
                break;
            case Kind::Symlink:
                if (::symlinkat(e.data.c_str(), pfd, name.c_str()) != 0) fail("symlink", where);
                break;
            case Kind::Fifo:
                if (::mknodat(pfd, name.c_str(), S_IFIFO | 0600, 0) != 0) fail("mkfifo", where);
                break;
            case Kind::CharDev:
            case Kind::BlockDev: {
                mode_t type = e.kind == Kind::CharDev ? S_IFCHR : S_IFBLK;
                if (::mknodat(pfd, name.c_str(), type | 0600, makedev(e.dev_major, e.dev_minor)) != 0) {
                    fail("mknod", where);
                }
                break;
            }
            case Kind::Whiteout: create_whiteout(pfd, name, whiteout_form_.at(path), where); break;
            case Kind::HardLink: break;
        }
    }

    void create_whiteout(int pfd, const std::string& name, WhiteoutForm form, const std::string& where) {
        switch (form) {
            case WhiteoutForm::CharDev:
                // Docker's form: mknod(name, S_IFCHR | 0, 0).
                if (::mknodat(pfd, name.c_str(), S_IFCHR, makedev(0, 0)) != 0) fail("mknod whiteout", where);
                break;
            case WhiteoutForm::WhFile: write_regular(pfd, ".wh." + name, "", where + " (.wh.)"); break;
            case WhiteoutForm::TrustedXattr:
            case WhiteoutForm::UserXattr: {
                write_regular(pfd, name, "", where);
                std::string xname = form == WhiteoutForm::TrustedXattr ? "trusted.overlay.whiteout"
                                                                        : "user.overlay.whiteout";
                std::string p = "/proc/self/fd/" + std::to_string(pfd) + "/" + name;
                if (::lsetxattr(p.c_str(), xname.c_str(), "", 0, 0) != 0) fail("setxattr " + xname, where);
                break;
            }
        }
    }

    void link(const std::string& path, const Entry& e) {
        Fd from_dir = open_dir(dirname_of(e.data));
        Fd to_dir = open_dir(dirname_of(path));
        if (::linkat(from_dir.get(), basename_of(e.data).c_str(), to_dir.get(), basename_of(path).c_str(), 0) != 0) {
            fail("link " + e.data + " ->", dir_ + "/" + path);
        }
    }

    void set_xattr(const Fd& parent, const std::string& name, const std::string& xname,
                   const std::string& value, const std::string& where) {
        // The layer root itself (empty NAME) is the open directory: set it through the fd.
        int rc = name.empty() ? ::fsetxattr(parent.get(), xname.c_str(), value.data(), value.size(), 0)
                              : ::lsetxattr(proc_path(parent, name).c_str(), xname.c_str(), value.data(),
                                            value.size(), 0);
        if (rc != 0) {
            fail("setxattr " + xname + " on", where);
        }
    }

    // Owner before mode (chown clears setuid/setgid), mode before security.capability
    // (chown also drops it), markers last.
    void set_owner_mode_xattrs(const std::string& path, const Entry& e) {
        if (e.kind == Kind::HardLink || e.kind == Kind::Whiteout) return;
        bool is_root = path.empty();
        Fd parent = is_root ? Fd(::dup(root_.get())) : open_dir(dirname_of(path));
        std::string name = is_root ? "" : basename_of(path), where = dir_ + "/" + path;
        int flags = AT_SYMLINK_NOFOLLOW | (is_root ? AT_EMPTY_PATH : 0);
        if (::fchownat(parent.get(), name.c_str(), e.uid, e.gid, flags) != 0) fail("chown", where);
        if (e.kind != Kind::Symlink) {
            int rc = is_root ? ::fchmod(parent.get(), e.mode) : ::fchmodat(parent.get(), name.c_str(), e.mode, 0);
            if (rc != 0) fail("chmod", where);
        }
        for (const auto& [xname, value] : e.xattrs) set_xattr(parent, name, xname, value, where);
        if (e.kind != Kind::Dir) return;
        if (e.opaque) {
            switch (pick_form(enc_.opaques, stack_.seed, index_, path)) {
                case OpaqueForm::TrustedXattr: set_xattr(parent, name, "trusted.overlay.opaque", "y", where); break;
                case OpaqueForm::UserOverlayXattr: set_xattr(parent, name, "user.overlay.opaque", "y", where); break;
                case OpaqueForm::FuseOverlayfsXattr:
                    set_xattr(parent, name, "user.fuseoverlayfs.opaque", "y", where);
                    break;
                case OpaqueForm::WhOpqFile: break;  // written with the directory
            }
        } else if (xwhiteout_parents_.count(path)) {
            set_xattr(parent, name, xwhiteout_prefix_[path] + ".overlay.opaque", "x", where);
        }
    }

    void set_mtime(const std::string& path, const Entry& e) {
        if (e.kind == Kind::HardLink) return;  // shares the linked file's inode and times
        bool is_root = path.empty();
        Fd parent = is_root ? Fd(::dup(root_.get())) : open_dir(dirname_of(path));
        struct timespec times[2] = {{0, UTIME_OMIT}, e.mtime};
        if (e.kind == Kind::Whiteout) times[1] = {1500000000, 0};
        int rc = is_root ? ::futimens(parent.get(), times)
                         : ::utimensat(parent.get(), basename_of(path).c_str(), times, AT_SYMLINK_NOFOLLOW);
        // A .wh. whiteout has no entry under its own name; its marker's time does not matter.
        if (rc != 0 && !(e.kind == Kind::Whiteout && errno == ENOENT)) fail("utimensat", dir_ + "/" + path);
    }
};

}  // namespace

std::vector<std::string> write_stack(const LayerStack& stack, const Encoding& encoding, const std::string& dir) {
    std::filesystem::create_directories(dir);
    std::vector<std::string> top_first;
    for (size_t i = 0; i < stack.layers.size(); ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "L%03zu", i);
        std::string layer_dir = dir + "/" + name;
        LayerWriter(stack.layers[i], i, stack, encoding, layer_dir).write();
        top_first.insert(top_first.begin(), layer_dir);
    }
    return top_first;
}

}  // namespace ovft
