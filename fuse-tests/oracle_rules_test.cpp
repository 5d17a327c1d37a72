// Hand-written layer stacks, one overlay rule each (the test name says which). Every case is
// compared with the kernel overlay, and the rule itself is also asserted on the view, so a
// case documents what the kernel does. Each runs once per on-disk encoding of the markers:
// the kernel's own (char 0/0, trusted.overlay.opaque; with and without xattr whiteouts) and the
// ones only overlayfuse reads (.wh. files, user.overlay.opaque, user.fuseoverlayfs.opaque).
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <string>

#include "support/oracle.hpp"
#include "support/tree_compare.hpp"

namespace ovft {
namespace {

bool has(const std::string& dump, const std::string& path) { return dump_line(dump, path).has_value(); }

class Rules : public ::testing::TestWithParam<Encoding> {
protected:
    void SetUp() override {
        if (!running_as_root()) GTEST_SKIP() << "mounting the kernel overlay needs root";
        bool kernel_reads_it = GetParam().name == "kernel" || GetParam().name == "kernel-classic";
        if (impl_under_test() == Impl::Kernel && !kernel_reads_it) {
            GTEST_SKIP() << "the kernel does not read the " << GetParam().name << " encoding";
        }
    }

    // Kernel view of the classic encoding vs the view under test of the parameter encoding.
    Comparison check(const LayerStack& stack) {
        OracleOptions o;
        o.kernel_encoding = kernel_classic_encoding();
        o.view_encoding = GetParam();
        Comparison c = compare_views(stack, o);
        EXPECT_TRUE(c.agree);
        EXPECT_EQ(problem_lines(c.view_dump), std::vector<std::string>{}) << "st_ino/d_ino or read problems";
        return c;
    }
};

TEST_P(Rules, WhiteoutHidesLowerFile) {
    LayerStack s;
    s.add_layer().file("d/a", "lower").mode = 0600;
    s.layers[0].file("d/b", "kept");
    s.add_layer().whiteout("d/a");
    auto c = check(s);
    EXPECT_FALSE(has(c.view_dump, "/d/a"));
    EXPECT_TRUE(has(c.view_dump, "/d/b"));
}

TEST_P(Rules, WhiteoutHidesLowerDirectoryTree) {
    LayerStack s;
    s.add_layer().file("d/sub/deeper/f", "x");
    s.add_layer().whiteout("d/sub");
    auto c = check(s);
    EXPECT_FALSE(has(c.view_dump, "/d/sub"));
    EXPECT_FALSE(has(c.view_dump, "/d/sub/deeper/f"));
}

// Docker layers never start with a whiteout, but a bottom-layer whiteout is still never shown:
// neither in a directory only that layer has (where the kernel's readdir lists it and lstat
// says ENOENT) nor in a merged one.
TEST_P(Rules, WhiteoutInBottomLayerIsNeverShown) {
    LayerStack s;
    Layer& bottom = s.add_layer();
    bottom.whiteout("ghost");
    bottom.whiteout("solo/ghost");
    bottom.file("solo/real", "r");
    bottom.whiteout("merged/ghost");
    s.add_layer().file("merged/top", "t");
    auto c = check(s);
    EXPECT_FALSE(has(c.view_dump, "/ghost"));
    EXPECT_FALSE(has(c.view_dump, "/solo/ghost"));
    EXPECT_FALSE(has(c.view_dump, "/merged/ghost"));
    EXPECT_TRUE(has(c.view_dump, "/solo/real"));
}

TEST_P(Rules, WhiteoutOfNameThatExistsNowhereIsInvisible) {
    LayerStack s;
    s.add_layer().file("keep", "k");
    s.add_layer().whiteout("never-existed");
    s.layers[1].whiteout("no/such/dir");
    auto c = check(s);
    EXPECT_FALSE(has(c.view_dump, "/never-existed"));
    EXPECT_TRUE(has(c.view_dump, "/no/such"));  // the parents are real directories of layer 1
    EXPECT_FALSE(has(c.view_dump, "/no/such/dir"));
}

TEST_P(Rules, OpaqueDirectoryHidesLowerContents) {
    LayerStack s;
    s.add_layer().file("d/old", "o");
    s.layers[0].file("d/sub/old2", "o");
    s.add_layer().opaque_dir("d");
    s.layers[1].file("d/new", "n");
    auto c = check(s);
    EXPECT_FALSE(has(c.view_dump, "/d/old"));
    EXPECT_FALSE(has(c.view_dump, "/d/sub"));
    EXPECT_TRUE(has(c.view_dump, "/d/new"));
}

TEST_P(Rules, EmptyOpaqueDirectoryIsEmpty) {
    LayerStack s;
    s.add_layer().file("d/old", "o");
    s.add_layer().opaque_dir("d");
    auto c = check(s);
    EXPECT_TRUE(has(c.view_dump, "/d"));
    EXPECT_FALSE(has(c.view_dump, "/d/old"));
}

// An opaque directory in a middle layer stops the merge below it, but layers above still add
// to it.
TEST_P(Rules, OpaqueDirectoryInMiddleLayerStillMergesWithLayersAbove) {
    LayerStack s;
    s.add_layer().file("d/bottom", "b");
    s.add_layer().opaque_dir("d");
    s.layers[1].file("d/middle", "m");
    s.add_layer().file("d/top", "t");
    auto c = check(s);
    EXPECT_FALSE(has(c.view_dump, "/d/bottom"));
    EXPECT_TRUE(has(c.view_dump, "/d/middle"));
    EXPECT_TRUE(has(c.view_dump, "/d/top"));
}

TEST_P(Rules, DirectoryReplacedByFileHidesWholeLowerTree) {
    LayerStack s;
    s.add_layer().file("x/inner", "i");
    s.add_layer().file("x", "now a file");
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/x", "type"), "file");
    EXPECT_FALSE(has(c.view_dump, "/x/inner"));
}

TEST_P(Rules, FileReplacedByDirectoryShowsOnlyUpperDirectory) {
    LayerStack s;
    s.add_layer().file("x", "a file");
    s.add_layer().file("x/inner", "i");
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/x", "type"), "dir");
    EXPECT_TRUE(has(c.view_dump, "/x/inner"));
}

TEST_P(Rules, SymlinkReplacedByDirectoryAndBack) {
    LayerStack s;
    s.add_layer().symlink("s", "target");
    s.layers[0].file("t/inner", "i");
    s.add_layer().file("s/inner", "i");  // symlink -> dir
    s.layers[1].symlink("t", "/elsewhere");  // dir -> symlink
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/s", "type"), "dir");
    EXPECT_EQ(dump_field(c.view_dump, "/t", "type"), "symlink");
    EXPECT_FALSE(has(c.view_dump, "/t/inner"));
}

// A directory re-created by a later layer over a whiteout that sits in a *lower* layer carries
// no opaque marker; the merge must still stop at that whiteout.
TEST_P(Rules, DirectoryRecreatedAboveLowerWhiteoutDoesNotMergeBelowIt) {
    LayerStack s;
    s.add_layer().file("d/from-layer0", "0");
    s.add_layer().whiteout("d");
    s.add_layer().file("d/from-layer2", "2");
    auto c = check(s);
    EXPECT_FALSE(has(c.view_dump, "/d/from-layer0"));
    EXPECT_TRUE(has(c.view_dump, "/d/from-layer2"));
}

TEST_P(Rules, DirectoryAboveLowerFileDoesNotMergeBelowIt) {
    LayerStack s;
    s.add_layer().file("d/from-layer0", "0");
    s.add_layer().file("d", "a file in between");
    s.add_layer().file("d/from-layer2", "2");
    auto c = check(s);
    EXPECT_FALSE(has(c.view_dump, "/d/from-layer0"));
    EXPECT_TRUE(has(c.view_dump, "/d/from-layer2"));
}

TEST_P(Rules, MergedDirectoryTakesMetadataFromTopmostCopy) {
    LayerStack s;
    Entry& low = s.add_layer().dir("d", 0700);
    low.uid = 1234, low.gid = 1234, low.mtime = {1111111111, 123};
    low.xattrs = {{"user.low", "1"}};
    s.layers[0].file("d/lowfile", "l");
    Entry& high = s.add_layer().dir("d", 02775);
    high.uid = 65534, high.gid = 0, high.mtime = {1222222222, 456789};
    high.xattrs = {{"user.high", std::string("\0\1\2", 3)}};
    s.layers[1].file("d/highfile", "h");
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/d", "mode"), "2775");
    EXPECT_EQ(dump_field(c.view_dump, "/d", "uid"), "65534");
    EXPECT_EQ(dump_field(c.view_dump, "/d", "mtime"), "1222222222.000456789");
    EXPECT_EQ(dump_field(c.view_dump, "/d", "xattrs"), "user.high:000102");
    EXPECT_TRUE(has(c.view_dump, "/d/lowfile"));
}

TEST_P(Rules, RootDirectoryAttributesComeFromTopLayer) {
    LayerStack s;
    s.add_layer().root = Entry(Kind::Dir, 0700);
    s.layers[0].root.uid = 1234;
    s.layers[0].file("f", "x");
    s.add_layer().root = Entry(Kind::Dir, 0751);
    s.layers[1].root.mtime = {1234567890, 5};
    s.layers[1].root.xattrs = {{"user.root", "r"}};
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/", "mode"), "0751");
    EXPECT_EQ(dump_field(c.view_dump, "/", "uid"), "0");
}

TEST_P(Rules, HardLinksInOneLayerShareInodeAndLinkCount) {
    LayerStack s;
    Layer& l = s.add_layer();
    l.file("bin/busybox", "applet", 0755);
    l.hardlink("bin/ls", "bin/busybox");
    l.hardlink("sbin/init", "bin/busybox");
    s.add_layer().file("other", "o");
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/bin/busybox", "nlink"), "3");
    EXPECT_EQ(dump_field(c.view_dump, "/bin/ls", "ino"), "/bin/busybox");
    EXPECT_EQ(dump_field(c.view_dump, "/sbin/init", "ino"), "/bin/busybox");
}

// The kernel reports the lower inode's own link count, which still counts the name that a
// higher layer deleted.
TEST_P(Rules, HardLinkWithOneNameWhitedOutKeepsLowerLinkCount) {
    LayerStack s;
    s.add_layer().file("a", "shared");
    s.layers[0].hardlink("b", "a");
    s.add_layer().whiteout("b");
    auto c = check(s);
    EXPECT_FALSE(has(c.view_dump, "/b"));
    EXPECT_EQ(dump_field(c.view_dump, "/a", "nlink"), "2");
}

TEST_P(Rules, CopyInUpperLayerSplitsHardLinkGroup) {
    LayerStack s;
    s.add_layer().file("a", "shared");
    s.layers[0].hardlink("b", "a");
    s.layers[0].hardlink("c", "a");
    s.add_layer().file("b", "modified copy", 0600);
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/b", "ino"), "self");
    EXPECT_EQ(dump_field(c.view_dump, "/b", "nlink"), "1");
    EXPECT_EQ(dump_field(c.view_dump, "/c", "ino"), "/a");
}

TEST_P(Rules, SpecialFilesKeepTheirTypes) {
    LayerStack s;
    Layer& l = s.add_layer();
    l.fifo("dev/fifo", 0620);
    l.chardev("dev/null", 1, 3, 0666);
    l.chardev("dev/zero-one", 0, 1);  // char 0/1: not a whiteout
    l.blockdev("dev/loop0", 7, 0, 0660);
    l.blockdev("dev/blk00", 0, 0);    // block 0/0: not a whiteout either
    l.symlink("dev/stdin", "/proc/self/fd/0");
    s.add_layer().fifo("dev/fifo2");
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/dev/fifo", "type"), "fifo");
    EXPECT_EQ(dump_field(c.view_dump, "/dev/null", "rdev"), "1:3");
    EXPECT_EQ(dump_field(c.view_dump, "/dev/zero-one", "type"), "chr");
    EXPECT_EQ(dump_field(c.view_dump, "/dev/blk00", "type"), "blk");
    EXPECT_EQ(dump_field(c.view_dump, "/dev/stdin", "target"), "/proc/self/fd/0");
}

TEST_P(Rules, OddModesAndOwnersPassThrough) {
    LayerStack s;
    Layer& l = s.add_layer();
    int i = 0;
    for (mode_t m : {04755, 02755, 06755, 01777, 0000, 0777, 04000, 0444}) {
        Entry& f = l.file("f" + std::to_string(i++), "x", m);
        f.uid = 1234;
        f.gid = 65534;
    }
    Entry& big = l.file("biguid", "x");
    big.uid = big.gid = 4294967294u;
    l.dir("sticky", 01777);
    l.dir("closed", 0000);
    l.file("closed/inside", "hidden by mode, not by overlay");
    s.add_layer().file("top", "t");
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/f0", "mode"), "4755");
    EXPECT_EQ(dump_field(c.view_dump, "/biguid", "uid"), "4294967294");
    EXPECT_EQ(dump_field(c.view_dump, "/sticky", "mode"), "1777");
}

TEST_P(Rules, XattrsPassThroughWithBinaryValues) {
    LayerStack s;
    Layer& l = s.add_layer();
    Entry& f = l.file("f", "x");
    f.xattrs = {{"user.bin", std::string("\0\xff\n,=:", 6)}, {"user.empty", ""}};
    Entry& cap = l.file("ping", "x", 0755);
    // VFS_CAP_REVISION_2 with CAP_NET_RAW (13) permitted and effective.
    uint32_t words[5] = {0x02000001u, 1u << 13, 0, 0, 0};
    cap.xattrs = {{"security.capability", std::string(reinterpret_cast<char*>(words), sizeof words)}};
    l.dir("d").xattrs = {{"user.dir", "d"}};
    s.add_layer().file("g", "y").xattrs = {{"user.top", "t"}};
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/f", "xattrs"), "user.bin:00ff0a2c3d3a,user.empty:");
    EXPECT_NE(dump_field(c.view_dump, "/ping", "xattrs").find("security.capability:"), std::string::npos);
}

TEST_P(Rules, LongNonAsciiAndOddNamesPassThrough) {
    LayerStack s;
    Layer& l = s.add_layer();
    std::string longest(255, 'n');
    l.file(longest, "255 bytes");
    l.file("d/\xc3\xbcml\xc3\xa4ut", "utf-8");
    l.file("d/bad-\xff\xfe", "not utf-8");
    l.file("d/new\nline", "newline");
    l.file("d/sp ace,comma:colon=eq\\bs", "separators");
    l.file("d/.wh", "not a marker");
    l.file("d/..wh.x", "not a marker either");
    Layer& top = s.add_layer();
    top.whiteout("d/new\nline");
    top.file(longest.substr(0, 254) + "m", "254+1");
    auto c = check(s);
    EXPECT_TRUE(has(c.view_dump, "/" + longest));
    EXPECT_TRUE(has(c.view_dump, "/d/.wh"));
    EXPECT_TRUE(has(c.view_dump, "/d/..wh.x"));
    EXPECT_FALSE(has(c.view_dump, "/d/new\\x0aline"));
}

// Paths much longer than PATH_MAX: 40 levels of 200-byte names, changed in an upper layer.
TEST_P(Rules, PathsBeyondPathMaxMerge) {
    LayerStack s;
    std::string path;
    for (int i = 0; i < 40; ++i) path += (i ? "/" : "") + std::string(200, static_cast<char>('a' + i % 26));
    s.add_layer().file(path + "/low", "low");
    s.layers[0].file(path + "/gone", "gone");
    Layer& top = s.add_layer();
    top.file(path + "/high", "high");
    top.whiteout(path + "/gone");
    auto c = check(s);
    EXPECT_TRUE(has(c.view_dump, "/" + path + "/low"));
    EXPECT_FALSE(has(c.view_dump, "/" + path + "/gone"));
}

TEST_P(Rules, LargeAndEmptyFilesHashTheSame) {
    LayerStack s;
    std::string big(3 * 1024 * 1024 + 17, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
    s.add_layer().file("big", big);
    s.layers[0].file("empty", "");
    s.add_layer().file("mib-plus-one", std::string(1024 * 1024 + 1, 'z'));
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/big", "size"), std::to_string(big.size()));
    EXPECT_EQ(dump_field(c.view_dump, "/empty", "size"), "0");
}

TEST_P(Rules, SymlinkTargetsAreVerbatim) {
    LayerStack s;
    Layer& l = s.add_layer();
    l.symlink("rel", "../up/and/over");
    l.symlink("abs", "/usr/bin/env");
    l.symlink("dangling", "does/not/exist");
    l.symlink("self", "self");
    l.symlink("long", std::string(1000, 'x'));
    s.add_layer().symlink("top", "\xc3\xbc target with space");
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/abs", "target"), "/usr/bin/env");
    EXPECT_EQ(dump_field(c.view_dump, "/long", "size"), "1000");
}

// 130 layers, each adding a file, deleting the previous layer's file, and every tenth making a
// directory opaque: the option string of this mount is far over one page.
TEST_P(Rules, HundredThirtyLayersEachChangingSomething) {
    LayerStack s;
    for (int i = 0; i < 130; ++i) {
        Layer& l = s.add_layer();
        l.file("files/f" + std::to_string(i), std::to_string(i));
        if (i > 0) l.whiteout("files/f" + std::to_string(i - 1));
        if (i % 10 == 0) l.opaque_dir("opaque");
        l.file("opaque/o" + std::to_string(i), "o");
    }
    auto c = check(s);
    EXPECT_TRUE(has(c.view_dump, "/files/f129"));
    EXPECT_FALSE(has(c.view_dump, "/files/f128"));
    EXPECT_TRUE(has(c.view_dump, "/opaque/o120"));
    EXPECT_FALSE(has(c.view_dump, "/opaque/o119"));
}

TEST_P(Rules, BigDirectorySpreadOverLayers) {
    LayerStack s;
    for (int layer = 0; layer < 3; ++layer) {
        Layer& l = s.add_layer();
        for (int i = layer; i < 3000; i += 3) l.file("big/n" + std::to_string(i), "");
        for (int i = 0; i < layer * 100; ++i) l.whiteout("big/n" + std::to_string(i * 3));
    }
    auto c = check(s);
    EXPECT_FALSE(has(c.view_dump, "/big/n0"));
    EXPECT_TRUE(has(c.view_dump, "/big/n1"));
}

// Past 4,096 entries the daemon sends the rest of a listing as names only (the kernel looks
// them up when asked; see op_readdir.cpp): types, whiteouts and merged subdirectories of the
// later entries must come out the same.
TEST_P(Rules, HugeDirectoryListedPartlyByNameOnly) {
    LayerStack s;
    for (int layer = 0; layer < 3; ++layer) {
        Layer& l = s.add_layer();
        for (int i = layer; i < 6000; i += 3) l.file("huge/n" + std::to_string(i), std::to_string(i));
        for (int i = 0; i < layer * 300; ++i) l.whiteout("huge/n" + std::to_string(i * 3 + 1));
        l.file("huge/zz-dir/from" + std::to_string(layer), "d");
        l.symlink("huge/zz-link" + std::to_string(layer), "n" + std::to_string(layer));
    }
    s.layers[2].opaque_dir("huge/zz-opaque");
    s.layers[1].file("huge/zz-opaque/hidden", "h");
    s.layers[2].file("huge/zz-opaque/shown", "s");
    auto c = check(s);
    EXPECT_FALSE(has(c.view_dump, "/huge/n1"));
    EXPECT_TRUE(has(c.view_dump, "/huge/n5999"));
    EXPECT_TRUE(has(c.view_dump, "/huge/zz-dir/from0"));
    EXPECT_FALSE(has(c.view_dump, "/huge/zz-opaque/hidden"));
}

// An opaque marker where there is nothing below to hide (bottom layer, or a directory only one
// layer has) changes nothing, and the marker itself is still never shown.
TEST_P(Rules, OpaqueMarkerWithNothingBelowIsHiddenAndHarmless) {
    LayerStack s;
    s.add_layer().opaque_dir("bottom-opaque");
    s.layers[0].file("bottom-opaque/f", "f");
    s.add_layer().opaque_dir("top-only");
    s.layers[1].file("top-only/g", "g");
    auto c = check(s);
    EXPECT_TRUE(has(c.view_dump, "/bottom-opaque/f"));
    EXPECT_TRUE(has(c.view_dump, "/top-only/g"));
    EXPECT_EQ(c.view_dump.find(".wh."), std::string::npos);
}

// `rm -rf d; mkdir d; touch d/x; rm d/x` can leave whiteouts inside an opaque directory.
TEST_P(Rules, WhiteoutsInsideOpaqueDirectory) {
    LayerStack s;
    s.add_layer().file("d/x", "x");
    s.layers[0].file("d/y", "y");
    s.add_layer().opaque_dir("d");
    s.layers[1].whiteout("d/x");
    s.layers[1].file("d/z", "z");
    auto c = check(s);
    EXPECT_FALSE(has(c.view_dump, "/d/x"));
    EXPECT_FALSE(has(c.view_dump, "/d/y"));
    EXPECT_TRUE(has(c.view_dump, "/d/z"));
}

TEST_P(Rules, TimesBefore1970AndFarFuturePassThrough) {
    LayerStack s;
    s.add_layer().file("old", "o").mtime = {-1000000, 5};
    s.layers[0].file("future", "f").mtime = {8000000000LL, 999999999};
    s.add_layer().dir("d").mtime = {0, 1};
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/future", "mtime"), "8000000000.999999999");
}

TEST_P(Rules, LongestSymlinkTargetAndBigXattrValue) {
    LayerStack s;
    s.add_layer().symlink("long", std::string(4095, 'y'));
    s.layers[0].file("f", "x").xattrs = {{"user.big", std::string(3000, '\x7f')}};
    s.add_layer().file("g", "y");
    auto c = check(s);
    EXPECT_EQ(dump_field(c.view_dump, "/long", "size"), "4095");
}

// The kernel cannot mount a single lower layer ("at least 2 lowerdir are needed"); the oracle
// for one layer without markers is the layer directory itself.
TEST(SingleLayer, ViewEqualsTheLayerDirectoryItself) {
    if (!running_as_root()) GTEST_SKIP() << "the sample has devices and odd owners";
    if (impl_under_test() == Impl::Kernel) GTEST_SKIP() << "the kernel needs two layers";
    LayerStack s;
    Layer& l = s.add_layer();
    l.file("etc/passwd", "root:x:0:0\n", 0644);
    l.file("bin/busybox", "bb", 04755).xattrs = {{"user.x", "1"}};
    l.hardlink("bin/sh", "bin/busybox");
    l.symlink("bin/ls", "busybox");
    l.fifo("run/fifo");
    l.chardev("dev/null", 1, 3, 0666);
    l.dir("tmp", 01777);
    TempDir tmp;
    auto layers = write_stack(s, kernel_encoding(), tmp.sub("layers", false));
    std::string expected = treedump(layers[0]);
    auto view = mount_under_test(layers, tmp.sub("mnt"));
    EXPECT_TRUE(same_tree("layer dir", expected, view->what(), treedump(view->path()), "single layer"));
}

// Kernel >= 6.7 also reads xattr whiteouts: a zero-size file with overlay.whiteout whose
// parent carries overlay.opaque=x ("has xattr whiteouts", not opaque).
class XattrWhiteouts : public ::testing::Test {
protected:
    void SetUp() override {
        if (!running_as_root()) GTEST_SKIP() << "mounting the kernel overlay needs root";
        struct utsname u;
        ::uname(&u);
        int major = 0, minor = 0;
        std::sscanf(u.release, "%d.%d", &major, &minor);
        if (major < 6 || (major == 6 && minor < 7)) GTEST_SKIP() << "kernel " << u.release << " < 6.7";
    }
};

Encoding xattr_whiteouts_only() { return {"xattr-whiteouts", {WhiteoutForm::TrustedXattr}, {OpaqueForm::TrustedXattr}}; }

TEST_F(XattrWhiteouts, HideLowerEntriesInEveryLayerPosition) {
    LayerStack s;
    s.add_layer().file("d/a", "a");
    s.layers[0].file("d/b", "b");
    s.layers[0].file("d/c", "c");
    s.layers[0].whiteout("bottom-ghost");  // in the bottom layer
    s.add_layer().whiteout("d/a");         // middle layer
    s.add_layer().whiteout("d/b");         // top layer
    s.layers[2].whiteout("rootlevel");     // parent is the layer root
    OracleOptions o;
    o.kernel_encoding = o.view_encoding = xattr_whiteouts_only();
    auto c = compare_views(s, o);
    EXPECT_TRUE(c.agree);
    EXPECT_FALSE(has(c.view_dump, "/d/a"));
    EXPECT_FALSE(has(c.view_dump, "/d/b"));
    EXPECT_TRUE(has(c.view_dump, "/d/c"));
    EXPECT_FALSE(has(c.view_dump, "/bottom-ghost"));
}

// Observed on 6.18: lookup treats a zero-size file carrying trusted.overlay.whiteout as a
// whiteout even when its parent has no overlay.opaque=x (readdir lists the name, lstat says
// ENOENT). SEMANTICS.md says such a file only counts under opaque=x; this case pins down what
// the kernel does so that any difference is visible.
TEST_F(XattrWhiteouts, KernelHidesWhiteoutXattrFileEvenWithoutOpaqueXParent) {
    LayerStack s;
    s.add_layer().file("d/a", "a");
    Entry& marker = s.add_layer().file("d/a", "");
    marker.xattrs = {{"trusted.overlay.whiteout", ""}};
    OracleOptions o;
    o.kernel_encoding = o.view_encoding = kernel_classic_encoding();
    auto c = compare_views(s, o);
    EXPECT_TRUE(c.agree);
    EXPECT_FALSE(has(c.kernel_dump, "/d/a")) << "the kernel shows it: this kernel follows SEMANTICS.md";
}

// The rootless form: user.overlay.whiteout under user.overlay.opaque=x, user.overlay.opaque=y,
// read by the kernel with -o userxattr and by the view with -o userxattr.
TEST_F(XattrWhiteouts, UserxattrFormsUnderUserxattrOption) {
    LayerStack s;
    s.add_layer().file("d/a", "a");
    s.layers[0].file("d/b", "b");
    s.layers[0].file("o/old", "o");
    s.add_layer().whiteout("d/a");
    s.layers[1].opaque_dir("o");
    s.layers[1].file("o/new", "n");
    s.add_layer().whiteout("d/b");
    OracleOptions o;
    o.kernel_encoding = o.view_encoding = {"userxattr-kernel", {WhiteoutForm::UserXattr, WhiteoutForm::CharDev},
                                           {OpaqueForm::UserOverlayXattr}};
    o.kernel_flags = {"userxattr"};
    o.view.fuse_options = {"userxattr"};
    auto c = compare_views(s, o);
    EXPECT_TRUE(c.agree);
    EXPECT_FALSE(has(c.view_dump, "/d/a"));
    EXPECT_FALSE(has(c.view_dump, "/o/old"));
    EXPECT_TRUE(has(c.view_dump, "/o/new"));
}

INSTANTIATE_TEST_SUITE_P(Encodings, Rules,
                         ::testing::Values(kernel_classic_encoding(), kernel_encoding(), aufs_encoding(),
                                           user_xattr_encoding(), mixed_encoding()),
                         [](const auto& info) {
                             std::string n = info.param.name;
                             for (auto& ch : n) {
                                 if (ch == '-') ch = '_';
                             }
                             return n;
                         });

}  // namespace
}  // namespace ovft
