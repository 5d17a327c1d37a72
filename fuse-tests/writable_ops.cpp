#include "writable_ops.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

#include "support/harness.hpp"
#include "support/layer_generator.hpp"
#include "writable_support.hpp"

namespace fs = std::filesystem;

namespace ovft::wr {

// ---------------------------------------------------------------------------------------------
// Names, text forms

namespace {

const std::vector<std::pair<OpKind, const char*>> kNames = {
    {OpKind::CreateExcl, "create_excl"}, {OpKind::OpenTrunc, "open_trunc"}, {OpKind::Append, "append"},
    {OpKind::WriteAt, "write_at"},       {OpKind::Truncate, "truncate"},    {OpKind::Fallocate, "fallocate"},
    {OpKind::Mkdir, "mkdir"},            {OpKind::Mkfifo, "mkfifo"},        {OpKind::Mknod, "mknod_chr"},
    {OpKind::Symlink, "symlink"},        {OpKind::Link, "link"},            {OpKind::Unlink, "unlink"},
    {OpKind::Rmdir, "rmdir"},            {OpKind::Rename, "rename"},        {OpKind::Chmod, "chmod"},
    {OpKind::Chown, "lchown"},           {OpKind::Utimens, "utimensat"},    {OpKind::SetXattr, "lsetxattr"},
    {OpKind::RemoveXattr, "lremovexattr"}, {OpKind::GetXattr, "lgetxattr"}, {OpKind::ListXattr, "llistxattr"},
    {OpKind::ReadRdwr, "read_rdwr"},     {OpKind::ReadRo, "read_ro"},       {OpKind::Readdir, "readdir"},
    {OpKind::Stat, "lstat"},             {OpKind::Readlink, "readlink"},    {OpKind::HoldOpen, "hold_open"},
    {OpKind::FdWrite, "fd_write"},       {OpKind::FdRead, "fd_read"},       {OpKind::FdStat, "fd_fstat"},
    {OpKind::FdTruncate, "fd_ftruncate"}, {OpKind::FdClose, "fd_close"},    {OpKind::Fsync, "fd_fsync"},
};

std::string q(const std::string& s) { return "\"" + s + "\""; }

std::string open_flags_text(int64_t f) {
    std::string s;
    int acc = static_cast<int>(f & O_ACCMODE);
    s = acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY" : "O_RDWR";
    if (f & O_CREAT) s += "|O_CREAT";
    if (f & O_EXCL) s += "|O_EXCL";
    if (f & O_TRUNC) s += "|O_TRUNC";
    if (f & O_APPEND) s += "|O_APPEND";
    return s;
}

std::string time_text(int64_t v) {
    if (v == -1) return "UTIME_NOW";
    if (v == -2) return "UTIME_OMIT";
    return std::to_string(v) + "." + std::to_string((v % 1000000) * 1000);
}

std::string unhex(const std::string& s) {
    std::string out;
    for (size_t i = 0; i + 1 < s.size(); i += 2) out += static_cast<char>(std::stoi(s.substr(i, 2), nullptr, 16));
    return out;
}

std::string pattern(uint32_t len, uint32_t seed) {
    std::string s(len, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (uint32_t i = 0; i < len; ++i) {
        x = x * 1103515245u + 12345u;
        s[i] = static_cast<char>('a' + (x >> 16) % 26);
    }
    if (len > 0) s[len - 1] = '\n';
    return s;
}

std::string xattr_value(const Op& op) { return pattern(op.dlen, op.dseed); }

}  // namespace

std::string op_name(OpKind k) {
    for (auto& [kind, name] : kNames) {
        if (kind == k) return name;
    }
    return "?";
}

std::string describe(const Op& op) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "0%o", op.mode);
    std::string data = std::to_string(op.dlen) + " bytes#" + std::to_string(op.dseed);
    std::string slot = "fd[" + std::to_string(op.flags) + "]";
    switch (op.kind) {
        case OpKind::CreateExcl: return "open(" + q(op.a) + ", O_WRONLY|O_CREAT|O_EXCL, " + mode + ") + write " + data;
        case OpKind::OpenTrunc: return "open(" + q(op.a) + ", O_WRONLY|O_CREAT|O_TRUNC, " + mode + ") + write " + data;
        case OpKind::Append:
            return "open(" + q(op.a) + ", O_WRONLY|O_APPEND" + (op.flags ? "|O_CREAT" : "") + ") + write " + data;
        case OpKind::WriteAt: return "open(" + q(op.a) + ", O_WRONLY) + pwrite(" + data + ", off " + std::to_string(op.x) + ")";
        case OpKind::Truncate: return "truncate(" + q(op.a) + ", " + std::to_string(op.x) + ")";
        case OpKind::Fallocate: {
            std::string m = op.flags == 0 ? "0" : op.flags == FALLOC_FL_KEEP_SIZE ? "KEEP_SIZE"
                          : op.flags == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) ? "PUNCH_HOLE|KEEP_SIZE"
                          : op.flags == FALLOC_FL_ZERO_RANGE ? "ZERO_RANGE" : std::to_string(op.flags);
            return "open(" + q(op.a) + ", O_WRONLY) + fallocate(" + m + ", " + std::to_string(op.x) + ", " +
                   std::to_string(op.y) + ")";
        }
        case OpKind::Mkdir: return "mkdir(" + q(op.a) + ", " + mode + ")";
        case OpKind::Mkfifo: return "mknod(" + q(op.a) + ", S_IFIFO|" + mode + ")";
        case OpKind::Mknod: return "mknod(" + q(op.a) + ", S_IFCHR|" + mode + ", 1:3)";
        case OpKind::Symlink: return "symlink(" + q(op.b) + ", " + q(op.a) + ")";
        case OpKind::Link: return "link(" + q(op.a) + ", " + q(op.b) + ")";
        case OpKind::Unlink: return "unlink(" + q(op.a) + ")";
        case OpKind::Rmdir: return "rmdir(" + q(op.a) + ")";
        case OpKind::Rename: {
            std::string f = op.flags == 0 ? "0" : op.flags == RENAME_NOREPLACE ? "RENAME_NOREPLACE"
                          : op.flags == RENAME_EXCHANGE ? "RENAME_EXCHANGE" : std::to_string(op.flags);
            return "renameat2(" + q(op.a) + ", " + q(op.b) + ", " + f + ")";
        }
        case OpKind::Chmod: return "chmod(" + q(op.a) + ", " + mode + ")";
        case OpKind::Chown: return "lchown(" + q(op.a) + ", " + std::to_string(op.x) + ", " + std::to_string(op.y) + ")";
        case OpKind::Utimens:
            return "utimensat(" + q(op.a) + ", {" + time_text(op.x) + ", " + time_text(op.y) + "}, " +
                   (op.flags ? "AT_SYMLINK_NOFOLLOW" : "0") + ")";
        case OpKind::SetXattr: {
            std::string f = op.flags == 0 ? "0" : op.flags == XATTR_CREATE ? "XATTR_CREATE" : "XATTR_REPLACE";
            return "lsetxattr(" + q(op.a) + ", " + q(op.b) + ", " + data + ", " + f + ")";
        }
        case OpKind::RemoveXattr: return "lremovexattr(" + q(op.a) + ", " + q(op.b) + ")";
        case OpKind::GetXattr: return "lgetxattr(" + q(op.a) + ", " + q(op.b) + ")";
        case OpKind::ListXattr: return "llistxattr(" + q(op.a) + ")";
        case OpKind::ReadRdwr: return "open(" + q(op.a) + ", O_RDWR) + read all";
        case OpKind::ReadRo: return "open(" + q(op.a) + ", O_RDONLY) + read all";
        case OpKind::Readdir: return "readdir(" + q(op.a) + ")";
        case OpKind::Stat: return "lstat(" + q(op.a) + ")";
        case OpKind::Readlink: return "readlink(" + q(op.a) + ")";
        case OpKind::HoldOpen:
            return slot + " = open(" + q(op.a) + ", " + open_flags_text(op.x) + ", " + mode + ")  (kept open)";
        case OpKind::FdWrite:
            return op.x < 0 ? "write(" + slot + ", " + data + ")" : "pwrite(" + slot + ", " + data + ", off " + std::to_string(op.x) + ")";
        case OpKind::FdRead: return "pread(" + slot + ", all from 0)";
        case OpKind::FdStat: return "fstat(" + slot + ")";
        case OpKind::FdTruncate: return "ftruncate(" + slot + ", " + std::to_string(op.x) + ")";
        case OpKind::FdClose: return "close(" + slot + ")";
        case OpKind::Fsync: return "fsync(" + slot + ")";
    }
    return "?";
}

std::string serialize(const Op& op) {
    std::ostringstream s;
    s << op_name(op.kind) << " " << (op.a.empty() ? "-" : hex(op.a)) << " " << (op.b.empty() ? "-" : hex(op.b))
      << " " << op.x << " " << op.y << " " << op.flags << " " << op.mode << " " << op.dlen << " " << op.dseed
      << "    # " << describe(op);
    return s.str();
}

std::optional<Op> parse_op(const std::string& line) {
    std::istringstream in(line);
    std::string name, a, b;
    Op op;
    if (!(in >> name >> a >> b >> op.x >> op.y >> op.flags >> op.mode >> op.dlen >> op.dseed)) return std::nullopt;
    bool found = false;
    for (auto& [kind, n] : kNames) {
        if (n == name) op.kind = kind, found = true;
    }
    if (!found) return std::nullopt;
    op.a = a == "-" ? "" : unhex(a);
    op.b = b == "-" ? "" : unhex(b);
    return op;
}

namespace {
bool tolerate(const char* what);
}

// ---------------------------------------------------------------------------------------------
// Lower layers

LayerStack differential_stack(uint64_t seed) {
    GeneratorParams p;
    p.min_layers = 1;
    p.max_layers = 3;
    p.min_ops_per_layer = 4;
    p.max_ops_per_layer = 14;
    p.big_files = false;
    p.long_names = false;
    p.deep_paths = false;
    p.devices = true;
    LayerStack gen = generate_stack(seed, p);

    // The base layer (bottom): what every sequence should meet at least once.
    LayerStack stack;
    stack.seed = seed;
    Layer& base = stack.add_layer();
    base.root.mtime = {1500000000, 0};
    base.dir("a", 0755).mtime = {1500000001, 0};
    base.dir("a/b", 0755).mtime = {1500000002, 0};
    base.dir("a/b/c", 0750).mtime = {1500000003, 0};
    Entry& deep = base.file("a/b/c/f", "deep file\n", 0644);
    deep.mtime = {1500000004, 5};
    base.file("a/f", "a's file\n", 0600).uid = 1234;
    Entry& x = base.file("g", std::string(300 * 1024, 'G'), 0644);
    x.xattrs.emplace_back("user.a", "value-a");
    x.xattrs.emplace_back("user.b", "");
    x.mtime = {1500000005, 0};
    base.file("f", "hard link group\n", 0640).mtime = {1500000006, 0};
    base.hardlink("a/h", "f");
    base.hardlink("a/b/h", "f");
    base.symlink("s", "a/f");
    base.symlink("a/up", "../g");
    base.symlink("dangle", "nowhere/at/all");
    base.fifo("p", 0644);
    Entry& xd = base.dir("d", 0755);
    xd.xattrs.emplace_back("user.dirattr", "dv");
    xd.mtime = {1500000007, 0};
    base.file("d/e", "e\n", 0644);
    base.dir("d/sub", 0755);
    base.file("d/sub/k", "k\n", 04755);
    for (auto& l : gen.layers) stack.layers.push_back(l);
    if (tolerate("lower-hardlinks")) {
        for (auto& l : stack.layers) {
            for (auto& [path, e] : l.entries) {
                if (e.kind == Kind::HardLink) e = l.entries.at(e.data);
            }
        }
    }
    return stack;
}

// ---------------------------------------------------------------------------------------------
// Executing an operation

namespace {

constexpr int kSlots = 3;

// OVF_WR_TOLERATE=a,b,...: differences to ignore, so that a long soak can look past a known
// divergence for the next one. CI never sets it. Categories:
//   dir-mtime    mtimes of directories     ino          hard-link identity classes
//   nlink        link counts               device-open  never open device nodes (not even 1:3)
//   upper        the raw upper comparison  xattr        xattrs in the tree walks
//   lower-hardlinks  the lowers get copies instead of hard links
//   result:K:O   a call where the kernel's outcome contains K and overlayfuse's contains O
bool tolerate(const char* what) {
    const char* env = std::getenv("OVF_WR_TOLERATE");
    if (!env) return false;
    std::string list = std::string(",") + env + ",";
    return list.find(std::string(",") + what + ",") != std::string::npos;
}

bool tolerated_result(const std::string& rk, const std::string& rf) {
    const char* env = std::getenv("OVF_WR_TOLERATE");
    if (!env) return false;
    std::istringstream in(env);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (item.rfind("result:", 0) != 0) continue;
        auto colon = item.find(':', 7);
        if (colon == std::string::npos) continue;
        std::string k = item.substr(7, colon - 7), o = item.substr(colon + 1);
        if (rk.find(k) != std::string::npos && rf.find(o) != std::string::npos) return true;
    }
    return false;
}

struct Side {
    std::string root;
    int fds[kSlots] = {-1, -1, -1};
    int64_t recent_after = 0;
    ~Side() {
        for (int& fd : fds) {
            if (fd >= 0) ::close(fd);
            fd = -1;
        }
    }
};

std::string err(int rc_errno) { return "-1 " + errno_name(rc_errno); }

std::string hash_of(const std::string& s) {
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    char out[24];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return out;
}

std::string stat_text(const struct stat& st, int64_t recent_after, bool with_size) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "%06o", st.st_mode);
    std::string s = std::string("mode=") + mode + " uid=" + std::to_string(st.st_uid) + " gid=" + std::to_string(st.st_gid);
    if (with_size) s += " size=" + std::to_string(st.st_size);
    if (!tolerate("nlink")) s += " nlink=" + std::to_string(st.st_nlink);
    if (S_ISDIR(st.st_mode) && tolerate("dir-mtime")) return s;
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) s += " rdev=" + std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
    s += " mtime=" + (st.st_mtim.tv_sec >= recent_after ? std::string("now")
                                                         : std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
    return s;
}

std::string write_all(int fd, const std::string& data, int64_t off) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = off >= 0 ? ::pwrite(fd, data.data() + done, data.size() - done, off + static_cast<off_t>(done))
                             : ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return "write " + err(errno);
        done += static_cast<size_t>(n);
    }
    return "";
}

std::string size_after(int fd) {
    struct stat st;
    if (::fstat(fd, &st) != 0) return " fstat " + err(errno);
    return " size=" + std::to_string(st.st_size);
}

// Device nodes in the layers are real devices of this machine (a tty, /dev/fuse, a loop
// device...): never open them, except /dev/null and /dev/zero (1:3, 1:5). Returns a result
// text when PATH must not be opened.
std::optional<std::string> refuse_device(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) return std::nullopt;
    if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && (minor(st.st_rdev) == 3 || minor(st.st_rdev) == 5) &&
        !tolerate("device-open"))
        return std::nullopt;
    return std::string("(device, not opened)");
}

int safe_open(const std::string& path, int flags, mode_t mode) {
    if (refuse_device(path)) {
        errno = ENODEV;
        return -2;
    }
    return ::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
}

std::string open_and(const std::string& path, int flags, mode_t mode, const std::function<std::string(int)>& then) {
    if (auto r = refuse_device(path)) return *r;
    int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
    if (fd < 0) return "open " + err(errno);
    std::string r = then(fd);
    if (::close(fd) != 0) r += " close " + err(errno);
    return r;
}

std::string execute(Side& side, const Op& op) {
    std::string pa = side.root + (op.a.empty() ? "" : "/" + op.a);
    std::string pb = side.root + (op.b.empty() ? "" : "/" + op.b);
    std::string data = pattern(op.dlen, op.dseed);
    auto rc = [](int r) { return r == 0 ? std::string("0") : err(errno); };
    int slot = static_cast<int>(op.flags) % kSlots;
    if (slot < 0) slot = 0;
    switch (op.kind) {
        case OpKind::CreateExcl:
            return open_and(pa, O_WRONLY | O_CREAT | O_EXCL, op.mode, [&](int fd) {
                std::string w = write_all(fd, data, -1);
                return w.empty() ? "0" + size_after(fd) : w;
            });
        case OpKind::OpenTrunc:
            return open_and(pa, O_WRONLY | O_CREAT | O_TRUNC, op.mode, [&](int fd) {
                std::string w = write_all(fd, data, -1);
                return w.empty() ? "0" + size_after(fd) : w;
            });
        case OpKind::Append:
            return open_and(pa, O_WRONLY | O_APPEND | (op.flags ? O_CREAT : 0), op.mode, [&](int fd) {
                std::string w = write_all(fd, data, -1);
                return w.empty() ? "0" + size_after(fd) : w;
            });
        case OpKind::WriteAt:
            return open_and(pa, O_WRONLY, 0, [&](int fd) {
                std::string w = write_all(fd, data, op.x);
                return w.empty() ? "0" + size_after(fd) : w;
            });
        case OpKind::Truncate: return rc(::truncate(pa.c_str(), op.x));
        case OpKind::Fallocate:
            return open_and(pa, O_WRONLY, 0, [&](int fd) {
                if (::fallocate(fd, static_cast<int>(op.flags), op.x, op.y) != 0) return "fallocate " + err(errno);
                return "0" + size_after(fd);
            });
        case OpKind::Mkdir: return rc(::mkdir(pa.c_str(), op.mode));
        case OpKind::Mkfifo: return rc(::mknod(pa.c_str(), S_IFIFO | op.mode, 0));
        case OpKind::Mknod: return rc(::mknod(pa.c_str(), S_IFCHR | op.mode, makedev(1, 3)));
        case OpKind::Symlink: return rc(::symlink(op.b.c_str(), pa.c_str()));
        case OpKind::Link: return rc(::link(pa.c_str(), pb.c_str()));
        case OpKind::Unlink: return rc(::unlink(pa.c_str()));
        case OpKind::Rmdir: return rc(::rmdir(pa.c_str()));
        case OpKind::Rename:
            return rc(static_cast<int>(::syscall(SYS_renameat2, AT_FDCWD, pa.c_str(), AT_FDCWD, pb.c_str(),
                                                 static_cast<unsigned>(op.flags))));
        case OpKind::Chmod: return rc(::chmod(pa.c_str(), op.mode));
        case OpKind::Chown: return rc(::lchown(pa.c_str(), static_cast<uid_t>(op.x), static_cast<gid_t>(op.y)));
        case OpKind::Utimens: {
            auto ts = [](int64_t v) {
                struct timespec t;
                if (v == -1) t = {0, UTIME_NOW};
                else if (v == -2) t = {0, UTIME_OMIT};
                else t = {static_cast<time_t>(v), static_cast<long>((v % 1000000) * 1000)};
                return t;
            };
            struct timespec times[2] = {ts(op.x), ts(op.y)};
            return rc(::utimensat(AT_FDCWD, pa.c_str(), times, op.flags ? AT_SYMLINK_NOFOLLOW : 0));
        }
        case OpKind::SetXattr: {
            std::string v = xattr_value(op);
            return rc(::lsetxattr(pa.c_str(), op.b.c_str(), v.data(), v.size(), static_cast<int>(op.flags)));
        }
        case OpKind::RemoveXattr: return rc(::lremovexattr(pa.c_str(), op.b.c_str()));
        case OpKind::GetXattr: {
            char buf[65536];
            ssize_t n = ::lgetxattr(pa.c_str(), op.b.c_str(), buf, sizeof buf);
            if (n < 0) return err(errno);
            return "0 value=" + hex(std::string(buf, static_cast<size_t>(n)));
        }
        case OpKind::ListXattr: {
            char buf[65536];
            ssize_t n = ::llistxattr(pa.c_str(), buf, sizeof buf);
            if (n < 0) return err(errno);
            std::vector<std::string> names;
            for (ssize_t i = 0; i < n;) {
                std::string s(buf + i);
                i += static_cast<ssize_t>(s.size()) + 1;
                names.push_back(s);
            }
            std::sort(names.begin(), names.end());
            std::string r = "0";
            for (auto& s : names) r += " " + s;
            return r;
        }
        case OpKind::ReadRdwr:
            return open_and(pa, O_RDWR, 0, [&](int fd) { return read_fd_all(fd, false); });
        case OpKind::ReadRo:
            return open_and(pa, O_RDONLY, 0, [&](int fd) { return read_fd_all(fd, false); });
        case OpKind::Readdir: {
            DIR* d = ::opendir(pa.c_str());
            if (!d) return "opendir " + err(errno);
            std::vector<std::string> names;
            errno = 0;
            while (struct dirent* de = ::readdir(d)) {
                std::string n = de->d_name;
                if ((n == "." || n == "..") && tolerate("dotdot")) continue;
                struct stat st;
                if (::fstatat(dirfd(d), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) continue;
                names.push_back(n);
            }
            ::closedir(d);
            std::sort(names.begin(), names.end());
            std::string r = "0";
            for (auto& s : names) r += " " + s;
            return r;
        }
        case OpKind::Stat: {
            struct stat st;
            if (::lstat(pa.c_str(), &st) != 0) return err(errno);
            return "0 " + stat_text(st, side.recent_after, !S_ISDIR(st.st_mode));
        }
        case OpKind::Readlink: {
            char buf[4096];
            ssize_t n = ::readlink(pa.c_str(), buf, sizeof buf);
            if (n < 0) return err(errno);
            return "0 " + std::string(buf, static_cast<size_t>(n));
        }
        case OpKind::HoldOpen: {
            if (side.fds[slot] >= 0) ::close(side.fds[slot]);
            side.fds[slot] = safe_open(pa, static_cast<int>(op.x), op.mode);
            if (side.fds[slot] == -2) {
                side.fds[slot] = -1;
                return "(device, not opened)";
            }
            if (side.fds[slot] < 0) return err(errno);
            return "0";
        }
        case OpKind::FdWrite: {
            if (side.fds[slot] < 0) return "(not open)";
            std::string w = write_all(side.fds[slot], data, op.x);
            return w.empty() ? "0" + size_after(side.fds[slot]) : w;
        }
        case OpKind::FdRead:
            if (side.fds[slot] < 0) return "(not open)";
            return read_fd_all(side.fds[slot], true);
        case OpKind::FdStat: {
            if (side.fds[slot] < 0) return "(not open)";
            struct stat st;
            if (::fstat(side.fds[slot], &st) != 0) return err(errno);
            return "0 " + stat_text(st, side.recent_after, true);
        }
        case OpKind::FdTruncate:
            if (side.fds[slot] < 0) return "(not open)";
            return rc(::ftruncate(side.fds[slot], op.x));
        case OpKind::FdClose: {
            if (side.fds[slot] < 0) return "(not open)";
            int r = ::close(side.fds[slot]);
            side.fds[slot] = -1;
            return rc(r);
        }
        case OpKind::Fsync:
            if (side.fds[slot] < 0) return "(not open)";
            return rc(::fsync(side.fds[slot]));
    }
    return "?";
}

// ---------------------------------------------------------------------------------------------
// Generating an operation from the kernel's current tree

struct StateEntry {
    std::string path;  // relative, "" for the root
    char type;         // f d l p c b s
    int depth;
};

void list_state(const std::string& root, const std::string& rel, int depth, std::vector<StateEntry>& out) {
    auto names = sorted_names(root + (rel.empty() ? "" : "/" + rel));
    if (!names) return;
    for (const auto& n : *names) {
        std::string p = rel.empty() ? n : rel + "/" + n;
        struct stat st;
        if (::lstat((root + "/" + p).c_str(), &st) != 0) continue;
        char t = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l'
               : S_ISFIFO(st.st_mode) ? 'p' : S_ISCHR(st.st_mode) ? 'c' : S_ISBLK(st.st_mode) ? 'b' : 's';
        out.push_back({p, t, depth + 1});
        if (t == 'd' && depth + 1 < 6) list_state(root, p, depth + 1, out);
    }
}

class Generator {
public:
    Generator(uint64_t seed, const DiffOptions& o) : rng_(seed * 0x100000001b3ULL + 7), o_(o) {}

    Op next(const std::string& kernel_root) {
        state_.clear();
        list_state(kernel_root, "", 0, state_);
        struct W {
            OpKind k;
            int w;
        };
        static const std::vector<W> weights = {
            {OpKind::CreateExcl, 6}, {OpKind::OpenTrunc, 5}, {OpKind::Append, 6},   {OpKind::WriteAt, 5},
            {OpKind::Truncate, 4},   {OpKind::Fallocate, 2}, {OpKind::Mkdir, 7},    {OpKind::Mkfifo, 1},
            {OpKind::Mknod, 1},      {OpKind::Symlink, 4},   {OpKind::Link, 5},     {OpKind::Unlink, 7},
            {OpKind::Rmdir, 5},      {OpKind::Rename, 13},   {OpKind::Chmod, 3},    {OpKind::Chown, 3},
            {OpKind::Utimens, 3},    {OpKind::SetXattr, 4},  {OpKind::RemoveXattr, 2}, {OpKind::GetXattr, 1},
            {OpKind::ListXattr, 1},  {OpKind::ReadRdwr, 2},  {OpKind::ReadRo, 2},   {OpKind::Readdir, 3},
            {OpKind::Stat, 4},       {OpKind::Readlink, 1},  {OpKind::HoldOpen, 3}, {OpKind::FdWrite, 3},
            {OpKind::FdRead, 2},     {OpKind::FdStat, 2},    {OpKind::FdTruncate, 1}, {OpKind::FdClose, 2},
            {OpKind::Fsync, 1},
        };
        int total = 0;
        for (auto& w : weights) {
            if (!o_.held_fds && is_fd_op(w.k)) continue;
            total += w.w;
        }
        int r = static_cast<int>(rng_.below(static_cast<uint64_t>(total)));
        OpKind kind = OpKind::Stat;
        for (auto& w : weights) {
            if (!o_.held_fds && is_fd_op(w.k)) continue;
            if ((r -= w.w) < 0) {
                kind = w.k;
                break;
            }
        }
        return make(kind);
    }

private:
    Rng rng_;
    DiffOptions o_;
    std::vector<StateEntry> state_;

    static bool is_fd_op(OpKind k) {
        return k == OpKind::HoldOpen || k == OpKind::FdWrite || k == OpKind::FdRead || k == OpKind::FdStat ||
               k == OpKind::FdTruncate || k == OpKind::FdClose || k == OpKind::Fsync;
    }

    std::string name() {
        static const std::vector<std::string> pool = {"a", "b", "c", "d", "e", "f", "g"};
        return rng_.pick(pool);
    }

    std::vector<std::string> of(const std::string& types) const {
        std::vector<std::string> out;
        for (const auto& e : state_) {
            if (types.find(e.type) != std::string::npos) out.push_back(e.path);
        }
        return out;
    }

    std::string any() {
        if (state_.empty() || rng_.chance(4)) return new_child();
        return rng_.pick(state_).path;
    }

    std::string new_child() {
        std::vector<std::string> dirs = {""};
        for (const auto& e : state_) {
            if (e.type == 'd' && e.depth < 4) dirs.push_back(e.path);
        }
        // Now and then below a non-directory or a missing directory: ENOTDIR / ENOENT.
        if (rng_.chance(3)) {
            auto nd = of("fl");
            if (!nd.empty()) return rng_.pick(nd) + "/" + name();
            return "zz/" + name();
        }
        std::string parent = rng_.pick(dirs);
        return parent.empty() ? name() : parent + "/" + name();
    }

    std::string file_or_new(int existing_percent) {
        auto files = of("f");
        if (!files.empty() && rng_.chance(existing_percent)) return rng_.pick(files);
        return new_child();
    }

    std::string existing(const std::string& types, int percent_of_any) {
        auto v = of(types);
        if (v.empty() || rng_.chance(percent_of_any)) return any();
        return rng_.pick(v);
    }

    uint32_t data_len() {
        int r = rng_.between(0, 99);
        return r < 10 ? 0 : r < 70 ? static_cast<uint32_t>(rng_.between(1, 200))
             : r < 95 ? static_cast<uint32_t>(rng_.between(200, 9000)) : static_cast<uint32_t>(rng_.between(9000, 140000));
    }

    uint32_t file_mode() {
        static const std::vector<uint32_t> m = {0644, 0644, 0600, 0755, 0000, 0444, 04755, 02755, 0777};
        return rng_.pick(m);
    }

    std::string symlink_target() {
        switch (rng_.below(6)) {
            case 0: case 1: {
                auto p = any();
                return p.empty() ? "." : p;
            }
            case 2: return "../" + name();
            case 3: return "dangling/" + name();
            case 4: return "/nowhere/" + name();
            default: return name();
        }
    }

    int64_t time_value() {
        int r = rng_.between(0, 9);
        if (r == 0) return -1;  // UTIME_NOW
        if (r == 1) return -2;  // UTIME_OMIT
        return 1000000000 + static_cast<int64_t>(rng_.below(400000000));
    }

    Op make(OpKind kind) {
        Op op;
        op.kind = kind;
        op.dlen = data_len();
        op.dseed = static_cast<uint32_t>(rng_.below(1000000));
        switch (kind) {
            case OpKind::CreateExcl:
                op.a = rng_.chance(80) ? new_child() : any();
                op.mode = file_mode();
                break;
            case OpKind::OpenTrunc:
                op.a = file_or_new(60);
                op.mode = file_mode();
                break;
            case OpKind::Append:
                op.a = file_or_new(80);
                op.flags = rng_.chance(30);
                op.mode = 0644;
                break;
            case OpKind::WriteAt:
                op.a = file_or_new(90);
                op.x = rng_.chance(70) ? rng_.between(0, 4000) : rng_.between(0, 400000);
                break;
            case OpKind::Truncate: {
                auto files = of("f");
                op.a = files.empty() || rng_.chance(5) ? new_child() : rng_.pick(files);
                op.x = rng_.chance(30) ? 0 : rng_.chance(70) ? rng_.between(1, 5000) : rng_.between(5000, 500000);
                break;
            }
            case OpKind::Fallocate: {
                op.a = file_or_new(95);
                static const std::vector<int64_t> modes = {0, FALLOC_FL_KEEP_SIZE,
                                                           FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_ZERO_RANGE};
                op.flags = rng_.pick(modes);
                op.x = rng_.between(0, 8192);
                op.y = rng_.between(1, 20000);
                break;
            }
            case OpKind::Mkdir: {
                op.a = rng_.chance(85) ? new_child() : any();
                static const std::vector<uint32_t> m = {0755, 0755, 0700, 0777, 01777, 02755, 0555};
                op.mode = rng_.pick(m);
                break;
            }
            case OpKind::Mkfifo:
            case OpKind::Mknod:
                op.a = new_child();
                op.mode = 0644;
                break;
            case OpKind::Symlink:
                op.a = rng_.chance(90) ? new_child() : any();
                op.b = symlink_target();
                break;
            case OpKind::Link:
                op.a = existing("fplcb", 10);
                op.b = rng_.chance(80) ? new_child() : any();
                break;
            case OpKind::Unlink: op.a = existing("fplcb", 15); break;
            case OpKind::Rmdir: op.a = existing("d", 15); break;
            case OpKind::Rename: {
                int r = rng_.between(0, 99);
                op.flags = r < 65 ? 0 : r < 80 ? RENAME_NOREPLACE : RENAME_EXCHANGE;
                // Directories are often lower (EXDEV): prefer non-directories, but not only.
                op.a = rng_.chance(o_.prefer_dirs ? 35 : 70) ? existing("fplcb", 0) : existing("d", 0);
                op.b = rng_.chance(op.flags == RENAME_EXCHANGE ? 85 : 45) ? any() : new_child();
                break;
            }
            case OpKind::Chmod:
                op.a = rng_.chance(5) ? "" : existing("fdpcb", 5);
                op.mode = rng_.chance(50) ? file_mode() : static_cast<uint32_t>(rng_.pick(std::vector<int>{0755, 0700, 01777, 0555}));
                break;
            case OpKind::Chown: {
                op.a = any();
                static const std::vector<int64_t> ids = {0, 1000, 1234, 65534, -1};
                op.x = rng_.pick(ids);
                op.y = rng_.pick(ids);
                if (op.x == -1) op.x = 4294967295LL;
                if (op.y == -1) op.y = 4294967295LL;
                break;
            }
            case OpKind::Utimens:
                op.a = rng_.chance(5) ? "" : any();
                op.x = time_value();
                op.y = time_value();
                op.flags = rng_.chance(60);
                break;
            case OpKind::SetXattr: {
                op.a = rng_.chance(5) ? "" : existing("fd", 10);
                // Not user.overlay.*: overlayfuse never shows that family (issue: overlay's own
                // xattrs are never visible, rootless layers use it for markers), while the kernel
                // without userxattr shows it. Its upper format is checked in
                // WritableRegression.UserOverlayXattrIsStoredVerbatimAsRoot.
                static const std::vector<std::string> names = {"user.a", "user.a", "user.b", "user.new", "user.new",
                                                               "trusted.ovftest", "trusted.overlay.opaque"};
                op.b = rng_.pick(names);
                if (op.b.find(".overlay.") != std::string::npos && tolerate("overlay-xattrs")) op.b = "user.c";
                op.flags = rng_.chance(70) ? 0 : rng_.chance(50) ? XATTR_CREATE : XATTR_REPLACE;
                op.dlen = static_cast<uint32_t>(rng_.between(0, 40));
                break;
            }
            case OpKind::RemoveXattr:
            case OpKind::GetXattr: {
                op.a = existing("fd", 10);
                static const std::vector<std::string> names = {"user.a", "user.b", "user.new", "user.dirattr",
                                                               "trusted.ovftest", "trusted.overlay.opaque",
                                                               "security.capability"};
                op.b = rng_.pick(names);
                break;
            }
            case OpKind::ListXattr: op.a = existing("fd", 10); break;
            case OpKind::ReadRdwr:
            case OpKind::ReadRo: op.a = existing("f", 5); break;
            case OpKind::Readdir: op.a = rng_.chance(15) ? "" : existing("d", 5); break;
            case OpKind::Stat: op.a = rng_.chance(5) ? "" : any(); break;
            case OpKind::Readlink: op.a = existing("l", 10); break;
            case OpKind::HoldOpen: {
                op.flags = rng_.between(0, kSlots - 1);
                std::vector<int64_t> fl = {O_RDWR, O_RDWR, O_WRONLY | O_APPEND, O_RDWR | O_CREAT, O_WRONLY | O_TRUNC};
                if (o_.ro_fds_across_copy_up) fl.push_back(O_RDONLY);
                op.x = rng_.pick(fl);
                op.a = (op.x & O_CREAT) ? file_or_new(50) : existing("f", 5);
                op.mode = 0644;
                break;
            }
            case OpKind::FdWrite:
                op.flags = rng_.between(0, kSlots - 1);
                op.x = rng_.chance(40) ? -1 : rng_.between(0, 6000);
                break;
            case OpKind::FdTruncate:
                op.flags = rng_.between(0, kSlots - 1);
                op.x = rng_.between(0, 6000);
                break;
            default: op.flags = rng_.between(0, kSlots - 1); break;
        }
        return op;
    }
};

// ---------------------------------------------------------------------------------------------
// The child: runs the sequence inside chroot(T)

struct ChildSetup {
    std::string temp;               // T
    int64_t recent_after;
    DiffOptions options;
    const std::optional<std::vector<Op>>* replay;
};

WalkOptions merged_walk_options(int64_t recent_after) {
    WalkOptions w;
    w.recent_after = recent_after;
    w.dir_mtime = !tolerate("dir-mtime");
    w.ino_classes = !tolerate("ino");
    w.nlink = !tolerate("nlink");
    w.xattrs = !tolerate("xattr");
    return w;
}

[[noreturn]] void child_main(const ChildSetup& s) {
    if (::chroot(s.temp.c_str()) != 0 || ::chdir("/") != 0) {
        std::fprintf(stderr, "chroot %s: %s\n", s.temp.c_str(), std::strerror(errno));
        ::_exit(3);
    }
    ::umask(s.options.umask);
    FILE* log = std::fopen("/ops.log", "w");
    Side k, f;
    k.root = "/k/mnt";
    f.root = "/f/mnt";
    k.recent_after = f.recent_after = s.recent_after;
    Generator gen(s.options.seed, s.options);
    std::ostringstream report;
    std::string signature;
    int first_bad = -1;
    int n = s.replay->has_value() ? static_cast<int>((*s.replay)->size()) : s.options.ops;
    std::vector<std::string> recent;  // the last operations, for the report
    int mismatches = 0;
    int succeeded = 0;
    // An exception must not leave this process: it would unwind into the test runner's copy
    // of the parent's state (and unmount the parent's views); the parent reports it.
    int i = 0;
    try {
        for (; i < n; ++i) {
            Op op = s.replay->has_value() ? (**s.replay)[static_cast<size_t>(i)] : gen.next(k.root);
            std::fprintf(log, "%s\n", serialize(op).c_str());
            std::fflush(log);
            std::string rk = execute(k, op);
            std::string rf = execute(f, op);
            std::string line = "#" + std::to_string(i) + " " + describe(op) + " -> " + rk;
            if (rk.rfind("0", 0) == 0) ++succeeded;
            if (rk != rf && !tolerated_result(rk, rf)) {
                if (first_bad < 0) {
                    first_bad = i;
                    signature = "op:" + op_name(op.kind) + ":kernel=" + rk.substr(0, 16) + ":ovf=" + rf.substr(0, 16);
                    report << "first divergence at op #" << i << ": " << describe(op) << "\n"
                           << "    kernel overlay: " << rk << "\n    overlayfuse:    " << rf << "\n";
                    report << "  the operations before it:\n";
                    for (const auto& r : recent) report << "    " << r << "\n";
                } else if (mismatches < 8) {
                    report << "also at op #" << i << ": " << describe(op) << "\n    kernel overlay: " << rk
                           << "\n    overlayfuse:    " << rf << "\n";
                }
                ++mismatches;
            }
            recent.push_back(line);
            if (recent.size() > 12) recent.erase(recent.begin());
            bool batch_end = (i + 1) % std::max(1, s.options.batch) == 0 || i + 1 == n;
            if (batch_end) {
                auto wk = walk_tree(k.root, merged_walk_options(s.recent_after));
                auto wf = walk_tree(f.root, merged_walk_options(s.recent_after));
                std::string d = diff_walks("kernel", wk, "overlayfuse", wf);
                if (!d.empty()) {
                    if (first_bad < 0) {
                        first_bad = i;
                        signature = "tree";
                        report << "merged trees differ after op #" << i << " (no call returned differently before):\n" << d;
                        report << "  the operations before it:\n";
                        for (const auto& r : recent) report << "    " << r << "\n";
                    } else {
                        report << "merged trees after op #" << i << ":\n" << d;
                    }
                }
                if (first_bad >= 0) {
                    std::fclose(log);
                    write_file("/report.txt", report.str());
                    write_file("/signature.txt", signature + "\n" + std::to_string(first_bad) + "\n" + std::to_string(i + 1));
                    ::_exit(1);
                }
            }
        }
    } catch (const std::exception& e) {
        write_file("/report.txt", "the test itself failed at op #" + std::to_string(i) + ": " + e.what() + "\n");
        ::_exit(4);
    }
    std::fclose(log);
    write_file("/signature.txt", "\n-1\n" + std::to_string(n) + "\n" + std::to_string(succeeded));
    ::_exit(0);
}

std::vector<Op> read_ops_log(const std::string& path) {
    std::vector<Op> ops;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (auto op = parse_op(line)) ops.push_back(*op);
    }
    return ops;
}

// Every path below ROOT (not following symlinks) with its st_ino.
std::map<std::string, ino_t> inode_numbers(const std::string& root) {
    std::map<std::string, ino_t> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        struct stat st;
        if (::lstat(it->path().c_str(), &st) == 0) out[it->path().string().substr(root.size())] = st.st_ino;
    }
    return out;
}

// The paths whose number differs between BEFORE and AFTER, one per line.
std::string renumbered(const std::map<std::string, ino_t>& before, const std::map<std::string, ino_t>& after) {
    std::string out;
    for (const auto& [path, ino] : after) {
        auto it = before.find(path);
        if (it != before.end() && it->second != ino) out += "  " + path + "\n";
    }
    return out;
}

}  // namespace

std::string replay_settings(const DiffOptions& o) {
    char umask_text[24] = "";
    if (o.umask != 022) std::snprintf(umask_text, sizeof umask_text, " OVF_UMASK=%03o", static_cast<unsigned>(o.umask));
    bool redirect = o.kernel_options.find("redirect_dir=on") != std::string::npos;
    return std::string(umask_text) + (redirect ? " OVF_REDIRECT_DIR=1" : "") + (o.held_fds ? "" : " OVF_HELD_FDS=0");
}

DiffOutcome run_differential(const DiffOptions& o, const std::optional<std::vector<Op>>& replay) {
    DiffOutcome out;
    std::string ctx = "seed " + std::to_string(o.seed);
    TempDir t;
    std::vector<std::string> lowers_src, kl, fl;
    std::unique_ptr<KernelRW> km;
    std::unique_ptr<OvfRW> fm;
    int64_t recent_after = 0;
    try {
        lowers_src = write_lowers(differential_stack(o.seed), t.sub("src"));
        kl = copy_lowers(lowers_src, t.sub("k/lowers"));
        fl = copy_lowers(lowers_src, t.sub("f/lowers"));
        for (const char* side : {"k", "f"}) {
            t.sub(std::string(side) + "/upper");
            t.sub(std::string(side) + "/work");
            t.sub(std::string(side) + "/mnt");
        }
        recent_after = now_seconds() - 1;
        km = std::make_unique<KernelRW>(kl, t.path() + "/k/upper", t.path() + "/k/work", t.path() + "/k/mnt",
                                        o.kernel_options);
        fm = std::make_unique<OvfRW>(fl, t.path() + "/f/upper", t.path() + "/f/work", t.path() + "/f/mnt",
                                     o.overlayfuse_args);
    } catch (const std::exception& e) {
        out.setup_failed = out.diverged = true;
        out.signature = "setup";
        out.report = ctx + ": setup failed: " + e.what();
        return out;
    }

    // Before anything: both views of the untouched lowers must already agree.
    {
        auto wk = walk_tree(km->path(), merged_walk_options(recent_after));
        auto wf = walk_tree(fm->path(), merged_walk_options(recent_after));
        std::string d = diff_walks("kernel", wk, "overlayfuse", wf);
        if (!d.empty()) {
            out.diverged = true;
            out.signature = "initial-tree";
            out.report = ctx + ": merged trees differ before any operation:\n" + d;
            return out;
        }
    }

    ChildSetup cs{t.path(), recent_after, o, &replay};
    pid_t child = ::fork();
    if (child == 0) child_main(cs);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_seconds);
    bool hung = false;
    for (;;) {
        pid_t r = ::waitpid(child, &status, WNOHANG);
        if (r == child) break;
        if (std::chrono::steady_clock::now() > deadline) {
            hung = true;
            ::kill(child, SIGKILL);
            // The daemon is stuck (or looping): it would never exit after the unmount.
            if (fm->daemon_pid() > 0) ::kill(fm->daemon_pid(), SIGKILL);
            ::waitpid(child, &status, 0);
            break;
        }
        ::usleep(20000);
    }
    out.ops = read_ops_log(t.path() + "/ops.log");
    out.ops_done = static_cast<int>(out.ops.size());
    std::string sig = read_file(t.path() + "/signature.txt").value_or("");
    std::istringstream sigs(sig);
    std::string sig_line, bad_line;
    std::getline(sigs, sig_line);
    std::getline(sigs, bad_line);
    std::string ignored, ok_line;
    std::getline(sigs, ignored);
    std::getline(sigs, ok_line);
    out.succeeded = ok_line.empty() ? 0 : std::stoi(ok_line);
    std::string replay_hint = "replay: OVF_SEED=" + std::to_string(o.seed) + " OVF_OPS=" + std::to_string(out.ops_done) +
                              replay_settings(o) + " ovf_writable_tests --gtest_filter='WritableDifferential.Replay'";
    if (hung) {
        out.diverged = true;
        out.signature = "hang";
        out.first_bad_op = out.ops_done - 1;
        out.report = ctx + ": the operations did not finish within " + std::to_string(o.timeout_seconds) +
                     " s; last operation started: #" + std::to_string(out.ops_done - 1) + " " +
                     (out.ops.empty() ? "" : describe(out.ops.back())) + "\n" + replay_hint + "\n";
        return out;
    }
    if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 1)) {
        out.diverged = true;
        out.signature = "child-crash";
        out.report = ctx + ": the operations process died (status " + std::to_string(status) + ") after op #" +
                     std::to_string(out.ops_done - 1) + "\n" + read_file(t.path() + "/report.txt").value_or("");
        return out;
    }
    if (WEXITSTATUS(status) == 1) {
        out.diverged = true;
        out.signature = sig_line;
        out.first_bad_op = bad_line.empty() ? -1 : std::stoi(bad_line);
        out.report = ctx + " (" + std::to_string(out.ops_done) + " ops run): " +
                     read_file(t.path() + "/report.txt").value_or("(no report)") + replay_hint + "\n";
        return out;
    }

    // All calls and merged trees agreed. Now the uppers themselves: same entries, same
    // whiteouts and opaque markers (the kernel's own bookkeeping xattrs aside).
    WalkOptions raw = merged_walk_options(recent_after);
    raw.skip_xattr_prefixes = {"trusted.overlay.origin", "trusted.overlay.impure", "trusted.overlay.uuid"};
    raw.whiteout_identity = false;
    auto final_kernel = walk_tree(km->path(), merged_walk_options(recent_after));
    auto final_ovf = walk_tree(fm->path(), merged_walk_options(recent_after));
    auto numbers_k = inode_numbers(km->path()), numbers_f = inode_numbers(fm->path());
    km->unmount();
    fm->unmount();
    auto uk = walk_tree(t.path() + "/k/upper", raw);
    auto uf = walk_tree(t.path() + "/f/upper", raw);
    // An opaque marker matters only where the lowers have a directory of that name; the kernel
    // leaves one on a new directory even when the rename that wanted it fails.
    for (auto* w : {&uk, &uf}) {
        for (auto& [path, line] : *w) {
            // Whiteouts: the kernel makes them with the mounter's credentials; their owner
            // means nothing.
            if (line.find("type=chr") != std::string::npos && line.find("rdev=0:0") != std::string::npos) {
                auto u = line.find(" uid=");
                auto m = line.find(" rdev=");
                if (u != std::string::npos && m != std::string::npos && u < m) line.erase(u, m - u);
            }
            // A redirect to the directory's own place (its absolute path, or its own name)
            // changes nothing; the kernel leaves one behind when a directory moves back.
            auto slash = path.rfind('/');
            std::string own_name = path.substr(slash + 1);
            for (const std::string& target : {path, own_name}) {
                std::string marker = "trusted.overlay.redirect:" + [&] {
                    static const char* d = "0123456789abcdef";
                    std::string h;
                    for (unsigned char c : target) h += d[c >> 4], h += d[c & 15];
                    return h;
                }();
                auto at = line.find(marker);
                if (at == std::string::npos) continue;
                size_t end = at + marker.size();
                if (end < line.size() && line[end] != ',' && line[end] != ' ') continue;
                size_t from = at, to = end;
                if (to < line.size() && line[to] == ',') ++to;
                else if (from > 0 && line[from - 1] == ',') --from;
                line.erase(from, to - from);
                if (line.size() >= 8 && line.compare(line.size() - 8, 8, " xattrs=") == 0) line.resize(line.size() - 8);
            }
            const std::string marker = "trusted.overlay.opaque:79";
            auto at = line.find(marker);
            if (at == std::string::npos) continue;
            // The topmost lower entry decides: a directory merges below (opaque matters), a
            // whiteout or a non-directory stops the merge anyway (the kernel also marks new
            // directories opaque there, as a lookup optimisation).
            bool lower_dir = false;
            for (const auto& l : lowers_src) {
                struct stat st;
                if (::lstat((l + path).c_str(), &st) != 0) continue;
                lower_dir = S_ISDIR(st.st_mode);
                break;
            }
            if (lower_dir && !o.upper_ignore_opaque) continue;
            size_t from = at, to = at + marker.size();
            if (to < line.size() && line[to] == ',') ++to;
            else if (from > 0 && line[from - 1] == ',') --from;
            line.erase(from, to - from);
            if (line.size() >= 8 && line.compare(line.size() - 8, 8, " xattrs=") == 0) line.resize(line.size() - 8);
        }
    }
    std::string d = diff_walks("kernel's upper", uk, "overlayfuse's upper", uf);
    if (!d.empty() && !tolerate("upper")) {
        out.diverged = true;
        out.signature = "upper";
        out.report += ctx + ": all " + std::to_string(out.ops_done) + " calls agreed, but the upper directories differ:\n" + d +
                      replay_hint + "\n";
    }
    // Both mounted again over their uppers: the same trees as before the unmount, and the
    // same objects renumbered on both sides (the kernel keeps copied-up objects' numbers
    // through overlay.origin; so must we).
    try {
        KernelRW k2(kl, t.path() + "/k/upper", t.path() + "/k/work", t.path() + "/k/mnt", o.kernel_options);
        OvfRW f2(fl, t.path() + "/f/upper", t.path() + "/f/work", t.path() + "/f/mnt", o.overlayfuse_args);
        std::string dk = diff_walks("kernel overlay before", final_kernel, "after a remount",
                                    walk_tree(k2.path(), merged_walk_options(recent_after)));
        std::string df = diff_walks("overlayfuse before", final_ovf, "after a remount",
                                    walk_tree(f2.path(), merged_walk_options(recent_after)));
        std::string rk = renumbered(numbers_k, inode_numbers(k2.path()));
        std::string rf = renumbered(numbers_f, inode_numbers(f2.path()));
        std::string what;
        if (dk.empty() && !df.empty()) what += "overlayfuse's tree changed across a remount (the kernel's did not):\n" + df;
        if (rk != rf)
            what += "objects renumbered by a remount differ:\n kernel overlay:\n" + rk + " overlayfuse:\n" + rf;
        if (!what.empty() && !tolerate("remount")) {
            out.diverged = true;
            if (out.signature.empty()) out.signature = "remount";
            out.report += ctx + ": " + what + replay_hint + "\n";
        }
        k2.unmount();
        f2.unmount();
    } catch (const std::exception& e) {
        out.diverged = true;
        if (out.signature.empty()) out.signature = "remount";
        out.report += ctx + ": mounting the uppers again failed: " + e.what() + "\n";
    }
    int left = count_entries(t.path() + "/f/work/work");
    if (left > 0) {
        out.diverged = true;
        if (out.signature.empty()) out.signature = "work-not-empty";
        out.report += ctx + ": overlayfuse left " + std::to_string(left) + " entries in WORK/work after unmount\n";
    }

    // The kernel overlay over overlayfuse's upper and the lowers overlayfuse had (the
    // upper's overlay.origin handles name their objects), with a fresh work dir.
    try {
        t.sub("v/work");
        t.sub("v/mnt");
        KernelRW v(fl, t.path() + "/f/upper", t.path() + "/v/work", t.path() + "/v/mnt", o.kernel_options);
        auto wv = walk_tree(v.path(), merged_walk_options(recent_after));
        std::string dv = diff_walks("kernel overlay (its own upper)", final_kernel, "kernel overlay over overlayfuse's upper", wv);
        if (!dv.empty()) {
            out.diverged = true;
            if (out.signature.empty()) out.signature = "kernel-over-upper";
            out.report += ctx + ": the kernel overlay reads overlayfuse's upper differently:\n" + dv + replay_hint + "\n";
        }
    } catch (const std::exception& e) {
        out.diverged = true;
        if (out.signature.empty()) out.signature = "kernel-over-upper";
        out.report += ctx + ": the kernel overlay cannot mount overlayfuse's upper: " + e.what() + "\n";
    }
    return out;
}

std::vector<Op> minimize(const DiffOptions& o, const std::vector<Op>& ops, const std::string& signature, int budget) {
    auto start = std::chrono::steady_clock::now();
    auto out_of_time = [&] {
        return std::chrono::steady_clock::now() - start > std::chrono::seconds(budget);
    };
    auto kind_of = [](const std::string& sig) {
        // "op:rename:kernel=...": the same operation kind failing counts as the same problem.
        if (sig.rfind("op:", 0) != 0) return sig;
        return sig.substr(0, sig.find(':', 3));
    };
    std::string want = kind_of(signature);
    auto fails = [&](const std::vector<Op>& candidate) {
        DiffOutcome r = run_differential(o, candidate);
        return r.diverged && !r.setup_failed && kind_of(r.signature) == want;
    };
    std::vector<Op> cur = ops;
    size_t chunk = cur.size() / 2;
    while (chunk >= 1 && !out_of_time()) {
        bool removed = false;
        for (size_t start_i = 0; start_i < cur.size() && !out_of_time();) {
            std::vector<Op> cand;
            for (size_t i = 0; i < cur.size(); ++i) {
                if (i < start_i || i >= start_i + chunk) cand.push_back(cur[i]);
            }
            if (!cand.empty() && fails(cand)) {
                cur = cand;
                removed = true;
            } else {
                start_i += chunk;
            }
        }
        if (!removed) chunk /= 2;
    }
    return cur;
}

std::string reproduction(const DiffOptions& o, const std::vector<Op>& ops) {
    std::ostringstream s;
    s << "lowers (seed " << o.seed << ", bottom layer = the fixed base layer):\n" << describe(differential_stack(o.seed));
    s << "operations (relative to the mount root):\n";
    for (size_t i = 0; i < ops.size(); ++i) s << "  " << i << ": " << describe(ops[i]) << "\n";
    s << "as an OVF_OPS_FILE:\n";
    for (const auto& op : ops) s << serialize(op) << "\n";
    return s.str();
}

std::string read_fd_all(int fd, bool from_zero) {
    std::string out;
    char buf[65536];
    off_t off = 0;
    while (out.size() < kReadAllCap) {
        size_t want = std::min(sizeof buf, kReadAllCap - out.size());
        ssize_t n = from_zero ? ::pread(fd, buf, want, off) : ::read(fd, buf, want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return "read " + err(errno);
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        off += n;
    }
    std::string r = "0 len=" + std::to_string(out.size()) + " hash=" + hash_of(out);
    return out.size() < kReadAllCap ? r : r + " (stopped there)";
}

}  // namespace ovft::wr
