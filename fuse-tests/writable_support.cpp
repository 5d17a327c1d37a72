#include "writable_support.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace ovft::wr {

std::string errno_name(int err) {
    static const std::map<int, const char*> names = {
        {EPERM, "EPERM"},     {ENOENT, "ENOENT"},       {EIO, "EIO"},         {EBADF, "EBADF"},
        {EAGAIN, "EAGAIN"},   {EACCES, "EACCES"},       {EBUSY, "EBUSY"},     {EEXIST, "EEXIST"},
        {EXDEV, "EXDEV"},     {ENODEV, "ENODEV"},       {ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"},
        {EINVAL, "EINVAL"},   {EFBIG, "EFBIG"},         {ENOSPC, "ENOSPC"},   {ESPIPE, "ESPIPE"},
        {EROFS, "EROFS"},     {EMLINK, "EMLINK"},       {ERANGE, "ERANGE"},   {ENAMETOOLONG, "ENAMETOOLONG"},
        {ENOSYS, "ENOSYS"},   {ENOTEMPTY, "ENOTEMPTY"}, {ELOOP, "ELOOP"},     {ENODATA, "ENODATA"},
        {ENOTSUP, "EOPNOTSUPP"}, {ENXIO, "ENXIO"},      {ETXTBSY, "ETXTBSY"}, {ESTALE, "ESTALE"},
        {ENOTCONN, "ENOTCONN"}, {E2BIG, "E2BIG"},       {EOVERFLOW, "EOVERFLOW"}, {EDQUOT, "EDQUOT"},
    };
    auto it = names.find(err);
    return it != names.end() ? it->second : "E" + std::to_string(err);
}

// ---------------------------------------------------------------------------------------------
// Mounts

namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
    return s;
}

}  // namespace

KernelRW::KernelRW(const std::vector<std::string>& lowers, const std::string& upper, const std::string& work,
                   const std::string& mnt, const std::string& extra) {
    std::string flags = kOracleFlags;
    // "off" means "follow" on kernels built with redirect_always_follow, which the kernel
    // refuses together with userxattr: there it must be "nofollow".
    if (extra.find("userxattr") != std::string::npos)
        flags.replace(flags.find("redirect_dir=off"), 16, "redirect_dir=nofollow");
    std::string opts = "lowerdir=" + join(lowers, ":") + ",upperdir=" + upper + ",workdir=" + work + "," + flags;
    if (!extra.empty()) opts += "," + extra;
    if (::mount("overlay", mnt.c_str(), "overlay", 0, opts.c_str()) != 0) {
        throw std::runtime_error("kernel overlay: mount -t overlay -o " + opts + " " + mnt + ": " +
                                 std::strerror(errno));
    }
    path_ = mnt;
    mounted_ = true;
}

void KernelRW::unmount() {
    if (!mounted_) return;
    mounted_ = false;
    if (::umount2(path_.c_str(), 0) != 0) ::umount2(path_.c_str(), MNT_DETACH);
}

KernelRW::~KernelRW() { unmount(); }

pid_t find_daemon_pid(const std::string& mnt) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        std::string name = e.path().filename();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        pid_t pid = static_cast<pid_t>(std::stol(name));
        std::string cmd = proc_cmdline(name);
        std::vector<std::string> argv;
        for (size_t start = 0; start < cmd.size();) {
            size_t end = cmd.find('\0', start);
            if (end == std::string::npos) end = cmd.size();
            argv.push_back(cmd.substr(start, end - start));
            start = end + 1;
        }
        if (argv.size() < 3 || argv[0].find("overlayfuse") == std::string::npos) continue;
        if (std::find(argv.begin(), argv.end(), "mount") == argv.end()) continue;
        if (argv.back() != mnt) continue;
        // A zombie (the mount command itself, before it is reaped) has an empty cmdline.
        return pid;
    }
    return -1;
}

bool wait_for_exit(pid_t pid, int timeout_ms) {
    if (pid <= 0) return true;
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) return errno == ESRCH;
    struct pollfd p = {pidfd, POLLIN, 0};
    int ready;
    do {
        ready = ::poll(&p, 1, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    ::close(pidfd);
    return ready > 0;
}

OvfRW::OvfRW(const std::vector<std::string>& lowers, const std::string& upper, const std::string& work,
             const std::string& mnt, const std::vector<std::string>& extra_args, std::optional<TestUser> as_user) {
    std::vector<std::string> argv = {overlayfuse_bin(), "mount"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    argv.insert(argv.end(), {"--lower", join(lowers, ":"), "--upper", upper, "--work", work, mnt});
    path_ = mnt;
    start(argv, std::move(as_user));
}

OvfRW::OvfRW(const std::vector<std::string>& argv, const std::string& mnt, std::optional<TestUser> as_user) {
    path_ = mnt;
    start(argv, std::move(as_user));
}

void OvfRW::start(const std::vector<std::string>& argv, std::optional<TestUser> as_user) {
    RunOptions ro;
    ro.as_user = std::move(as_user);
    ro.timeout_seconds = 60;
    RunResult r = run(argv, ro);
    pid_ = find_daemon_pid(path_);
    if (r.exit_code != 0) {
        if (pid_ > 0) ::kill(pid_, SIGKILL);
        throw std::runtime_error("overlayfuse did not mount: " + r.describe());
    }
    if (!is_mount_point(path_)) {
        if (pid_ > 0) ::kill(pid_, SIGKILL);
        throw std::runtime_error("overlayfuse exited 0 but " + path_ + " is not a mount point: " + r.describe());
    }
    mounted_ = true;
}

void OvfRW::unmount() {
    if (mounted_) {
        mounted_ = false;
        if (::umount2(path_.c_str(), 0) != 0) ::umount2(path_.c_str(), MNT_DETACH);
    }
    if (pid_ > 0) {
        if (!wait_for_exit(pid_, 20000)) {
            std::fprintf(stderr, "overlayfuse daemon %d did not exit after unmount; killing it\n", pid_);
            ::kill(pid_, SIGKILL);
            wait_for_exit(pid_, 5000);
        }
        pid_ = -1;
    }
}

OvfRW::~OvfRW() { unmount(); }

void copy_tree(const std::string& src, const std::string& dst) {
    RunResult r = run({"cp", "-a", "--", src, dst});
    if (r.exit_code != 0) throw std::runtime_error("copy failed: " + r.describe());
}

std::vector<std::string> write_lowers(const LayerStack& stack, const std::string& dir) {
    fs::create_directories(dir);
    return write_stack(stack, kernel_encoding(), dir);
}

std::vector<std::string> copy_lowers(const std::vector<std::string>& lowers, const std::string& dst_parent) {
    fs::create_directories(dst_parent);
    std::vector<std::string> out;
    for (const auto& l : lowers) {
        std::string dst = dst_parent + "/" + fs::path(l).filename().string();
        copy_tree(l, dst);
        out.push_back(dst);
    }
    return out;
}

MountPair::MountPair(const LayerStack& stack, const std::vector<std::string>& overlayfuse_args,
                     const std::string& kernel_options)
    : overlayfuse_args_(overlayfuse_args), kernel_options_(kernel_options) {
    src_ = write_lowers(stack, t_.sub("src"));
    kernel_lowers_ = copy_lowers(src_, t_.sub("k/lowers"));
    ovf_lowers_ = copy_lowers(src_, t_.sub("f/lowers"));
    for (const char* side : {"k", "f"}) {
        t_.sub(std::string(side) + "/upper");
        t_.sub(std::string(side) + "/work");
        t_.sub(std::string(side) + "/mnt");
    }
    remount();
}

void MountPair::unmount() {
    if (kernel_) kernel_->unmount();
    if (ovf_) ovf_->unmount();
}

void MountPair::remount() {
    unmount();
    kernel_.reset();
    ovf_.reset();
    kernel_ = std::make_unique<KernelRW>(kernel_lowers_, kernel_upper(), t_.path() + "/k/work",
                                         t_.path() + "/k/mnt", kernel_options_);
    ovf_ = std::make_unique<OvfRW>(ovf_lowers_, ovf_upper(), ovf_work(), t_.path() + "/f/mnt", overlayfuse_args_);
}

std::string MountPair::mount_kernel_over_ovf_upper() {
    // The lowers overlayfuse had: the upper's overlay.origin handles name their objects.
    check_ = std::make_unique<KernelRW>(ovf_lowers_, ovf_upper(), t_.sub("v/work"), t_.sub("v/mnt"), kernel_options_);
    return check_->path();
}

std::string hex(const std::string& s) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += d[c >> 4];
        out += d[c & 15];
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Walk

namespace {

std::string escape_name(const std::string& s) {
    std::string out;
    char buf[8];
    for (unsigned char c : s) {
        if (c <= ' ' || c >= 0x7f || c == '\\' || c == '=' || c == ',' || c == ':') {
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string content_hash(const std::string& path, std::string* error) {
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *error = errno_name(errno);
        return "";
    }
    uint64_t h = 1469598103934665603ULL;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            *error = errno_name(errno);
            break;
        }
        if (n == 0) break;
        for (ssize_t i = 0; i < n; ++i) {
            h ^= static_cast<unsigned char>(buf[i]);
            h *= 1099511628211ULL;
        }
    }
    ::close(fd);
    char out[20];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return out;
}

std::string xattr_field(const std::string& path, const WalkOptions& o) {
    std::vector<char> names(65536);
    ssize_t n = ::llistxattr(path.c_str(), names.data(), names.size());
    if (n < 0) return errno == ENOTSUP ? "" : "xattrs=!" + errno_name(errno);
    std::vector<std::string> list;
    for (ssize_t i = 0; i < n;) {
        std::string name(names.data() + i);
        i += static_cast<ssize_t>(name.size()) + 1;
        bool skip = false;
        for (const auto& p : o.skip_xattr_prefixes) skip |= name.rfind(p, 0) == 0;
        if (!skip) list.push_back(name);
    }
    std::sort(list.begin(), list.end());
    std::string out;
    for (const auto& name : list) {
        std::vector<char> value(65536);
        ssize_t v = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
        out += (out.empty() ? "" : ",") + escape_name(name) + ":" +
               (v < 0 ? "!" + errno_name(errno) : hex(std::string(value.data(), static_cast<size_t>(v))));
    }
    return out.empty() ? "" : " xattrs=" + out;
}

struct Walker {
    const WalkOptions& o;
    std::map<std::string, std::string>& out;
    std::map<std::pair<dev_t, ino_t>, std::string> first_seen;

    bool excluded(const std::string& rel) const {
        for (const auto& e : o.exclude) {
            if (rel == "/" + e || rel.rfind("/" + e + "/", 0) == 0) return true;
        }
        return false;
    }

    void entry(const std::string& full, const std::string& rel) {
        struct stat st;
        if (::lstat(full.c_str(), &st) != 0) {
            if (errno == ENOENT && rel != "/") return;  // a whiteout name listed by readdir
            out[rel] = "! lstat " + errno_name(errno);
            return;
        }
        std::ostringstream line;
        const char* type = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "symlink"
                           : S_ISFIFO(st.st_mode) ? "fifo" : S_ISCHR(st.st_mode) ? "chr" : S_ISBLK(st.st_mode) ? "blk"
                                                                                                               : "sock";
        char mode[16];
        std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
        line << "type=" << type << " mode=" << mode << " uid=" << st.st_uid << " gid=" << st.st_gid;
        if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) line << " size=" << st.st_size;
        if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) line << " rdev=" << major(st.st_rdev) << ":" << minor(st.st_rdev);
        if (S_ISREG(st.st_mode)) {
            std::string err;
            std::string h = content_hash(full, &err);
            line << " hash=" << (err.empty() ? h : "!" + err);
        }
        if (S_ISLNK(st.st_mode)) {
            std::vector<char> buf(8192);
            ssize_t n = ::readlink(full.c_str(), buf.data(), buf.size());
            line << " target=" << (n < 0 ? "!" + errno_name(errno) : escape_name(std::string(buf.data(), n)));
        }
        bool dir = S_ISDIR(st.st_mode);
        bool whiteout = S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
        bool identity = !whiteout || o.whiteout_identity;
        if (o.nlink && (!dir || o.dir_nlink) && identity) line << " nlink=" << st.st_nlink;
        if (o.ino_classes && !dir && identity) {
            auto key = std::make_pair(st.st_dev, st.st_ino);
            auto it = first_seen.find(key);
            if (it == first_seen.end()) {
                first_seen[key] = rel;
                line << " ino=self";
            } else {
                line << " ino=" << escape_name(it->second);
            }
        }
        if (o.mtime && (!dir || o.dir_mtime)) {
            if (st.st_mtim.tv_sec >= o.recent_after && o.recent_after > 0) {
                line << " mtime=now";
            } else {
                line << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
            }
        }
        if (o.xattrs) line << xattr_field(full, o);
        out[rel] = line.str();
        if (!dir) return;
        auto names = sorted_names(full);
        if (!names) {
            out[rel] += " !opendir=" + errno_name(errno);
            return;
        }
        for (const auto& n : *names) {
            std::string child_rel = (rel == "/" ? "" : rel) + "/" + escape_name(n);
            if (excluded(child_rel)) continue;
            entry(full + "/" + n, child_rel);
        }
    }
};

}  // namespace

std::map<std::string, std::string> walk_tree(const std::string& root, const WalkOptions& options) {
    std::map<std::string, std::string> out;
    Walker w{options, out, {}};
    w.entry(root, "/");
    return out;
}

std::string walk_text(const std::map<std::string, std::string>& walk) {
    std::string s;
    for (const auto& [p, l] : walk) s += p + " " + l + "\n";
    return s;
}

std::string diff_walks(const std::string& la, const std::map<std::string, std::string>& a, const std::string& lb,
                       const std::map<std::string, std::string>& b, size_t max_shown) {
    std::set<std::string> keys;
    for (auto& [k, v] : a) keys.insert(k);
    for (auto& [k, v] : b) keys.insert(k);
    std::ostringstream out;
    size_t shown = 0, total = 0;
    for (const auto& k : keys) {
        auto ia = a.find(k);
        auto ib = b.find(k);
        std::string line;
        if (ia == a.end()) line = k + ": only in " + lb + ": " + ib->second;
        else if (ib == b.end()) line = k + ": only in " + la + ": " + ia->second;
        else if (ia->second != ib->second) line = k + ":\n      " + la + ": " + ia->second + "\n      " + lb + ": " + ib->second;
        else continue;
        ++total;
        if (shown++ < max_shown) out << "    " << line << "\n";
    }
    if (total > max_shown) out << "    ... and " << total - max_shown << " more path(s)\n";
    return out.str();
}

int64_t now_seconds() {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::optional<std::vector<std::string>> sorted_names(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return std::nullopt;
    std::vector<std::string> names;
    while (struct dirent* de = ::readdir(d)) {
        std::string n = de->d_name;
        if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

int count_entries(const std::string& dir) {
    auto names = sorted_names(dir);
    return names ? static_cast<int>(names->size()) : -1;
}

int count_work_leftovers(const std::string& work_work) {
    struct stat st;
    bool shared = ::lstat((work_work + "/whiteout").c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0;
    int n = count_entries(work_work);
    return n < 0 ? n : n - (shared ? 1 : 0);
}

}  // namespace ovft::wr
