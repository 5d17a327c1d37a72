// The lookup and listing rules of overlayfs (docs/semantics.md), on plain directories.
#include "layer_fixture.hpp"

namespace ovf::test {
namespace {

using Names = std::vector<std::string>;

class MergeRules : public LayerFixture {};

TEST_F(MergeRules, TopmostCopyWins) {
    file(0, "a", "top");
    file(1, "a", "bottom");
    file(1, "b", "only-bottom");
    engine();
    EXPECT_EQ(read("a"), "top");
    EXPECT_EQ(read("b"), "only-bottom");
    EXPECT_EQ(names(""), (Names{"a", "b"}));
}

TEST_F(MergeRules, DirectoriesMergeAcrossLayers) {
    file(0, "d/x");
    file(1, "d/y");
    file(2, "d/z");
    engine();
    EXPECT_EQ(names("d"), (Names{"x", "y", "z"}));
}

TEST_F(MergeRules, DeviceWhiteoutHidesLowerAndItself) {
    REQUIRE_ROOT();
    whiteout(0, "gone");
    file(1, "gone");
    whiteout(0, "d/also-gone");
    file(1, "d/also-gone");
    file(1, "d/kept");
    engine();
    int err = 0;
    EXPECT_EQ(resolve("gone", &err), nullptr);
    EXPECT_EQ(err, -ENOENT);
    EXPECT_EQ(names("d"), (Names{"kept"}));
}

TEST_F(MergeRules, WhiteoutInBottomLayerIsNeverVisible) {
    REQUIRE_ROOT();
    whiteout(0, "only/wh");  // a directory that exists in one layer only
    file(0, "only/f");
    whiteout(1, "bottom-wh");
    engine();
    EXPECT_EQ(names("only"), (Names{"f"}));
    EXPECT_FALSE(exists("bottom-wh"));
    EXPECT_FALSE(exists("only/wh"));
}

TEST_F(MergeRules, AufsWhiteoutFileHidesLowerLayersOnly) {
    file(0, ".wh.a", "");
    file(1, "a");
    file(0, ".wh.same", "");
    file(0, "same", "own");  // its own layer's copy stays
    file(1, "same", "lower");
    engine();
    EXPECT_FALSE(exists("a"));
    EXPECT_FALSE(exists(".wh.a"));
    EXPECT_EQ(read("same"), "own");
    EXPECT_EQ(names(""), (Names{"same"}));
}

TEST_F(MergeRules, AufsWhiteoutStopsDirectoryMerge) {
    file(0, "d/top");
    file(1, ".wh.d", "");
    file(2, "d/hidden");
    engine();
    EXPECT_EQ(names("d"), (Names{"top"}));
}

TEST_F(MergeRules, AufsMarkersIgnoredWhenDisabled) {
    file(0, ".wh.a", "");
    file(1, "a");
    merge::MarkerFormats f;
    f.aufs_files = false;
    engine(f);
    EXPECT_TRUE(exists("a"));
    EXPECT_TRUE(exists(".wh.a"));
}

TEST_F(MergeRules, OpaqueFileMarkerHidesLowerDirectory) {
    file(0, "d/.wh..wh..opq", "");
    file(0, "d/new");
    file(1, "d/old");
    engine();
    EXPECT_EQ(names("d"), (Names{"new"}));
}

TEST_F(MergeRules, OpaqueTrustedXattr) {
    REQUIRE_ROOT();
    file(0, "d/new");
    xattr(0, "d", "trusted.overlay.opaque", "y");
    file(1, "d/old");
    engine();
    EXPECT_EQ(names("d"), (Names{"new"}));
}

TEST_F(MergeRules, OpaqueUserXattrs) {
    file(0, "a/new");
    xattr(0, "a", "user.overlay.opaque", "y");
    file(1, "a/old");
    file(0, "b/new");
    xattr(0, "b", "user.fuseoverlayfs.opaque", "y");
    file(1, "b/old");
    engine();
    EXPECT_EQ(names("a"), (Names{"new"}));
    EXPECT_EQ(names("b"), (Names{"new"}));
}

TEST_F(MergeRules, OpaqueValueOtherThanYIsNotOpaque) {
    file(0, "d/new");
    xattr(0, "d", "user.overlay.opaque", "n");
    file(1, "d/old");
    engine();
    EXPECT_EQ(names("d"), (Names{"new", "old"}));
}

TEST_F(MergeRules, OpaqueMiddleLayerCutsOffLayersBelow) {
    file(0, "d/a");
    file(1, "d/b");
    xattr(1, "d", "user.overlay.opaque", "y");
    file(2, "d/c");
    engine();
    EXPECT_EQ(names("d"), (Names{"a", "b"}));
}

TEST_F(MergeRules, TrustedOpaqueIgnoredWithoutTrustedFormat) {
    REQUIRE_ROOT();
    file(0, "d/new");
    xattr(0, "d", "trusted.overlay.opaque", "y");
    file(1, "d/old");
    merge::MarkerFormats f;
    f.trusted_xattrs = false;
    engine(f);
    EXPECT_EQ(names("d"), (Names{"new", "old"}));
}

TEST_F(MergeRules, ExternalMarkersMakeOpaqueAndWhiteouts) {
    file(0, "d/new");
    file(0, "e/kept");
    file(1, "d/old");
    file(1, "e/deleted");
    auto m = std::make_shared<LayerMarkers>();
    m->opaque_dirs.insert("d");
    m->whiteouts.insert("e/deleted");  // no char 0/0 left in the layer: the marker alone counts
    engine({}, {m, nullptr});
    EXPECT_EQ(names("d"), (Names{"new"}));
    EXPECT_EQ(names("e"), (Names{"kept"}));
    EXPECT_FALSE(exists("e/deleted"));
}

TEST_F(MergeRules, MergeStopsAtWhiteoutBelowNonOpaqueDirectory) {
    REQUIRE_ROOT();
    file(0, "d/recreated");  // re-created in a later layer, without an opaque marker
    whiteout(1, "d");
    file(2, "d/old");
    engine();
    EXPECT_EQ(names("d"), (Names{"recreated"}));
}

TEST_F(MergeRules, MergeStopsAtNonDirectory) {
    file(0, "d/top");
    file(1, "d", "a file");
    file(2, "d/old");
    engine();
    EXPECT_EQ(names("d"), (Names{"top"}));
}

TEST_F(MergeRules, FileReplacesDirectoryAndBack) {
    file(0, "was-dir", "now a file");
    file(1, "was-dir/child");
    file(0, "was-file/child");
    file(1, "was-file", "old");
    symlink(0, "was-link/x", "t");  // creates was-link as a dir holding a symlink
    symlink(1, "was-link", "/etc");
    engine();
    EXPECT_EQ(read("was-dir"), "now a file");
    EXPECT_FALSE(exists("was-dir/child"));
    EXPECT_EQ(names("was-file"), (Names{"child"}));
    EXPECT_EQ(names("was-link"), (Names{"x"}));
}

TEST_F(MergeRules, RootOpacityIsIgnored) {
    file(0, "top");
    file(1, "bottom");
    xattr(0, "", "user.overlay.opaque", "y");
    file(0, ".wh..wh..opq", "");
    engine();
    EXPECT_EQ(names(""), (Names{"bottom", "top"}));
}

TEST_F(MergeRules, XattrWhiteoutsInsideOpaqueXDirectory) {
    REQUIRE_ROOT();
    file(0, "d/xw", "");
    xattr(0, "d/xw", "trusted.overlay.whiteout", "");
    xattr(0, "d", "trusted.overlay.opaque", "x");
    file(0, "d/kept-empty", "");
    file(1, "d/xw");
    file(1, "d/lower");
    engine();
    EXPECT_EQ(names("d"), (Names{"kept-empty", "lower"}));
}

// Observed on Linux 6.18: lookup honours the xattr whiteout even without opaque=x on the
// parent, while readdir still lists the name, before and after a lookup, and rmdir counts
// it (ENOTEMPTY; fuse-tests' WritableRegression.UnmarkedXattrWhiteoutKeepsItsDirectoryNonEmpty).
TEST_F(MergeRules, XattrWhiteoutHidesOnLookupWithoutOpaqueX) {
    REQUIRE_ROOT();
    file(0, "d/xw", "");
    xattr(0, "d/xw", "trusted.overlay.whiteout", "");
    file(1, "d/xw", "lower");
    file(0, "d/empty", "");
    engine();
    int err = 0;
    EXPECT_EQ(resolve("d/xw", &err), nullptr);
    EXPECT_EQ(err, -ENOENT);
    EXPECT_EQ(names("d"), (Names{"empty", "xw"}));
    EXPECT_EQ(read("d/empty"), "");
}

}  // namespace
}  // namespace ovf::test
