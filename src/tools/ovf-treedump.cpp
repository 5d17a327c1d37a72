// ovf-treedump: print one canonical line per entry of a directory tree, so that two trees (the
// kernel overlay's view and overlayfuse's view of the same layers, or a mount and a `docker
// export`) can be compared with a plain line diff.
//
// usage: ovf-treedump [OPTIONS] DIR
//
// Output: the root's own line ("/"), then every entry depth-first, names sorted bytewise:
//
//   /etc/passwd type=file mode=0644 uid=0 gid=0 size=123 sha256=HEX mtime=S.NS nlink=1 ino=self
//   /bin/sh type=symlink mode=0777 uid=0 gid=0 size=7 target=busybox mtime=... nlink=1 ino=self
//   /bin/ls type=file ... nlink=2 ino=/bin/cat        (same st_ino as the first path listed)
//   /dev/null type=chr mode=0666 uid=0 gid=0 rdev=1:3 ...
//   /d type=dir mode=0755 uid=0 gid=0 mtime=... nlink=1 ino=self xattrs=user.a:6869,user.b:
//
// Fields, in this order: type, mode (octal, with setuid/setgid/sticky), uid, gid, size (files
// and symlinks only: a directory's size is a property of the filesystem, not of the image),
// rdev (devices), sha256 (regular files), target (symlinks), mtime (seconds.nanoseconds; on by
// default for every type, directories included, because overlay takes a directory's times
// from its topmost copy and that is a rule worth checking), nlink, ino (inode identity: "self"
// for the first path seen with an inode, otherwise that first path, so hard links can be
// compared between mounts without comparing raw inode numbers), xattrs (sorted, name:hexvalue).
// Never printed: atime and ctime (reading changes one, the other is not settable).
//
// Problems are lines of their own starting with "! " so they show up in a diff:
//   ! d_ino PATH readdir=N lstat=M     readdir's d_ino differs from lstat's st_ino
//   ! d_type PATH readdir=T lstat=T    readdir's d_type differs from lstat's type
//   ! error PATH OPERATION: MESSAGE    e.g. an unreadable file or directory
//
// Names and link targets are escaped: bytes outside printable ASCII, space, backslash and the
// field separators ',' ':' '=' become \xHH, so every entry is exactly one line.
//
// Options:
//   --no-ino          omit the inode-identity field
//   --no-nlink        omit link counts           --no-dir-nlink   ... of directories only
//   --no-mtime        omit mtimes                --no-dir-mtime   ... of directories only
//   --no-xattrs       omit extended attributes   --skip-xattr P   omit xattrs whose name starts with P
//   --no-hash         do not read file contents (no sha256 field)
//   --no-dino-check   do not compare readdir's d_ino/d_type with lstat
//   --show-ghosts     report readdir entries that lstat says do not exist ("! ghost PATH")
//   --exclude PATH    skip PATH (relative to DIR, "/a/b" or "a/b") and everything below it;
//                     repeatable
//
// Exit status: 0 when the tree was walked (problem lines may have been printed), 2 on bad
// usage or when DIR itself cannot be opened.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "overlayfuse/sha256.hpp"
#include "overlayfuse/unique_fd.hpp"

namespace {

struct Options {
    bool ino = true;
    bool nlink = true;
    bool dir_nlink = true;
    bool mtime = true;
    bool dir_mtime = true;
    bool xattrs = true;
    bool hash = true;
    bool dino_check = true;
    bool show_ghosts = false;
    std::vector<std::string> skip_xattr_prefixes;
    std::set<std::string> excludes;  // normalised: leading "/", no trailing "/"
    std::string root;
};

// ---------------------------------------------------------------------------------------------
// Text helpers

std::string escape(const std::string& raw) {
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(raw.size());
    for (unsigned char c : raw) {
        bool plain = c > 0x20 && c < 0x7f && c != '\\' && c != ',' && c != ':' && c != '=';
        if (plain) {
            out += static_cast<char>(c);
        } else {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

std::string hex(const std::string& raw) {
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(raw.size() * 2);
    for (unsigned char c : raw) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    return out;
}

std::string octal_mode(mode_t mode) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

const char* type_name(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFDIR: return "dir";
        case S_IFREG: return "file";
        case S_IFLNK: return "symlink";
        case S_IFIFO: return "fifo";
        case S_IFCHR: return "chr";
        case S_IFBLK: return "blk";
        case S_IFSOCK: return "sock";
        default: return "unknown";
    }
}

const char* dtype_name(unsigned char d_type) {
    switch (d_type) {
        case DT_DIR: return "dir";
        case DT_REG: return "file";
        case DT_LNK: return "symlink";
        case DT_FIFO: return "fifo";
        case DT_CHR: return "chr";
        case DT_BLK: return "blk";
        case DT_SOCK: return "sock";
        default: return "unknown";
    }
}

std::string join_path(const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
}

void print_problem(const std::string& what, const std::string& path, const std::string& detail) {
    std::printf("! %s %s %s\n", what.c_str(), escape(path).c_str(), detail.c_str());
}

std::string errno_detail(const char* op, int err) {
    return std::string(op) + ": " + std::strerror(err);
}

// ---------------------------------------------------------------------------------------------
// Reading one entry. Every function takes the parent directory's fd and the entry's name, so
// paths of any depth work (no PATH_MAX limit) and no symlink is ever followed.

// sha256 of a regular file's contents, or an "ERROR:..." marker when it cannot be read.
std::string file_sha256(int dirfd, const std::string& name, std::string& error) {
    ovf::UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC));
    if (!fd) {
        error = errno_detail("open", errno);
        return "";
    }
    ovf::Sha256 hash;
    std::vector<char> buf(256 * 1024);
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = errno_detail("read", errno);
            return "";
        }
        if (n == 0) break;
        hash.update(buf.data(), static_cast<size_t>(n));
    }
    return hash.hex_digest();
}

std::string link_target(int dirfd, const std::string& name, std::string& error) {
    std::vector<char> buf(4096);
    for (;;) {
        ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
        if (n < 0) {
            error = errno_detail("readlink", errno);
            return "";
        }
        if (static_cast<size_t>(n) < buf.size()) return std::string(buf.data(), n);
        buf.resize(buf.size() * 2);
    }
}

// The l*xattr calls take a path; we make it a single component by moving into the parent
// directory first (the tool is single-threaded, so the working directory is ours).
std::vector<std::pair<std::string, std::string>> read_xattrs(int dirfd, const std::string& name,
                                                             const Options& opt,
                                                             std::string& error) {
    std::vector<std::pair<std::string, std::string>> out;
    if (::fchdir(dirfd) != 0) {
        error = errno_detail("fchdir", errno);
        return out;
    }
    ssize_t len = ::llistxattr(name.c_str(), nullptr, 0);
    if (len < 0) {
        if (errno != ENOTSUP) error = errno_detail("listxattr", errno);
        return out;
    }
    std::string names(static_cast<size_t>(len), '\0');
    len = ::llistxattr(name.c_str(), names.data(), names.size());
    if (len < 0) {
        error = errno_detail("listxattr", errno);
        return out;
    }
    names.resize(static_cast<size_t>(len));
    for (size_t pos = 0; pos < names.size();) {
        std::string xname(names.c_str() + pos);
        pos += xname.size() + 1;
        if (xname.empty()) continue;
        bool skipped = std::any_of(opt.skip_xattr_prefixes.begin(), opt.skip_xattr_prefixes.end(),
                                   [&](const std::string& p) { return xname.rfind(p, 0) == 0; });
        if (skipped) continue;
        std::string value(65536, '\0');
        ssize_t vlen = ::lgetxattr(name.c_str(), xname.c_str(), value.data(), value.size());
        if (vlen < 0) {
            // Listed but unreadable is itself worth seeing in a diff.
            out.emplace_back(xname, "ERROR(" + std::string(std::strerror(errno)) + ")");
            continue;
        }
        value.resize(static_cast<size_t>(vlen));
        out.emplace_back(xname, hex(value));
    }
    std::sort(out.begin(), out.end());
    return out;
}

// ---------------------------------------------------------------------------------------------
// The walk

struct DirEntry {
    std::string name;
    ino_t d_ino;
    unsigned char d_type;
};

class TreeDumper {
public:
    explicit TreeDumper(Options opt) : opt_(std::move(opt)) {}

    int run() {
        ovf::UniqueFd root(::open(opt_.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!root) {
            std::fprintf(stderr, "ovf-treedump: %s: %s\n", opt_.root.c_str(), std::strerror(errno));
            return 2;
        }
        struct stat st;
        if (::fstat(root.get(), &st) != 0) {
            std::fprintf(stderr, "ovf-treedump: %s: %s\n", opt_.root.c_str(), std::strerror(errno));
            return 2;
        }
        // The root's line: its attributes are read through "." inside it.
        print_entry(root.get(), ".", "/", st);
        walk_dir(root.get(), "/");
        return 0;
    }

private:
    Options opt_;
    std::map<std::pair<dev_t, ino_t>, std::string> first_path_of_inode_;

    std::vector<DirEntry> list_dir(int dirfd, const std::string& path) {
        std::vector<DirEntry> entries;
        // fdopendir takes ownership, so give it a duplicate opened afresh (position 0).
        int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR* dir = fd >= 0 ? ::fdopendir(fd) : nullptr;
        if (!dir) {
            print_problem("error", path, errno_detail("opendir", errno));
            if (fd >= 0) ::close(fd);
            return entries;
        }
        errno = 0;
        while (struct dirent* de = ::readdir(dir)) {
            std::string name = de->d_name;
            if (name != "." && name != "..") entries.push_back({name, de->d_ino, de->d_type});
            errno = 0;
        }
        if (errno != 0) print_problem("error", path, errno_detail("readdir", errno));
        ::closedir(dir);
        std::sort(entries.begin(), entries.end(),
                  [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
        return entries;
    }

    void walk_dir(int dirfd, const std::string& path) {
        for (const DirEntry& de : list_dir(dirfd, path)) {
            std::string child = join_path(path, de.name);
            if (opt_.excludes.count(child)) continue;
            struct stat st;
            if (::fstatat(dirfd, de.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
                // Kernel overlay quirk: in a directory that exists in one layer only, readdir
                // passes the layer's whiteouts through while lookup hides them, so lstat says
                // ENOENT. `docker export` omits such names, and so do we.
                if (errno == ENOENT) {
                    if (opt_.show_ghosts) print_problem("ghost", child, "lstat: ENOENT");
                    continue;
                }
                print_problem("error", child, errno_detail("lstat", errno));
                continue;
            }
            if (opt_.dino_check) check_dirent(de, child, st);
            print_entry(dirfd, de.name, child, st);
            if (S_ISDIR(st.st_mode)) descend(dirfd, de.name, child);
        }
    }

    void descend(int dirfd, const std::string& name, const std::string& path) {
        ovf::UniqueFd sub(::openat(dirfd, name.c_str(),
                                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) {
            print_problem("error", path, errno_detail("opendir", errno));
            return;
        }
        walk_dir(sub.get(), path);
    }

    void check_dirent(const DirEntry& de, const std::string& path, const struct stat& st) {
        if (de.d_ino != st.st_ino) {
            print_problem("d_ino", path,
                          "readdir=" + std::to_string(de.d_ino) + " lstat=" + std::to_string(st.st_ino));
        }
        if (de.d_type != DT_UNKNOWN && de.d_type != IFTODT(st.st_mode)) {
            print_problem("d_type", path,
                          std::string("readdir=") + dtype_name(de.d_type) + " lstat=" +
                              type_name(st.st_mode));
        }
    }

    // "self" for the first path seen with this inode, else that first path.
    std::string inode_label(const std::string& path, const struct stat& st) {
        auto [it, inserted] = first_path_of_inode_.emplace(std::make_pair(st.st_dev, st.st_ino), path);
        return inserted ? "self" : escape(it->second);
    }

    void print_entry(int dirfd, const std::string& name, const std::string& path,
                     const struct stat& st) {
        bool is_dir = S_ISDIR(st.st_mode);
        std::string line = escape(path);
        line += std::string(" type=") + type_name(st.st_mode);
        line += " mode=" + octal_mode(st.st_mode);
        line += " uid=" + std::to_string(st.st_uid) + " gid=" + std::to_string(st.st_gid);
        if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) line += " size=" + std::to_string(st.st_size);
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
            line += " rdev=" + std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
        }
        std::string error;
        if (S_ISREG(st.st_mode) && opt_.hash) {
            std::string sum = file_sha256(dirfd, name, error);
            line += " sha256=" + (sum.empty() ? std::string("unreadable") : sum);
            if (!error.empty()) print_problem("error", path, error);
        }
        if (S_ISLNK(st.st_mode)) {
            error.clear();
            line += " target=" + escape(link_target(dirfd, name, error));
            if (!error.empty()) print_problem("error", path, error);
        }
        if (opt_.mtime && (opt_.dir_mtime || !is_dir)) {
            char buf[64];
            std::snprintf(buf, sizeof buf, " mtime=%lld.%09ld", static_cast<long long>(st.st_mtim.tv_sec),
                          st.st_mtim.tv_nsec);
            line += buf;
        }
        if (opt_.nlink && (opt_.dir_nlink || !is_dir)) line += " nlink=" + std::to_string(st.st_nlink);
        if (opt_.ino) line += " ino=" + inode_label(path, st);
        if (opt_.xattrs) {
            error.clear();
            auto xattrs = read_xattrs(dirfd, name, opt_, error);
            if (!error.empty()) print_problem("error", path, error);
            if (!xattrs.empty()) {
                line += " xattrs=";
                for (size_t i = 0; i < xattrs.size(); ++i) {
                    if (i) line += ",";
                    line += escape(xattrs[i].first) + ":" + xattrs[i].second;
                }
            }
        }
        std::printf("%s\n", line.c_str());
    }
};

// ---------------------------------------------------------------------------------------------
// Command line

std::string normalise_exclude(std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (p.empty() || p[0] != '/') p = "/" + p;
    return p;
}

void usage(FILE* out) {
    std::fputs(
        "usage: ovf-treedump [--no-ino] [--no-nlink] [--no-dir-nlink] [--no-mtime] [--no-dir-mtime]\n"
        "                    [--no-xattrs] [--skip-xattr PREFIX]... [--no-hash] [--no-dino-check]\n"
        "                    [--show-ghosts] [--exclude PATH]... DIR\n"
        "Prints one canonical line per entry of the tree at DIR (see the source header).\n",
        out);
}

bool parse_args(int argc, char** argv, Options& opt) {
    const std::map<std::string, bool Options::*> flags = {
        {"--no-ino", &Options::ino},         {"--no-nlink", &Options::nlink},
        {"--no-dir-nlink", &Options::dir_nlink}, {"--no-mtime", &Options::mtime},
        {"--no-dir-mtime", &Options::dir_mtime}, {"--no-xattrs", &Options::xattrs},
        {"--no-hash", &Options::hash},       {"--no-dino-check", &Options::dino_check},
    };
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (auto it = flags.find(arg); it != flags.end()) {
            opt.*(it->second) = false;
        } else if (arg == "--show-ghosts") {
            opt.show_ghosts = true;
        } else if ((arg == "--exclude" || arg == "--skip-xattr") && i + 1 < argc) {
            std::string value = argv[++i];
            if (arg == "--exclude") opt.excludes.insert(normalise_exclude(value));
            else opt.skip_xattr_prefixes.push_back(value);
        } else if (arg == "-h" || arg == "--help") {
            usage(stdout);
            std::exit(0);
        } else if (!arg.empty() && arg[0] != '-' && opt.root.empty()) {
            opt.root = arg;
        } else {
            return false;
        }
    }
    return !opt.root.empty();
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    if (!parse_args(argc, argv, opt)) {
        usage(stderr);
        return 2;
    }
    return TreeDumper(std::move(opt)).run();
}
