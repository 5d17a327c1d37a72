// `overlayfuse mount --lower` and `overlayfuse umount` on bad input: one line on stderr, a
// non-zero exit, and nothing mounted. Plus the normal round trip, so a refusal is never the
// only thing tested.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
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

}  // namespace
}  // namespace ovft
