// ovf-treedump itself, on a plain directory: every comparison in the fuse-tests trusts its
// output, so its format and options are pinned down here.
#include <gtest/gtest.h>

#include "support/layer_model.hpp"
#include "support/tree_compare.hpp"

namespace ovft {
namespace {

class Treedump : public ::testing::Test {
protected:
    void SetUp() override {
        if (!running_as_root()) GTEST_SKIP() << "the sample tree has devices and odd owners";
        LayerStack s;
        Layer& l = s.add_layer();
        l.root.mtime = {1700000000, 42};
        Entry& f = l.file("dir/file", "abc", 04755);
        f.uid = 1234, f.gid = 65534, f.mtime = {1600000000, 5};
        f.xattrs = {{"user.b", "2"}, {"user.a", std::string("\0\xff", 2)}};
        l.hardlink("dir/link", "dir/file");
        l.symlink("sym", "target with space");
        l.chardev("null", 1, 3);
        l.file("new\nline", "");
        l.file("skip/me", "x");
        dir_ = write_stack(s, kernel_encoding(), tmp_.sub("tree", false))[0];
        dump_ = treedump(dir_);
    }
    TempDir tmp_;
    std::string dir_, dump_;
};

TEST_F(Treedump, PrintsRootLineFirst) {
    EXPECT_EQ(dump_.rfind("/ type=dir mode=0755 uid=0 gid=0 mtime=1700000000.000000042 nlink=4 ino=self\n", 0), 0u)
        << dump_;
}

TEST_F(Treedump, PrintsEveryFieldOfARegularFile) {
    EXPECT_EQ(*dump_line(dump_, "/dir/file"),
              "/dir/file type=file mode=4755 uid=1234 gid=65534 size=3 "
              "sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad "
              "mtime=1600000000.000000005 nlink=2 ino=self xattrs=user.a:00ff,user.b:32");
}

TEST_F(Treedump, LabelsHardLinksWithFirstPath) {
    EXPECT_EQ(dump_field(dump_, "/dir/link", "ino"), "/dir/file");
}

TEST_F(Treedump, EscapesNamesAndTargets) {
    EXPECT_TRUE(dump_line(dump_, "/new\\x0aline"));
    EXPECT_EQ(dump_field(dump_, "/sym", "target"), "target\\x20with\\x20space");
    EXPECT_EQ(dump_field(dump_, "/null", "rdev"), "1:3");
}

TEST_F(Treedump, OptionsDropFieldsAndPaths) {
    std::string d = treedump(dir_, {{"--no-ino", "--no-nlink", "--no-mtime", "--no-xattrs", "--no-hash",
                                      "--exclude", "/skip"},
                                     std::nullopt});
    EXPECT_EQ(*dump_line(d, "/dir/file"), "/dir/file type=file mode=4755 uid=1234 gid=65534 size=3");
    EXPECT_FALSE(dump_line(d, "/skip"));
    EXPECT_FALSE(dump_line(d, "/skip/me"));
    EXPECT_TRUE(problem_lines(d).empty());
}

}  // namespace
}  // namespace ovft
