#include "overlayfuse/fuse/session.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "overlayfuse/error.hpp"
#include "overlayfuse/mountinfo.hpp"
#include "overlayfuse/sys.hpp"
#include "overlayfuse/unique_fd.hpp"
#include "ops.hpp"
#include "request_loop.hpp"

namespace ovf::fuse {

namespace {

const fuse_lowlevel_ops& operations() {
    static const fuse_lowlevel_ops o = [] {
        fuse_lowlevel_ops x{};
        x.init = ops::init;
        x.lookup = ops::lookup;
        x.forget = ops::forget;
        x.forget_multi = ops::forget_multi;
        x.getattr = ops::getattr;
        x.readlink = ops::readlink;
        x.open = ops::open;
        x.read = ops::read;
        x.lseek = ops::lseek;
        x.release = ops::release;
        x.opendir = ops::opendir;
        x.readdir = ops::readdir;
        x.readdirplus = ops::readdirplus;
        x.getxattr = ops::getxattr;
        x.listxattr = ops::listxattr;
        x.statfs = ops::statfs;
        x.create = ops::create;
#if FUSE_VERSION >= FUSE_MAKE_VERSION(3, 17)
        x.tmpfile = ops::tmpfile;
#endif
        x.mknod = ops::mknod;
        x.mkdir = ops::mkdir;
        x.symlink = ops::symlink;
        x.link = ops::link;
        x.unlink = ops::unlink;
        x.rmdir = ops::rmdir;
        x.rename = ops::rename;
        x.setattr = ops::setattr;
        x.setxattr = ops::setxattr;
        x.removexattr = ops::removexattr;
        x.write_buf = ops::write_buf;
        x.flush = ops::flush;
        x.fsync = ops::fsync;
        x.fsyncdir = ops::fsyncdir;
        x.fallocate = ops::fallocate;
        x.ioctl = ops::ioctl;
        return x;
    }();
    return o;
}

// libfuse reports mount failures through its log; keep the last message for our one line.
std::mutex g_log_mu;
std::string g_last_log;  // the one piece of global state: libfuse's logger has no user pointer

void capture_log(enum fuse_log_level level, const char* fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    std::string msg(buf);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    if (msg.rfind("fuse: ", 0) == 0) msg.erase(0, 6);
    std::lock_guard lock(g_log_mu);
    if (level <= FUSE_LOG_ERR) {
        g_last_log = msg;  // the mount command reports it as its one line
    } else if (level == FUSE_LOG_WARNING) {
        std::fprintf(stderr, "overlayfuse: %s\n", msg.c_str());
    } else {
        std::vfprintf(stderr, fmt, ap2);  // -d: libfuse's request trace, as it wrote it
    }
    va_end(ap2);
}

}  // namespace

std::string library_summary() {
#ifdef OVERLAYFUSE_HAVE_PASSTHROUGH
    const char* passthrough = "FUSE passthrough";
#else
    const char* passthrough = "no FUSE passthrough";
#endif
    return std::string("libfuse ") + fuse_pkgversion() + ", " + passthrough;
}

FuseSession::FuseSession(merge::Engine& engine, FuseOptions opts)
    : ctx_(std::make_unique<Context>()), opts_(std::move(opts)) {
    ctx_->engine = &engine;
    writable_ = engine.writable();
    ctx_->timeout = opts_.cache_timeout;
    using DataPath = FuseOptions::DataPath;
    ctx_->passthrough.wanted = opts_.data == DataPath::Passthrough && !writable_ && ::geteuid() == 0;
    ctx_->no_open = opts_.data == DataPath::Cache && !writable_;
    // Only a daemon that can open any file may put an open off: see docs/data-path.md.
    auto caps = sys::effective_caps(::getpid());
    ctx_->defer_opens = writable_ && caps && (*caps & (uint64_t{1} << CAP_DAC_OVERRIDE));
    fuse_set_log_func(capture_log);

    std::string o = std::string(engine.writable() ? "rw" : "ro") +
                    ",default_permissions,fsname=" + opts_.fsname + ",subtype=overlayfuse";
    if (opts_.allow_other) o += ",allow_other";
    // Like the kernel overlay: device nodes and set-id programs work in the view (a chroot
    // needs /dev/null). Only root may ask; libfuse's default for users is nodev,nosuid.
    if (::geteuid() == 0) o += ",dev,suid";
    for (const auto& a : opts_.fuse_args) o += "," + a;
    std::vector<std::string> args = {"overlayfuse", "-o", o};
    if (opts_.debug) args.push_back("-d");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    fuse_args fa = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
    se_ = fuse_session_new(&fa, &operations(), sizeof(fuse_lowlevel_ops), ctx_.get());
    ctx_->session = se_;
    fuse_opt_free_args(&fa);
    if (!se_) {
        std::lock_guard lock(g_log_mu);
        throw UserError("invalid FUSE options '" + o + "': " + g_last_log, 2);
    }
}

FuseSession::~FuseSession() {
    if (!se_) return;
    if (signals_set_) fuse_remove_signal_handlers(se_);
    if (!self_mounted_.empty()) {
        // As libfuse does: a device with an error pending means the view was unmounted
        // already (and the path may hold something else by now).
        struct pollfd p{fuse_session_fd(se_), 0, 0};
        bool gone = ::poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
        if (!gone) ::umount2(self_mounted_.c_str(), MNT_DETACH);
    } else if (mounted_) {
        fuse_session_unmount(se_);
    }
    fuse_session_destroy(se_);
}

bool FuseSession::mount_directly(const std::string& mnt) {
    // Options libfuse would turn into mount flags or pass through are only understood by
    // libfuse itself: with any of them, let it mount.
    if (::geteuid() != 0 || !opts_.fuse_args.empty() || opts_.debug) return false;
    UniqueFd dev(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
    if (!dev) return false;
    std::string data = "fd=" + std::to_string(dev.get()) + ",rootmode=40000,user_id=" +
                       std::to_string(::getuid()) + ",group_id=" + std::to_string(::getgid()) +
                       ",default_permissions";
    if (opts_.allow_other) data += ",allow_other";
    // Root's views allow device nodes and set-id programs, as in the constructor's options.
    unsigned long flags = writable_ ? 0 : MS_RDONLY;
    if (::mount(opts_.fsname.c_str(), mnt.c_str(), "fuse.overlayfuse", flags, data.c_str()) != 0) return false;
    std::string devfd = "/dev/fd/" + std::to_string(dev.get());
    if (fuse_session_mount(se_, devfd.c_str()) != 0) {
        ::umount2(mnt.c_str(), MNT_DETACH);
        return false;
    }
    dev.release();  // the session owns it now
    self_mounted_ = mnt;
    return true;
}

// The kernel gives a FUSE mount 128 KiB of read-ahead, so a large file comes in READs of
// 128 KiB, each a round trip, where the layers' own disk reads ahead by megabytes. One
// READ may carry up to max_write (about 1 MiB): asking for that much read-ahead reads a
// file in an eighth of the requests. (The cold 1 GiB read of the bench is disk-bound and
// did not get faster; the daemon's CPU per byte went down.) INIT sets the mount's
// read-ahead, so this runs after it. Only root may write the setting; for others the
// mount keeps the default.
void FuseSession::widen_read_ahead() {
    if (bdi_read_ahead_.empty()) return;
    int fd = ::open(bdi_read_ahead_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    std::string value = std::to_string(kReadAheadKb) + "\n";
    // Refused (not root) or gone: the default stays.
    [[maybe_unused]] ssize_t n = ::write(fd, value.data(), value.size());
    ::close(fd);
}

void FuseSession::mount(const std::string& mnt) {
    {
        std::lock_guard lock(g_log_mu);
        g_last_log.clear();
    }
    if (!mount_directly(mnt) && fuse_session_mount(se_, mnt.c_str()) != 0) {
        std::lock_guard lock(g_log_mu);
        throw UserError("cannot mount on " + mnt + ": " +
                        (g_last_log.empty() ? std::string("mount failed") : g_last_log));
    }
    mounted_ = true;
    // Found now, in the process that mounted (a stat of MNT would ask ourselves, before
    // anyone serves): the daemon, after the fork, need not parse.
    if (auto m = mount_at(mnt)) bdi_read_ahead_ = "/sys/class/bdi/" + m->device + "/read_ahead_kb";
    // Our own changes the kernel cannot know of (a copy-up changes link counts): drop its
    // cached attributes. Attributes only (offset -1): no page cache, no inode locks, so
    // this is safe inside any request handler.
    ctx_->engine->on_attr_change([this](merge::Node& n) {
        fuse_lowlevel_notify_inval_inode(se_, ops::node_id(*ctx_->engine, n), -1, 0);
    });
}

namespace {

// The kernel grows a process's descriptor table by doubling it, and in a multi-threaded
// process every growth waits for an RCU grace period (expand_fdtable -> synchronize_rcu):
// 6-8 ms each on these VMs. One O_PATH descriptor per node means a walk of 7,000 entries
// crosses 128, 256, ... 8192 with the worker threads running. Growing the table once here,
// before the loop starts its threads (and after fuse_daemonize, whose fork copies only as
// much of the table as is in use), costs no wait at all. The table is kernel memory,
// 8 bytes per slot.
void reserve_descriptor_table() {
    constexpr rlim_t kSlots = 1 << 15;
    struct rlimit rl;
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    int top = static_cast<int>(std::min<rlim_t>(rl.rlim_cur, kSlots)) - 1;
    if (top < 64) return;
    if (::dup2(STDERR_FILENO, top) == top) ::close(top);
}

// The first request is always INIT. The multi-threaded loop starts a second worker as soon as
// the first one takes a request, and that worker creates its splice pipe while INIT is still
// being answered: sized for libfuse's initial 1 MiB-and-a-page buffer, not for the max_write
// init() settles on. Without CAP_SYS_RESOURCE that growth fails, and libfuse never grows that
// thread's pipe again, so every READ it answers is copied instead of spliced (see
// docs/data-path.md). Answering INIT here, before any worker exists, avoids the race.
void answer_init(::fuse_session* se) {
    fuse_buf buf{};
    int res;
    do {
        res = fuse_session_receive_buf(se, &buf);
    } while (res == -EINTR && !fuse_session_exited(se));
    if (res > 0) fuse_session_process_buf(se, &buf);
    std::free(buf.mem);
}

}  // namespace

int FuseSession::serve() {
    reserve_descriptor_table();
    // One malloc arena for the whole daemon. Nodes are made on whichever thread answers (the
    // reader, READDIRPLUS's helper, a thread that took over) and freed on FORGET by another;
    // with an arena per thread, memory freed in one arena is not reused by the next walk's
    // allocations in another, and a tree walked again after the kernel dropped its caches
    // grew the daemon by ~3 MiB per walk until every arena held a copy. The request loop
    // has one reader, so the arena's lock is rarely contended.
    ::mallopt(M_ARENA_MAX, 1);
    // The kernel applied the caller's umask to every mode a request carries; the daemon's
    // own (whoever mounted it) must not take bits away a second time.
    ::umask(0);
    if (fuse_set_signal_handlers(se_) == 0) signals_set_ = true;
    answer_init(se_);
    if (fuse_session_exited(se_)) return 0;
    widen_read_ahead();
    LoopOptions loop;
    loop.spin_us = opts_.spin_us;
    if (opts_.max_threads) loop.max_threads = opts_.max_threads;
    int rc = run_request_loop(se_, loop);
    if (rc < 0) throw UserError("cannot serve requests: " + errno_text(-rc));
    return fuse_session_exited(se_) ? 0 : 1;
}

}  // namespace ovf::fuse
