// kill -9 of the overlayfuse daemon in the middle of a large copy-up, then a new mount over
// the same upper and work dirs: the file is entirely the old one or entirely the new one,
// never partial, and WORK/work is empty again (overlayfuse clears it at mount).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <vector>
#include <cstring>
#include <string>
#include <thread>

#include "writable_support.hpp"

namespace ovft::wr {
namespace {

constexpr off_t kBigSize = 200 << 20;  // 200 MiB

std::string hash_file(const std::string& path, off_t* size) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "open -1 " + errno_name(errno);
    uint64_t h = 1469598103934665603ULL;
    std::vector<char> buf(1 << 20);
    off_t total = 0;
    for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::close(fd);
            return "read -1 " + errno_name(errno);
        }
        if (n == 0) break;
        total += n;
        for (ssize_t i = 0; i < n; ++i) {
            h ^= static_cast<unsigned char>(buf[static_cast<size_t>(i)]);
            h *= 1099511628211ULL;
        }
    }
    ::close(fd);
    if (size) *size = total;
    return std::to_string(h);
}

// A file of SIZE bytes that is not all zeros (no shortcut for sparse copies).
void write_big(const std::string& path, off_t size) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
    std::vector<char> buf(1 << 20);
    for (off_t off = 0; off < size; off += static_cast<off_t>(buf.size())) {
        for (size_t i = 0; i < buf.size(); i += 4096) buf[i] = static_cast<char>(off / 4096 + i / 4096);
        ASSERT_EQ(::pwrite(fd, buf.data(), buf.size(), off), static_cast<ssize_t>(buf.size()));
    }
    ::close(fd);
}

// The size of the largest regular file in DIR (the copy being built), or -1 when none.
off_t largest_file_in(const std::string& dir) {
    off_t best = -1;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        struct stat st;
        if (::lstat(e.path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) best = std::max(best, st.st_size);
    }
    return best;
}

TEST(WritableCrash, KillDuringCopyUpLeavesOldOrNewFileNeverPartial) {
    if (!running_as_root()) GTEST_SKIP() << "needs root (mounts, kill of the daemon)";
    TempDir t;
    std::string lower = t.sub("lower"), upper = t.sub("upper"), work = t.sub("work"), mnt = t.sub("mnt");
    write_big(lower + "/big", kBigSize);
    if (HasFatalFailure()) return;
    off_t size = 0;
    std::string old_hash = hash_file(lower + "/big", &size);
    ASSERT_EQ(size, kBigSize);

    bool caught_mid_copy = false;
    for (int attempt = 0; attempt < 5 && !caught_mid_copy; ++attempt) {
        std::filesystem::remove_all(upper);
        std::filesystem::create_directories(upper);
        {
            OvfRW view({lower}, upper, work, mnt);
            pid_t daemon = view.daemon_pid();
            ASSERT_GT(daemon, 0) << "cannot find the daemon of " << mnt;
            // The writer: opening for append copies the whole file up first.
            pid_t writer = ::fork();
            if (writer == 0) {
                int fd = ::open((mnt + "/big").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
                if (fd < 0) ::_exit(2);
                ::_exit(::write(fd, "!", 1) == 1 ? 0 : 3);
            }
            // Wait until the copy is being built in WORK/work, then kill the daemon.
            auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
            off_t seen = -1;
            while (std::chrono::steady_clock::now() < deadline) {
                seen = largest_file_in(work + "/work");
                if (seen > 0 && seen < kBigSize) break;
                int status;
                if (::waitpid(writer, &status, WNOHANG) == writer) {
                    writer = -1;
                    break;
                }
            }
            if (seen > 0 && seen < kBigSize && writer > 0) {
                ::kill(daemon, SIGKILL);
                caught_mid_copy = true;
                std::printf("attempt %d: killed the daemon with %lld of %lld bytes copied\n", attempt,
                            static_cast<long long>(seen), static_cast<long long>(kBigSize));
            }
            if (writer > 0) {
                int status = 0;
                if (!wait_for_exit(writer, 30000)) ::kill(writer, SIGKILL);
                ::waitpid(writer, &status, 0);
            }
            EXPECT_TRUE(wait_for_exit(daemon, 10000));
            if (caught_mid_copy) view.forget_daemon();
            // The destructor detaches the (dead) mount lazily.
        }
        ASSERT_FALSE(is_mount_point(mnt));
    }
    if (!caught_mid_copy) GTEST_SKIP() << "the copy-up was always over before it could be seen in WORK/work";

    // Whatever the crash left in UPPER: a complete new file or nothing.
    struct stat st;
    if (::lstat((upper + "/big").c_str(), &st) == 0) {
        EXPECT_TRUE(st.st_size == kBigSize || st.st_size == kBigSize + 1) << "UPPER/big has " << st.st_size << " bytes";
    }
    OvfRW again({lower}, upper, work, mnt);
    EXPECT_EQ(count_work_leftovers(work + "/work"), 0) << "WORK/work must be cleared at mount";
    std::string h = hash_file(mnt + "/big", &size);
    if (size == kBigSize) {
        EXPECT_EQ(h, old_hash) << "the old size, but not the old content";
    } else {
        EXPECT_EQ(size, kBigSize + 1) << "neither the old nor the new file";
    }
    // Later operations work: the copy-up can be done again.
    int fd = ::open((mnt + "/big").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    EXPECT_EQ(::write(fd, "!", 1), 1);
    ::close(fd);
    ASSERT_EQ(::lstat((mnt + "/big").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, size + 1);
    EXPECT_EQ(hash_file(lower + "/big", nullptr), old_hash) << "the lower file was changed";
}

}  // namespace
}  // namespace ovft::wr
