#include "support/mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ovft {

namespace {

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
    std::string s;
    for (size_t i = 0; i < parts.size(); ++i) s += (i ? sep : "") + parts[i];
    return s;
}

// Everything the kernel logged into a filesystem context (fsopen fd), e.g.
// "e overlayfs: at least 2 lowerdir are needed while upperdir nonexistent".
std::string fs_context_log(int fsfd) {
    std::string log;
    char buf[1024];
    for (;;) {
        ssize_t n = ::read(fsfd, buf, sizeof buf);
        if (n <= 0) break;
        if (!log.empty()) log += "; ";
        log.append(buf, static_cast<size_t>(n));
    }
    return log;
}

// Returns 0, or an errno with MESSAGE set. ENOSYS/EINVAL on the first lowerdir+ means "this
// kernel has no new-API overlay", and the caller falls back to mount(2).
int mount_with_fsconfig(const std::vector<std::string>& layers, const std::string& mnt,
                        const std::vector<std::string>& flags, std::string& message,
                        bool& unsupported) {
    unsupported = false;
    int fsfd = ::fsopen("overlay", FSOPEN_CLOEXEC);
    if (fsfd < 0) {
        unsupported = errno == ENOSYS;
        message = std::string("fsopen(overlay): ") + std::strerror(errno);
        return errno;
    }
    auto fail = [&](const std::string& step) {
        int err = errno;
        message = step + ": " + std::strerror(err);
        std::string log = fs_context_log(fsfd);
        if (!log.empty()) message += " (kernel: " + log + ")";
        ::close(fsfd);
        return err;
    };
    if (::fsconfig(fsfd, FSCONFIG_SET_FLAG, "ro", nullptr, 0) != 0) return fail("fsconfig ro");
    for (const auto& f : flags) {
        if (::fsconfig(fsfd, FSCONFIG_SET_FLAG, f.c_str(), nullptr, 0) != 0) return fail("fsconfig " + f);
    }
    for (size_t i = 0; i < layers.size(); ++i) {
        if (::fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", layers[i].c_str(), 0) != 0) {
            unsupported = i == 0 && errno == EINVAL;
            return fail("fsconfig lowerdir+=" + layers[i]);
        }
    }
    if (::fsconfig(fsfd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return fail("fsconfig create");
    int mfd = ::fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
    if (mfd < 0) return fail("fsmount");
    ::close(fsfd);
    if (::move_mount(mfd, "", AT_FDCWD, mnt.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
        int err = errno;
        message = "move_mount to " + mnt + ": " + std::strerror(err);
        ::close(mfd);
        return err;
    }
    ::close(mfd);
    return 0;
}

std::string parent_of(const std::string& p) { return p.substr(0, p.rfind('/')); }

// mount(2) with one option string, limited to a page: with many layers, chdir to their common
// parent and name them relative to it (the kernel resolves lowerdir paths against the cwd).
int mount_with_option_string(const std::vector<std::string>& layers, const std::string& mnt,
                             const std::vector<std::string>& flags, std::string& message) {
    std::string opts = "ro,lowerdir=" + join(layers, ":");
    for (const auto& f : flags) opts += "," + f;
    std::string cwd_to_restore;
    if (opts.size() > 3800) {
        std::string parent = parent_of(layers.front());
        std::vector<std::string> rel;
        for (const auto& l : layers) {
            if (parent_of(l) != parent) {
                message = "too many layers for mount(2) and no common parent directory";
                return E2BIG;
            }
            rel.push_back(l.substr(parent.size() + 1));
        }
        opts = "ro,lowerdir=" + join(rel, ":");
        for (const auto& f : flags) opts += "," + f;
        char* cwd = ::getcwd(nullptr, 0);
        cwd_to_restore = cwd ? cwd : "/";
        std::free(cwd);
        if (::chdir(parent.c_str()) != 0) {
            message = "chdir " + parent + ": " + std::strerror(errno);
            return errno;
        }
    }
    int rc = ::mount("overlay", mnt.c_str(), "overlay", MS_RDONLY, opts.c_str());
    int err = errno;
    if (!cwd_to_restore.empty() && ::chdir(cwd_to_restore.c_str()) != 0) {
        // Nothing sensible to do; the tests use absolute paths.
    }
    if (rc != 0) {
        message = "mount -t overlay -o " + opts.substr(0, 300) + " " + mnt + ": " + std::strerror(err);
        return err;
    }
    return 0;
}

std::string unescape_mountinfo(const std::string& s) {
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Mount table

std::vector<std::string> mount_points() {
    std::vector<std::string> points;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string id, parent, devno, root, point;
        fields >> id >> parent >> devno >> root >> point;
        points.push_back(unescape_mountinfo(point));
    }
    return points;
}

bool is_mount_point(const std::string& path) {
    auto points = mount_points();
    return std::find(points.begin(), points.end(), path) != points.end();
}

void detach_mounts_under(const std::string& dir) {
    auto points = mount_points();
    std::vector<std::string> below;
    for (const auto& p : points) {
        if (p == dir || p.rfind(dir + "/", 0) == 0) below.push_back(p);
    }
    // Deepest (longest) first, so nested mounts come off before their parents.
    std::sort(below.begin(), below.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const auto& p : below) ::umount2(p.c_str(), MNT_DETACH);
}

// ---------------------------------------------------------------------------------------------
// Kernel overlay

KernelOverlay::KernelOverlay(const std::vector<std::string>& layers_top_first,
                             const std::string& mnt, const std::vector<std::string>& extra_flags) {
    if (layers_top_first.size() < 2) {
        // The kernel itself refuses: "at least 2 lowerdir are needed while upperdir nonexistent".
        throw std::invalid_argument("a read-only kernel overlay needs at least 2 layers");
    }
    std::string message;
    bool unsupported = false;
    int err = mount_with_fsconfig(layers_top_first, mnt, extra_flags, message, unsupported);
    if (err != 0 && unsupported) err = mount_with_option_string(layers_top_first, mnt, extra_flags, message);
    if (err != 0) throw std::runtime_error("kernel overlay: " + message);
    path_ = mnt;
}

KernelOverlay::~KernelOverlay() {
    if (::umount2(path_.c_str(), 0) != 0) ::umount2(path_.c_str(), MNT_DETACH);
}

// ---------------------------------------------------------------------------------------------
// FUSE views

FuseView::FuseView(const std::vector<std::string>& argv, const std::string& mnt, std::string what,
                   std::optional<TestUser> as_user)
    : what_(std::move(what)), as_user_(std::move(as_user)) {
    RunOptions ro;
    ro.as_user = as_user_;
    RunResult r = run(argv, ro);
    if (r.exit_code != 0) throw std::runtime_error(what_ + " did not mount: " + r.describe());
    // The contract is "returns once the mount answers": it must be in the table now.
    if (!is_mount_point(mnt)) {
        throw std::runtime_error(what_ + " exited 0 but " + mnt + " is not a mount point: " +
                                 r.describe());
    }
    path_ = mnt;
}

FuseView::~FuseView() {
    RunOptions ro;
    ro.as_user = as_user_;
    ro.timeout_seconds = 30;
    RunResult r = run({"fusermount3", "-u", path_}, ro);
    if (r.exit_code != 0 && is_mount_point(path_)) ::umount2(path_.c_str(), MNT_DETACH);
}

Impl impl_under_test() {
    const char* env = std::getenv("OVF_UNDER_TEST");
    std::string v = env ? env : "";
    if (v == "fuse-overlayfs") return Impl::FuseOverlayfs;
    if (v == "kernel") return Impl::Kernel;
    return Impl::Overlayfuse;
}

std::string impl_name(Impl impl) {
    switch (impl) {
        case Impl::FuseOverlayfs: return "fuse-overlayfs";
        case Impl::Kernel: return "kernel overlay (self-check)";
        default: return "overlayfuse";
    }
}

std::unique_ptr<Mounted> mount_overlayfuse(const std::vector<std::string>& layers_top_first,
                                           const std::string& mnt, const ViewOptions& options) {
    std::vector<std::string> argv = {overlayfuse_bin(), "mount"};
    if (!options.fuse_options.empty()) {
        argv.push_back("-o");
        argv.push_back(join(options.fuse_options, ","));
    }
    argv.push_back("--lower");
    argv.push_back(join(layers_top_first, ":"));
    argv.push_back(mnt);
    return std::make_unique<FuseView>(argv, mnt, "overlayfuse", options.as_user);
}

std::unique_ptr<Mounted> mount_under_test(const std::vector<std::string>& layers_top_first,
                                          const std::string& mnt, const ViewOptions& options) {
    switch (impl_under_test()) {
        case Impl::Kernel: {
            std::vector<std::string> flags;
            for (const auto& o : options.fuse_options) {
                if (o == "userxattr") flags.push_back(o);
            }
            return std::make_unique<KernelOverlay>(layers_top_first, mnt, flags);
        }
        case Impl::FuseOverlayfs: {
            std::vector<std::string> argv = {"fuse-overlayfs", "-o", "lowerdir=" + join(layers_top_first, ":"),
                                             mnt};
            return std::make_unique<FuseView>(argv, mnt, "fuse-overlayfs", options.as_user);
        }
        default:
            return mount_overlayfuse(layers_top_first, mnt, options);
    }
}

}  // namespace ovft
