// Bad upper/work directories are refused before anything is mounted, with a one-line error
// and a non-zero exit; a full disk during copy-up gives ENOSPC to the caller (as the kernel
// overlay does), leaves the lower file intact, and later operations work.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "writable_support.hpp"

namespace ovft::wr {
namespace {

class WritableBadInput : public ::testing::Test {
protected:
    void SetUp() override {
        if (!running_as_root()) GTEST_SKIP() << "needs root (tmpfs mounts, kernel overlay)";
        lower_ = t_.sub("lower");
        write_file(lower_ + "/f", "f\n");
        mnt_ = t_.sub("mnt");
    }

    // `overlayfuse mount ARGS... MNT` must fail at once: non-zero exit, one line on stderr,
    // nothing mounted, no daemon.
    void expect_refused(std::vector<std::string> args, const std::string& what,
                        std::optional<TestUser> as_user = std::nullopt) {
        std::vector<std::string> argv = {overlayfuse_bin(), "mount"};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.push_back(mnt_);
        RunOptions ro;
        ro.as_user = as_user;
        ro.timeout_seconds = 30;
        RunResult r = run(argv, ro);
        bool mounted = is_mount_point(mnt_);
        pid_t daemon = find_daemon_pid(mnt_);
        if (mounted) ::umount2(mnt_.c_str(), MNT_DETACH);
        if (daemon > 0) ::kill(daemon, SIGKILL);
        EXPECT_NE(r.exit_code, 0) << what << ": " << r.describe();
        EXPECT_FALSE(mounted) << what << ": mounted anyway";
        EXPECT_LE(daemon, 0) << what << ": a daemon was left running";
        std::string err = r.err;
        while (!err.empty() && err.back() == '\n') err.pop_back();
        EXPECT_FALSE(err.empty()) << what << ": no error message";
        EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 0) << what << ": not one line: " << r.err;
        std::printf("%s -> %s\n", what.c_str(), err.c_str());
    }

    TempDir t_;
    std::string lower_, mnt_;
};

TEST_F(WritableBadInput, UpperMissing) {
    expect_refused({"--lower", lower_, "--upper", t_.path() + "/nope", "--work", t_.sub("work")}, "missing upper");
}

TEST_F(WritableBadInput, WorkMissing) {
    expect_refused({"--lower", lower_, "--upper", t_.sub("upper"), "--work", t_.path() + "/nope"}, "missing work");
}

TEST_F(WritableBadInput, UpperIsAFile) {
    write_file(t_.path() + "/file", "");
    expect_refused({"--lower", lower_, "--upper", t_.path() + "/file", "--work", t_.sub("work")}, "upper is a file");
}

TEST_F(WritableBadInput, UpperInsideALower) {
    std::string upper = t_.sub("lower/upper");
    expect_refused({"--lower", lower_, "--upper", upper, "--work", t_.sub("work")}, "upper inside a lower");
}

// The overlap check compares resolved paths: a symlink and ".." must not hide that the upper
// is a layer's subdirectory.
TEST_F(WritableBadInput, UpperInsideALowerThroughASymlink) {
    t_.sub("lower/sub");
    ASSERT_EQ(::symlink((lower_ + "/sub").c_str(), (t_.path() + "/alias").c_str()), 0);
    expect_refused({"--lower", lower_, "--upper", t_.path() + "/alias/..", "--work", t_.sub("work")},
                   "upper is a lower, named through a symlink");
}

TEST_F(WritableBadInput, LowerInsideTheUpper) {
    std::string upper = t_.sub("up");
    std::string lower = t_.sub("up/lower");
    expect_refused({"--lower", lower, "--upper", upper, "--work", t_.sub("work")}, "lower inside the upper");
}

TEST_F(WritableBadInput, WorkEqualsUpper) {
    std::string upper = t_.sub("upper");
    expect_refused({"--lower", lower_, "--upper", upper, "--work", upper}, "work == upper");
}

TEST_F(WritableBadInput, WorkInsideUpper) {
    std::string upper = t_.sub("upper");
    expect_refused({"--lower", lower_, "--upper", upper, "--work", t_.sub("upper/work")}, "work inside upper");
}

TEST_F(WritableBadInput, WorkOnAnotherFilesystem) {
    std::string other = t_.sub("tmpfs");
    ASSERT_EQ(::mount("tmpfs", other.c_str(), "tmpfs", 0, "size=4m"), 0) << std::strerror(errno);
    std::string work = other + "/work";
    ::mkdir(work.c_str(), 0755);
    expect_refused({"--lower", lower_, "--upper", t_.sub("upper"), "--work", work}, "work on another filesystem");
    ::umount2(other.c_str(), MNT_DETACH);
}

TEST_F(WritableBadInput, UpperNotWritableByTheUser) {
    std::string why;
    auto user = test_user(&why);
    if (!user) GTEST_SKIP() << why;
    struct stat st;
    if (::stat("/dev/fuse", &st) == 0 && (st.st_mode & 0006) != 0006) ::chmod("/dev/fuse", 0666);
    why = unprivileged_fuse_unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    t_.open_for(*user);
    ASSERT_EQ(::chown(mnt_.c_str(), user->uid, user->gid), 0);
    std::string upper = t_.sub("rootupper");  // root's, 0755
    std::string work = t_.sub("userwork");
    ASSERT_EQ(::chown(work.c_str(), user->uid, user->gid), 0);
    expect_refused({"-o", "userxattr", "--lower", lower_, "--upper", upper, "--work", work},
                   "upper not writable by the user", user);
}

// A copy-up that does not fit: tmpfs of 2 MiB holding upper and work, an 8 MiB lower file.
// The kernel overlay on an identical setup is the reference for the errno.
TEST_F(WritableBadInput, FullDiskDuringCopyUpGivesENOSPCAndKeepsTheLower) {
    std::string big(8 << 20, 'b');
    for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i / 4096);
    write_file(lower_ + "/big", big);
    std::string results[2];
    for (int side = 0; side < 2; ++side) {
        std::string fs = t_.sub(side == 0 ? "small-k" : "small-f");
        ASSERT_EQ(::mount("tmpfs", fs.c_str(), "tmpfs", 0, "size=2m"), 0) << std::strerror(errno);
        std::string upper = fs + "/upper", work = fs + "/work", mnt = t_.sub(side == 0 ? "mnt-k" : "mnt-f");
        ::mkdir(upper.c_str(), 0755);
        ::mkdir(work.c_str(), 0755);
        std::unique_ptr<Mounted> m;
        if (side == 0) m = std::make_unique<KernelRW>(std::vector<std::string>{lower_}, upper, work, mnt);
        else m = std::make_unique<OvfRW>(std::vector<std::string>{lower_}, upper, work, mnt);
        std::string& r = results[side];
        int fd = ::open((mnt + "/big").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd < 0) {
            r = "open -1 " + errno_name(errno);
        } else {
            r = ::write(fd, "x", 1) == 1 ? "write 0" : "write -1 " + errno_name(errno);
            r += ::close(fd) == 0 ? "" : " close -1 " + errno_name(errno);
        }
        EXPECT_EQ(read_file(lower_ + "/big").value_or(""), big) << "the lower file was changed";
        EXPECT_EQ(read_file(mnt + "/big").value_or(""), big) << m->what() << ": the view's big file after ENOSPC";
        // Later operations work.
        EXPECT_NO_THROW(write_file(mnt + "/small", "small\n")) << m->what();
        EXPECT_EQ(read_file(mnt + "/small").value_or(""), "small\n") << m->what();
        EXPECT_EQ(::unlink((mnt + "/f").c_str()), 0) << m->what() << ": " << std::strerror(errno);
        if (side == 1) {
            auto* ovf = static_cast<OvfRW*>(m.get());
            ovf->unmount();
            EXPECT_EQ(count_entries(work + "/work"), 0) << "overlayfuse left its failed copy in WORK/work";
            struct stat st;
            EXPECT_NE(::lstat((upper + "/big").c_str(), &st), 0) << "a partial UPPER/big is visible";
        }
        m.reset();
        ::umount2(fs.c_str(), MNT_DETACH);
    }
    EXPECT_EQ(results[0], results[1]) << "the outcome of open(big, O_WRONLY|O_APPEND) + write on a full upper\n"
                                      << "  kernel overlay: " << results[0] << "\n  overlayfuse:    " << results[1];
    EXPECT_NE(results[1].find("ENOSPC"), std::string::npos) << results[1];
}

}  // namespace
}  // namespace ovft::wr
