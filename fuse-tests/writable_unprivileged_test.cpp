// An ordinary user (ovftest) mounts a writable view with -o userxattr over layers it can read
// and an upper it owns, and works in it. The upper must be in the format the kernel writes for
// an unprivileged overlay: whiteouts are char 0/0 devices (mknod of 0/0 is allowed to users
// since Linux 5.8), opaque directories carry user.overlay.opaque=y (never trusted.*, never
// .wh. files). The kernel overlay, mounted by root with userxattr over that upper, must show
// exactly what the user saw.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/tree_compare.hpp"
#include "writable_support.hpp"

namespace ovft::wr {
namespace {

Encoding userxattr_kernel_encoding() {
    return Encoding{"userxattr (char 0/0, user.overlay.opaque)", {WhiteoutForm::CharDev}, {OpaqueForm::UserOverlayXattr}};
}

std::string xattr(const std::string& path, const char* name) {
    char buf[256];
    ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof buf);
    return n < 0 ? "(" + errno_name(errno) + ")" : std::string(buf, static_cast<size_t>(n));
}

class WritableUnprivileged : public ::testing::Test {
protected:
    void SetUp() override {
        if (!running_as_root()) GTEST_SKIP() << "needs root to create the user, the layers and the kernel oracle";
        std::string why;
        user_ = test_user(&why);
        if (!user_) GTEST_SKIP() << why;
        struct stat st;
        if (::stat("/dev/fuse", &st) == 0 && (st.st_mode & 0006) != 0006) ::chmod("/dev/fuse", 0666);
        why = unprivileged_fuse_unavailable_reason();
        if (!why.empty()) GTEST_SKIP() << why;
    }
    std::optional<TestUser> user_;
};

TEST_F(WritableUnprivileged, UserxattrUpperIsInTheKernelsFormat) {
    TempDir t;
    t.open_for(*user_);
    LayerStack s;
    Layer& l0 = s.add_layer();
    for (const char* d : {"keep", "gone", "gone/sub", "d"}) l0.dir(d);
    l0.file("f", "f\n");
    l0.file("a", "a\n");
    l0.file("keep/k", "k\n");
    l0.file("gone/old1", "1\n");
    l0.file("gone/sub/old2", "2\n");
    l0.file("d/x", "x\n");
    l0.file("d/y", "y\n");
    Layer& l1 = s.add_layer();
    l1.dir("d");
    l1.whiteout("d/x");
    l1.opaque_dir("o");
    l1.file("o/new", "n\n");
    // The user owns the layers' entries (as in a rootless store), so it may change them.
    for (auto& layer : s.layers) {
        layer.root.uid = user_->uid;
        layer.root.gid = user_->gid;
        for (auto& [path, e] : layer.entries) {
            if (e.kind != Kind::Whiteout) e.uid = user_->uid, e.gid = user_->gid;
        }
    }
    std::string src = t.sub("src");
    auto lowers = write_stack(s, userxattr_kernel_encoding(), src);
    std::string upper = t.sub("upper"), work = t.sub("work"), mnt = t.sub("mnt");
    for (const auto& d : {upper, work, mnt}) ASSERT_EQ(::chown(d.c_str(), user_->uid, user_->gid), 0);

    std::string view_dump;
    {
        OvfRW view(lowers, upper, work, mnt, {"-o", "userxattr"}, user_);
        RunOptions ro;
        ro.as_user = user_;
        RunResult r = run({"sh", "-c",
                           "set -e; cd '" + mnt + "'; rm f; rm -rf gone; mkdir gone; echo n > gone/new; "
                           "echo more >> a; mkdir new; echo z > new/z; mv keep/k keep/k2; rm d/y; "
                           "ln -s a sym; ln a a.link; chmod 600 a; touch -d @1000000000 keep/k2; "
                           "test ! -e d/x; test -z \"$(ls gone/)\" || test \"$(ls gone)\" = new"},
                          ro);
        ASSERT_EQ(r.exit_code, 0) << r.describe();
        DumpOptions dump;
        dump.as_user = user_;
        dump.flags = {"--no-dir-nlink"};
        view_dump = treedump(mnt, dump);
    }

    // The upper's format.
    struct stat st;
    ASSERT_EQ(::lstat((upper + "/f").c_str(), &st), 0) << "no whiteout for f";
    EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) << "UPPER/f must be a char 0/0 whiteout";
    EXPECT_EQ(st.st_uid, user_->uid);
    EXPECT_EQ(::lstat((upper + "/d/y").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) << "UPPER/d/y must be a char 0/0 whiteout";
    EXPECT_EQ(xattr(upper + "/gone", "user.overlay.opaque"), "y") << "a re-created directory is opaque";
    EXPECT_EQ(xattr(upper + "/gone", "trusted.overlay.opaque"), "(ENODATA)");
    EXPECT_EQ(xattr(upper + "/new", "user.overlay.opaque"), "(ENODATA)") << "a new directory with nothing below";
    for (const auto& e : std::filesystem::recursive_directory_iterator(upper)) {
        EXPECT_NE(e.path().filename().string().rfind(".wh.", 0), 0u) << "no .wh. markers: " << e.path();
    }

    // The kernel overlay over it, mounted by root with userxattr.
    auto kl = copy_lowers(lowers, t.sub("k/lowers"));
    KernelRW k(kl, upper, t.sub("k/work"), t.sub("k/mnt"), "userxattr");
    DumpOptions dump;
    dump.as_user = user_;
    // The kernel's own readdir d_ino of a copied-up directory differs from its lstat st_ino
    // when the upper has no overlay.origin (which we do not write): a kernel-side mismatch,
    // not a difference of the trees.
    dump.flags = {"--no-dir-nlink", "--no-dino-check"};
    std::string kernel_dump = treedump(k.path(), dump);
    EXPECT_TRUE(same_tree("overlayfuse (as the user)", view_dump, "kernel overlay over that upper", kernel_dump,
                          "unprivileged userxattr upper"));
}

}  // namespace
}  // namespace ovft::wr
