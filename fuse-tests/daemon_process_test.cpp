// The daemon as a process. Its request loop (src/fuse/request_loop.cpp): one thread reads
// and answers, the others take over when it is held up; a request that cannot finish must
// not hold up the rest of the view, and the loop ends cleanly on SIGTERM. Its memory: a tree
// walked again and again, with the kernel's caches dropped in between, must not grow it.
//
// A request is held up for as long as the test likes by stacking two views: the lower layer
// of view B is view A, whose daemon the test stops with SIGSTOP.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/layer_model.hpp"
#include "support/mounts.hpp"

namespace ovft {
namespace {

class DaemonProcess : public ::testing::Test {
protected:
    void SetUp() override {
        if (!running_as_root()) GTEST_SKIP() << "these tests mount as root";
        if (impl_under_test() != Impl::Overlayfuse) GTEST_SKIP() << "tests overlayfuse's own daemon";
    }
    void TearDown() override {
        if (daemon_ > 0) ::kill(daemon_, SIGCONT);
        detach_mounts_under(tmp_.path());
        if (daemon_ > 0) ::waitpid(daemon_, nullptr, 0);
    }

    // `overlayfuse mount -f --lower LOWER [EXTRA...] MNT` as our child; waits for the mount.
    pid_t start_foreground(const std::string& lower, const std::string& mnt,
                           const std::vector<std::string>& extra = {}) {
        std::string bin = overlayfuse_bin();
        std::vector<std::string> argv = {bin, "mount", "-f", "--lower", lower};
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back(mnt);
        std::vector<char*> cargv;
        for (auto& a : argv) cargv.push_back(a.data());
        cargv.push_back(nullptr);
        pid_t pid = ::fork();
        if (pid == 0) {
            int null = ::open("/dev/null", O_WRONLY);
            ::dup2(null, STDERR_FILENO);
            ::execv(bin.c_str(), cargv.data());
            ::_exit(127);
        }
        for (int i = 0; i < 1000 && !is_mount_point(mnt); ++i) ::usleep(10000);
        EXPECT_TRUE(is_mount_point(mnt)) << "the daemon did not mount " << mnt;
        return pid;
    }

    // Whether PID exits within SECONDS (its status in *STATUS).
    static bool exits_within(pid_t pid, int seconds, int* status) {
        for (int i = 0; i < seconds * 100; ++i) {
            if (::waitpid(pid, status, WNOHANG) == pid) return true;
            ::usleep(10000);
        }
        return false;
    }

    TempDir tmp_;
    pid_t daemon_ = -1;
};

TEST_F(DaemonProcess, AStuckRequestDoesNotHoldUpTheOthers) {
    LayerStack a;
    a.add_layer().file("slow", std::string(1 << 20, 's'));
    LayerStack b;
    b.add_layer().file("quick", "quick\n");
    std::string lower_a = write_stack(a, kernel_encoding(), tmp_.sub("a", false))[0];
    std::string lower_b = write_stack(b, kernel_encoding(), tmp_.sub("b", false))[0];
    std::string mnt_a = tmp_.sub("mnt-a"), mnt_b = tmp_.sub("mnt-b");
    daemon_ = start_foreground(lower_a, mnt_a);
    ASSERT_TRUE(is_mount_point(mnt_a));
    // View B: A's files on top of B's; no caching, so every fstat is a GETATTR.
    auto view_b = mount_overlayfuse({mnt_a, lower_b}, mnt_b, {{"timeout=0"}, std::nullopt});
    struct stat st;
    ASSERT_EQ(::stat((mnt_b + "/slow").c_str(), &st), 0);
    int quick = ::open((mnt_b + "/quick").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(quick, 0);

    // B's daemon reads slow from A, which does not answer while stopped.
    ASSERT_EQ(::kill(daemon_, SIGSTOP), 0);
    std::string got;
    std::thread reader([&] {
        int fd = ::open((mnt_b + "/slow").c_str(), O_RDONLY | O_CLOEXEC);
        char buf[4096];
        for (ssize_t n; fd >= 0 && (n = ::read(fd, buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
        if (fd >= 0) ::close(fd);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));

    // Meanwhile a file of B's own layer answers (a child, so a hang cannot hang the test).
    pid_t child = ::fork();
    if (child == 0) {
        struct stat s;
        ::_exit(::fstat(quick, &s) == 0 && s.st_size == 6 ? 0 : 1);
    }
    int status = 0;
    bool answered = exits_within(child, 20, &status);
    if (!answered) ::kill(child, SIGKILL);
    ::kill(daemon_, SIGCONT);
    reader.join();
    if (!answered) ::waitpid(child, &status, 0);
    EXPECT_TRUE(answered) << "fstat of a file of B waited for a request stuck in A";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(got, std::string(1 << 20, 's')) << "the stuck read completes once A answers";
    ::close(quick);
}

TEST_F(DaemonProcess, SigtermUnmountsAndEndsTheDaemon) {
    LayerStack s;
    s.add_layer().file("f", "x\n");
    std::string lower = write_stack(s, kernel_encoding(), tmp_.sub("layers", false))[0];
    std::string mnt = tmp_.sub("mnt");
    daemon_ = start_foreground(lower, mnt);
    struct stat st;
    ASSERT_EQ(::stat((mnt + "/f").c_str(), &st), 0);
    ASSERT_EQ(::kill(daemon_, SIGTERM), 0);
    int status = 0;
    ASSERT_TRUE(exits_within(daemon_, 20, &status)) << "the daemon ignored SIGTERM";
    daemon_ = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    EXPECT_FALSE(is_mount_point(mnt));
}

// `overlayfuse umount` returns once the daemon has exited, as the kernel overlay's umount
// returns with the upper quiet: a mount over the same work directory may follow at once.
// It returned as soon as the kernel let the mount go, while the daemon still held the work
// directory's lock for a few milliseconds ("work directory ... is in use by another mount").
TEST_F(DaemonProcess, UmountReturnsOnceTheDaemonHasExited) {
    LayerStack s;
    s.add_layer().file("d/f", "x\n");
    std::string lower = write_stack(s, kernel_encoding(), tmp_.sub("layers", false))[0];
    std::string mnt = tmp_.sub("mnt"), upper = tmp_.sub("upper"), work = tmp_.sub("work");
    for (int round = 0; round < 5; ++round) {
        daemon_ = start_foreground(lower, mnt, {"--upper", upper, "--work", work});
        ASSERT_EQ(::chmod((mnt + "/d/f").c_str(), 0600 + round), 0);
        RunResult r = run({overlayfuse_bin(), "umount", mnt});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        pid_t daemon = daemon_;
        daemon_ = -1;
        int status = 0;
        pid_t exited = ::waitpid(daemon, &status, WNOHANG);  // already a zombie?
        if (exited != daemon) ::waitpid(daemon, &status, 0);
        ASSERT_EQ(exited, daemon) << "round " << round << ": umount returned before the daemon exited";
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    }
}

// kB of PID's peak resident set (VmHWM).
long peak_kb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    long value = -1;
    while (in >> key) {
        if (key == "VmHWM:") {
            in >> value;
            break;
        }
        in.ignore(4096, '\n');
    }
    return value;
}

// Every walk after a drop of the kernel's dentries and inodes makes the daemon forget and
// make again a node per entry, on whichever threads answer. The second walk may peak higher
// than the first (FORGETs of the first still come in while it runs); walks 3 to 7 must not
// go beyond the second's peak.
TEST_F(DaemonProcess, WalkingTheSameTreeAgainDoesNotGrowIt) {
    LayerStack s;
    s.add_layer();
    s.add_layer();
    for (int d = 0; d < 40; ++d)
        for (int f = 0; f < 150; ++f)
            s.layers[(d + f) % 2].file("d" + std::to_string(d) + "/file-with-a-longer-name-" + std::to_string(f), "");
    auto layers = write_stack(s, kernel_encoding(), tmp_.sub("layers", false));
    std::string mnt = tmp_.sub("mnt");
    daemon_ = start_foreground(layers[0] + ":" + layers[1], mnt);
    ASSERT_TRUE(is_mount_point(mnt));
    auto walk = [&] {
        size_t n = 0;
        for (const auto& e : std::filesystem::recursive_directory_iterator(mnt)) {
            struct stat st;
            if (::lstat(e.path().c_str(), &st) == 0) ++n;
        }
        EXPECT_EQ(n, 40u + 40u * 150u);
        drop_caches("2");
    };
    CacheLock drops(CacheLock::Exclusive);
    walk();
    walk();
    long after_two = peak_kb(daemon_);
    for (int i = 0; i < 5; ++i) walk();
    long after_seven = peak_kb(daemon_);
    ASSERT_GT(after_two, 0);
    EXPECT_LT(after_seven - after_two, 512) << "VmHWM " << after_two << " kB after two walks, " << after_seven
                                            << " kB after seven";
}

}  // namespace
}  // namespace ovft
