// How a read-only view serves file data (-o data=, docs/data-path.md), seen from the requests
// the kernel sends: in the default cache mode one OPEN and at most one FLUSH in the mount's
// life (both answered ENOSYS) and never a RELEASE; with data=daemon one OPEN per open(2).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "support/layer_model.hpp"
#include "support/mounts.hpp"

namespace ovft {
namespace {

class DataPath : public ::testing::Test {
protected:
    void SetUp() override {
        if (!running_as_root()) GTEST_SKIP() << "these tests mount as root";
        if (impl_under_test() != Impl::Overlayfuse) GTEST_SKIP() << "tests overlayfuse's own data path";
        LayerStack s;
        s.add_layer().file("low", "lower file\n");
        s.add_layer().file("d/high", "upper file\n");
        big_.assign(32u << 20, '\0');
        for (size_t i = 0; i < big_.size(); i += 4096) big_[i] = static_cast<char>('a' + i / 4096 % 26);
        s.layers.front().file("big", big_);
        s.layers.front().file("warm-up", big_);
        layers_ = write_stack(s, kernel_encoding(), tmp_.sub("layers", false));
        lower_ = layers_[0] + ":" + layers_[1];
        mnt_ = tmp_.sub("mnt");
    }

    void TearDown() override {
        if (!mnt_.empty() && is_mount_point(mnt_)) detach_mounts_under(mnt_);
    }

    // Starts ARGV (which runs the daemon in the foreground, stderr to LOG) and waits for the
    // mount; the daemon is our child, so stop() can reap it.
    pid_t start(const std::vector<std::string>& argv, const std::string& log = "/dev/null") {
        pid_t pid = ::fork();
        if (pid == 0) {
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(fd, STDERR_FILENO);
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        for (int i = 0; i < 1000 && !is_mount_point(mnt_); ++i) ::usleep(10000);
        EXPECT_TRUE(is_mount_point(mnt_)) << "the daemon did not mount";
        return pid;
    }

    void stop(pid_t pid) {
        RunResult u = run({overlayfuse_bin(), "umount", mnt_});
        EXPECT_EQ(u.exit_code, 0) << u.describe();
        int status = 0;
        ::waitpid(pid, &status, 0);
    }

    // Runs the daemon with libfuse's request trace (-d) and DATA, lets BODY use the view,
    // unmounts and returns the trace.
    std::string traced(const std::string& data, const std::function<void()>& body) {
        std::string log = tmp_.path() + "/trace.log";
        pid_t pid = start({overlayfuse_bin(), "mount", "-d", "-o", data, "--lower", lower_, mnt_}, log);
        if (is_mount_point(mnt_)) body();
        stop(pid);
        std::ifstream in(log);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    static size_t count(const std::string& trace, const std::string& opcode) {
        size_t n = 0;
        std::string needle = "opcode: " + opcode + " ";
        for (size_t at = trace.find(needle); at != std::string::npos; at = trace.find(needle, at + 1)) ++n;
        return n;
    }

    std::string read_three_times(const std::string& rel) {
        std::string out;
        for (int i = 0; i < 3; ++i) {
            int fd = ::open((mnt_ + "/" + rel).c_str(), O_RDONLY);
            EXPECT_GE(fd, 0) << rel;
            if (fd < 0) continue;
            char buf[64] = {};
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n > 0) out.append(buf, static_cast<size_t>(n));
            ::close(fd);
        }
        return out;
    }

    TempDir tmp_;
    std::vector<std::string> layers_;
    std::string lower_, mnt_, big_;
};

TEST_F(DataPath, CacheModeSendsOneOpenAndNoRelease) {
    std::string content;
    std::string trace = traced("data=cache", [&] {
        content = read_three_times("low") + read_three_times("d/high");
        int fd = ::open((mnt_ + "/low").c_str(), O_RDONLY);
        ASSERT_GE(fd, 0);
        void* map = ::mmap(nullptr, 11, PROT_READ, MAP_SHARED, fd, 0);
        ASSERT_NE(map, MAP_FAILED);
        EXPECT_EQ(std::string(static_cast<char*>(map), 11), "lower file\n");
        ::munmap(map, 11);
        ::close(fd);
    });
    EXPECT_EQ(content, "lower file\nlower file\nlower file\nupper file\nupper file\nupper file\n");
    EXPECT_EQ(count(trace, "OPEN"), 1u) << "the kernel kept asking: " << trace.substr(0, 4000);
    EXPECT_LE(count(trace, "FLUSH"), 1u) << "FLUSH is answered ENOSYS once, then never sent again";
    EXPECT_EQ(count(trace, "RELEASE"), 0u);
    // Each file's page came from the daemon once, then from the kernel's cache.
    EXPECT_EQ(count(trace, "READ"), 2u);
}

TEST_F(DataPath, DaemonModeAnswersEveryOpen) {
    std::string content;
    std::string trace = traced("data=daemon", [&] { content = read_three_times("low"); });
    EXPECT_EQ(content, "lower file\nlower file\nlower file\n");
    EXPECT_EQ(count(trace, "OPEN"), 3u);
    EXPECT_EQ(count(trace, "RELEASE"), 3u);
}

}  // namespace
}  // namespace ovft
