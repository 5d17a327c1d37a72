// `overlayfuse mount --lower` and `overlayfuse umount` on bad input: one line on stderr, a
// non-zero exit, and nothing mounted. Plus the normal round trip, so a refusal is never the
// only thing tested.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/layer_model.hpp"
#include "support/mounts.hpp"

namespace ovft {
namespace {

class MountCommand : public ::testing::Test {
protected:
    void SetUp() override {
        if (!running_as_root()) GTEST_SKIP() << "these tests mount as root";
        if (impl_under_test() != Impl::Overlayfuse) GTEST_SKIP() << "tests overlayfuse's own command line";
        LayerStack s;
        s.add_layer().file("low", "l");
        s.add_layer().file("high", "h");
        layers_ = write_stack(s, kernel_encoding(), tmp_.sub("layers", false));
        lower_ = layers_[0] + ":" + layers_[1];
    }

    RunResult mount(const std::string& lower, const std::string& mnt) {
        return run({overlayfuse_bin(), "mount", "--lower", lower, mnt}, RunOptions{{}, "", 60});
    }

    // Mount points below our temp dir.
    size_t mounts_below_tmp() const {
        auto points = mount_points();
        return std::count_if(points.begin(), points.end(),
                             [&](const std::string& m) { return m.rfind(tmp_.path() + "/", 0) == 0; });
    }

    // Refused: non-zero exit, exactly one non-empty line on stderr (mentioning MUST_MENTION),
    // and no new mount.
    void expect_refused(const RunResult& r, const std::string& must_mention, size_t mounts_before = 0) {
        EXPECT_NE(r.exit_code, 0) << r.describe();
        EXPECT_FALSE(r.timed_out);
        std::string err = r.err;
        if (!err.empty() && err.back() == '\n') err.pop_back();
        EXPECT_FALSE(err.empty()) << "no message: " << r.describe();
        EXPECT_EQ(err.find('\n'), std::string::npos) << "more than one line on stderr:\n" << r.err;
        EXPECT_NE(r.err.find(must_mention), std::string::npos) << "message does not name " << must_mention << ": "
                                                                << r.err;
        EXPECT_EQ(mounts_below_tmp(), mounts_before) << "something got mounted";
    }

    TempDir tmp_;
    std::vector<std::string> layers_;
    std::string lower_;
};

TEST_F(MountCommand, MountsAnswersAndUnmounts) {
    std::string mnt = tmp_.sub("mnt");
    RunResult r = mount(lower_, mnt);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    bool mounted = is_mount_point(mnt);
    EXPECT_TRUE(mounted) << "mount returned before the mount appeared";
    struct stat st;
    EXPECT_EQ(::stat((mnt + "/high").c_str(), &st), 0) << "the view does not answer";
    RunResult u = run({overlayfuse_bin(), "umount", mnt});
    EXPECT_EQ(u.exit_code, 0) << u.describe();
    EXPECT_FALSE(is_mount_point(mnt));
    if (is_mount_point(mnt)) detach_mounts_under(mnt);
}

// The mount command's daemon: the last argument of an overlayfuse process is the mount point.
pid_t daemon_of(const std::string& mnt) {
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        std::string pid = e.path().filename();
        if (pid.empty() || !std::all_of(pid.begin(), pid.end(), ::isdigit)) continue;
        std::string cmd = proc_cmdline(pid);
        if (cmd.find("overlayfuse") == std::string::npos || cmd.find("mount") == std::string::npos) continue;
        if (!cmd.empty() && cmd.back() == '\0') cmd.pop_back();
        if (cmd.substr(cmd.rfind('\0') + 1) == mnt) return static_cast<pid_t>(std::stol(pid));
    }
    return -1;
}

// Root's views are mounted by the daemon itself (mount(2) with the /dev/fuse descriptor, no
// mount(8) for /etc/mtab): the mount must look as libfuse made it, read-only for a read-only
// view, and a daemon stopped by SIGTERM must take its mount with it.
TEST_F(MountCommand, ReadOnlyMountLooksRightAndSigtermUnmounts) {
    std::string mnt = tmp_.sub("mnt");
    RunResult r = mount(lower_, mnt);
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    std::ifstream info("/proc/self/mountinfo");
    std::string line, found;
    while (std::getline(info, line))
        if (line.find(" " + mnt + " ") != std::string::npos) found = line;
    EXPECT_NE(found.find(" - fuse.overlayfuse overlayfuse "), std::string::npos) << found;
    EXPECT_NE(found.find(" ro,"), std::string::npos) << "not mounted read-only: " << found;
    EXPECT_NE(found.find("default_permissions"), std::string::npos) << found;
    EXPECT_NE(found.find("allow_other"), std::string::npos) << found;
    pid_t daemon = daemon_of(mnt);
    ASSERT_GT(daemon, 0);
    ASSERT_EQ(::kill(daemon, SIGTERM), 0);
    // Waiting on another process: poll its mount, for at most 10 s.
    for (int i = 0; i < 1000 && is_mount_point(mnt); ++i) ::usleep(10000);
    EXPECT_FALSE(is_mount_point(mnt)) << "the view outlived its daemon";
    if (is_mount_point(mnt)) detach_mounts_under(mnt);
}

TEST_F(MountCommand, MissingMountPointIsRefused) {
    std::string mnt = tmp_.sub("no-such-dir", false);
    expect_refused(mount(lower_, mnt), mnt);
    struct stat st;
    EXPECT_NE(::stat(mnt.c_str(), &st), 0) << "the mount point was created";
}

TEST_F(MountCommand, MountPointThatIsAFileIsRefused) {
    std::string mnt = tmp_.sub("a-file", false);
    write_file(mnt, "x");
    expect_refused(mount(lower_, mnt), mnt);
}

TEST_F(MountCommand, AlreadyMountedMountPointIsRefused) {
    std::string mnt = tmp_.sub("mnt");
    KernelOverlay first(layers_, mnt);
    expect_refused(mount(lower_, mnt), mnt, 1);
    auto points = mount_points();
    EXPECT_EQ(std::count(points.begin(), points.end(), mnt), 1) << "mounted twice";
}

TEST_F(MountCommand, MissingLowerDirectoryIsRefused) {
    std::string missing = tmp_.path() + "/no-such-layer";
    expect_refused(mount(layers_[0] + ":" + missing, tmp_.sub("mnt")), missing);
}

TEST_F(MountCommand, LowerThatIsAFileIsRefused) {
    std::string file = tmp_.sub("layer-file", false);
    write_file(file, "x");
    expect_refused(mount(file + ":" + layers_[0], tmp_.sub("mnt")), file);
}

TEST_F(MountCommand, UmountOfPlainDirectoryIsRefused) {
    std::string dir = tmp_.sub("plain");
    RunResult r = run({overlayfuse_bin(), "umount", dir});
    EXPECT_NE(r.exit_code, 0) << r.describe();
    std::string err = r.err;
    if (!err.empty() && err.back() == '\n') err.pop_back();
    EXPECT_FALSE(err.empty());
    EXPECT_EQ(err.find('\n'), std::string::npos) << r.err;
}

// Numeric -o values are checked whole: "spin=-5" once wrapped around to a spin window of 71
// minutes, and "timeout=x" ended in "mount: stod".
TEST_F(MountCommand, BadNumericOptionValuesAreRefused) {
    for (const char* o : {"spin=-5", "spin=abc", "spin=5us", "spin=2000000", "max_threads=0", "max_threads=x",
                          "timeout=-1", "timeout=nan", "timeout="}) {
        std::string name = std::string(o).substr(0, std::string(o).find('='));
        RunResult r = run({overlayfuse_bin(), "mount", "-o", o, "--lower", lower_, tmp_.sub("mnt")}, RunOptions{{}, "", 60});
        SCOPED_TRACE(o);
        expect_refused(r, "-o " + name + ": ");
        EXPECT_EQ(r.exit_code, 2) << r.describe();
    }
}

TEST_F(MountCommand, OneThreadStillServes) {
    std::string mnt = tmp_.sub("mnt");
    RunResult r = run({overlayfuse_bin(), "mount", "-o", "max_threads=1,spin=0", "--lower", lower_, mnt},
                      RunOptions{{}, "", 60});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    struct stat st;
    EXPECT_EQ(::stat(mnt.c_str(), &st), 0);
    EXPECT_FALSE(std::filesystem::directory_iterator(mnt) == std::filesystem::directory_iterator());
    RunResult u = run({overlayfuse_bin(), "umount", mnt});
    EXPECT_EQ(u.exit_code, 0) << u.describe();
}

}  // namespace
}  // namespace ovft
