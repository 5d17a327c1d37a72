// An ordinary user mounts plain layer directories with `-o userxattr` (layers that carry only
// markers a user can read: char 0/0 and .wh. whiteouts, user.overlay.opaque and .wh..wh..opq)
// and sees what root sees through the kernel overlay of the kernel encoding, both dumped as
// that user. Without -o userxattr the user must be refused, since trusted.* markers would be
// invisible and opaque directories would merge wrongly in silence.
#include <gtest/gtest.h>
#include <unistd.h>

#include "support/layer_generator.hpp"
#include "support/oracle.hpp"
#include "support/tree_compare.hpp"

namespace ovft {
namespace {

class Unprivileged : public ::testing::Test {
protected:
    void SetUp() override {
        if (!running_as_root()) GTEST_SKIP() << "needs root to create the layers, the user and the kernel oracle";
        if (impl_under_test() == Impl::Kernel) GTEST_SKIP() << "a user cannot mount the kernel overlay";
        std::string why;
        user_ = test_user(&why);
        if (!user_) GTEST_SKIP() << why;
        why = unprivileged_fuse_unavailable_reason();
        if (!why.empty()) GTEST_SKIP() << why;
    }

    OracleOptions user_view() const {
        OracleOptions o;
        o.view_encoding = unprivileged_encoding();
        o.view.fuse_options = {"userxattr"};
        o.view.as_user = user_;
        return o;
    }

    std::optional<TestUser> user_;
};

// Generated stacks. Modes stay ordinary: a user's daemon cannot read a lower directory that
// is closed to it, while the kernel reads layers with the mounter's (root's) rights, so odd
// directory modes would test permissions rather than merging.
TEST_F(Unprivileged, UserxattrViewMatchesKernelViewOfRandomStacks) {
    GeneratorParams p;
    p.odd_modes = false;
    for (uint64_t seed = 5000; seed < 5012; ++seed) {
        EXPECT_TRUE(views_agree(generate_stack(seed, p), user_view())) << "reproduce with seed " << seed;
    }
}

TEST_F(Unprivileged, OpaqueDirectoriesAndWhiteoutsAreHonoured) {
    LayerStack s;
    s.add_layer().file("d/old", "o");
    s.layers[0].file("w/gone", "g");
    s.layers[0].file("w/kept", "k");
    s.add_layer().opaque_dir("d");
    s.layers[1].file("d/new", "n");
    s.layers[1].whiteout("w/gone");
    auto c = compare_views(s, user_view());
    EXPECT_TRUE(c.agree);
    EXPECT_FALSE(dump_line(c.view_dump, "/d/old"));
    EXPECT_FALSE(dump_line(c.view_dump, "/w/gone"));
    EXPECT_TRUE(dump_line(c.view_dump, "/w/kept"));
    EXPECT_EQ(c.view_dump.find("user.overlay."), std::string::npos);
}

// Mounted by root, the view is open to other users (allow_other) and checks permissions like
// the kernel overlay does (default_permissions): the user's dumps of both must agree, including
// which files and directories it may not read.
TEST_F(Unprivileged, RootMountedViewChecksPermissionsForOtherUsers) {
    for (uint64_t seed = 6100; seed < 6104; ++seed) {
        OracleOptions o;
        o.dump_as = user_;
        EXPECT_TRUE(views_agree(generate_stack(seed), o)) << "reproduce with seed " << seed;
    }
}

TEST_F(Unprivileged, MountWithoutUserxattrIsRefusedWithReason) {
    if (impl_under_test() != Impl::Overlayfuse) GTEST_SKIP() << "overlayfuse's own rule";
    LayerStack s;
    s.add_layer().file("a", "a");
    s.add_layer().opaque_dir("d");
    TempDir tmp;
    tmp.open_for(*user_);
    auto layers = write_stack(s, unprivileged_encoding(), tmp.sub("layers", false));
    std::string mnt = tmp.sub("mnt");
    ASSERT_EQ(::chown(mnt.c_str(), user_->uid, user_->gid), 0);
    RunOptions ro;
    ro.as_user = user_;
    ro.timeout_seconds = 60;
    RunResult r = run({overlayfuse_bin(), "mount", "--lower", layers[0] + ":" + layers[1], mnt}, ro);
    EXPECT_NE(r.exit_code, 0) << r.describe();
    EXPECT_NE(r.err.find("userxattr"), std::string::npos) << "the refusal should say to use -o userxattr: " << r.err;
    EXPECT_FALSE(is_mount_point(mnt));
    if (is_mount_point(mnt)) detach_mounts_under(mnt);
}

}  // namespace
}  // namespace ovft
