#include "support/harness.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "support/mounts.hpp"

namespace fs = std::filesystem;

namespace ovft {

std::string overlayfuse_bin() {
    if (const char* env = std::getenv("OVF_BIN")) return env;
    return OVF_BIN;
}

std::string treedump_bin() {
    if (const char* env = std::getenv("OVF_TREEDUMP_BIN")) return env;
    return OVF_TREEDUMP_BIN;
}

// ---------------------------------------------------------------------------------------------
// TempDir

TempDir::TempDir() {
    std::string templ = std::string(kTempPrefix) + "XXXXXX";
    if (!::mkdtemp(templ.data())) {
        throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
    }
    path_ = templ;
}

TempDir::~TempDir() {
    // A failed test may leave a mount below us; deleting through it would delete layer
    // contents or fail with EBUSY, so detach everything first (deepest first).
    detach_mounts_under(path_);
    std::error_code ec;
    fs::remove_all(path_, ec);
}

std::string TempDir::sub(const std::string& name, bool mkdir) const {
    std::string p = path_ + "/" + name;
    if (mkdir) fs::create_directories(p);
    return p;
}

void TempDir::open_for(const TestUser& user, bool own) const {
    ::chmod(path_.c_str(), 0755);
    if (own && ::chown(path_.c_str(), user.uid, user.gid) != 0) {
        throw std::runtime_error("chown " + path_ + ": " + std::strerror(errno));
    }
}

// ---------------------------------------------------------------------------------------------
// Running programs

namespace {

std::string read_all_from_start(int fd) {
    std::string out;
    char buf[65536];
    off_t off = 0;
    for (;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
        off += n;
    }
    return out;
}

std::string join_command(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) {
        if (!s.empty()) s += ' ';
        s += a.find_first_of(" \t'\"") == std::string::npos ? a : "'" + a + "'";
    }
    return s;
}

[[noreturn]] void exec_child(const std::vector<std::string>& argv, const RunOptions& options,
                             int out_fd, int err_fd) {
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) {
        std::fprintf(stderr, "chdir %s: %s\n", options.cwd.c_str(), std::strerror(errno));
        ::_exit(127);
    }
    if (options.as_user) {
        const TestUser& u = *options.as_user;
        // Order matters: groups and gid while still root, uid last.
        if (::setgroups(0, nullptr) != 0 || ::setresgid(u.gid, u.gid, u.gid) != 0 ||
            ::setresuid(u.uid, u.uid, u.uid) != 0) {
            std::fprintf(stderr, "cannot become %s: %s\n", u.name.c_str(), std::strerror(errno));
            ::_exit(127);
        }
        ::setenv("USER", u.name.c_str(), 1);
        ::setenv("LOGNAME", u.name.c_str(), 1);
        ::setenv("HOME", "/", 1);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
}

}  // namespace

std::string RunResult::describe() const {
    std::string s = "`" + command + "` ";
    s += timed_out ? "timed out" : exit_code < 0 ? "was killed" : "exited " + std::to_string(exit_code);
    if (!err.empty()) s += "; stderr: " + err;
    if (!out.empty() && out.size() < 2000) s += "; stdout: " + out;
    return s;
}

RunResult run(const std::vector<std::string>& argv, const RunOptions& options) {
    RunResult result;
    result.command = join_command(argv);
    if (options.as_user) result.command = "(as " + options.as_user->name + ") " + result.command;
    // Output goes to memory files rather than pipes: `overlayfuse mount` leaves a daemon
    // behind that may keep its inherited stdout/stderr open, and a pipe would never see EOF.
    int out_fd = ::memfd_create("ovft-out", MFD_CLOEXEC);
    int err_fd = ::memfd_create("ovft-err", MFD_CLOEXEC);
    if (out_fd < 0 || err_fd < 0) throw std::runtime_error("memfd_create failed");
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) exec_child(argv, options, out_fd, err_fd);

    // Wait for the child with a deadline (pidfd + poll: no sleeping loop).
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd >= 0) {
        struct pollfd p = {pidfd, POLLIN, 0};
        int ready;
        do {
            ready = ::poll(&p, 1, options.timeout_seconds * 1000);
        } while (ready < 0 && errno == EINTR);
        if (ready == 0) {
            ::kill(pid, SIGKILL);
            result.timed_out = true;
        }
        ::close(pidfd);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    result.out = read_all_from_start(out_fd);
    result.err = read_all_from_start(err_fd);
    ::close(out_fd);
    ::close(err_fd);
    return result;
}

// ---------------------------------------------------------------------------------------------
// Users and privileges

bool running_as_root() { return ::geteuid() == 0; }

std::optional<TestUser> test_user(std::string* why) {
    const char* name = "ovftest";
    struct passwd* pw = ::getpwnam(name);
    if (!pw && running_as_root()) {
        RunResult r = run({"useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                           name});
        if (r.exit_code != 0 && why) *why = "cannot create user " + std::string(name) + ": " + r.describe();
        pw = ::getpwnam(name);
    }
    if (!pw) {
        if (why && why->empty()) *why = "user ovftest does not exist and we are not root to create it";
        return std::nullopt;
    }
    return TestUser{name, pw->pw_uid, pw->pw_gid};
}

std::string unprivileged_fuse_unavailable_reason() {
    struct stat st;
    if (::stat("/dev/fuse", &st) != 0) return "/dev/fuse does not exist";
    if ((st.st_mode & 0006) != 0006) {
        return "/dev/fuse is not read-write for other users (CI runs `chmod 0666 /dev/fuse`)";
    }
    if (::access("/usr/bin/fusermount3", X_OK) != 0 && ::access("/bin/fusermount3", X_OK) != 0) {
        return "fusermount3 is not installed (apt-get install fuse3)";
    }
    return "";
}

CacheLock::CacheLock(Mode mode) {
    fd_ = ::open("/tmp/ovf-fuse-tests.cache-lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ >= 0) {
        while (::flock(fd_, mode == Exclusive ? LOCK_EX : LOCK_SH) != 0 && errno == EINTR) {
        }
    }
}

CacheLock::~CacheLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
}

void drop_caches(const char* what) {
    ::sync();
    int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    if (::write(fd, what, std::strlen(what)) < 0) {
    }
    ::close(fd);
}

std::string proc_cmdline(const std::string& pid) {
    std::string s;
    int fd = ::open(("/proc/" + pid + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return s;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) s.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return s;
}

void write_file(const std::string& file, const std::string& text) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + file);
}

std::string artifact_path(const std::string& name) {
    const char* env = std::getenv("OVF_TEST_ARTIFACTS");
    std::string dir = env && *env ? env : "/tmp/ovf-artifacts";
    std::error_code ec;
    fs::create_directories(dir, ec);
    return dir + "/" + name;
}

}  // namespace ovft
