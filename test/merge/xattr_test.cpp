// Which extended attributes the view shows.
#include "layer_fixture.hpp"
#include "overlayfuse/merge/xattr_names.hpp"

namespace ovf::test {
namespace {

class Xattrs : public LayerFixture {
protected:
    std::vector<std::string> list(const std::string& path) {
        merge::Node* n = resolve(path);
        EXPECT_NE(n, nullptr);
        ssize_t size = engine_->listxattr(*n, nullptr, 0);
        EXPECT_GE(size, 0);
        std::string buf(static_cast<size_t>(std::max<ssize_t>(size, 0)), '\0');
        EXPECT_EQ(engine_->listxattr(*n, buf.data(), buf.size()), size);
        std::vector<std::string> out;
        for (size_t p = 0; p < buf.size(); p += strlen(buf.data() + p) + 1) out.emplace_back(buf.data() + p);
        std::sort(out.begin(), out.end());
        return out;
    }
};

TEST(XattrNames, OverlayNamesAreHiddenOrUnescaped) {
    using merge::visible_xattr_name;
    EXPECT_EQ(visible_xattr_name("user.foo"), "user.foo");
    EXPECT_EQ(visible_xattr_name("security.capability"), "security.capability");
    EXPECT_EQ(visible_xattr_name("trusted.overlay.opaque"), std::nullopt);
    EXPECT_EQ(visible_xattr_name("user.overlay.origin"), std::nullopt);
    EXPECT_EQ(visible_xattr_name("user.fuseoverlayfs.opaque"), std::nullopt);
    EXPECT_EQ(visible_xattr_name("trusted.overlay.overlay.opaque"), "trusted.overlay.opaque");
    EXPECT_EQ(merge::layer_xattr_name("trusted.overlay.opaque"), "trusted.overlay.overlay.opaque");
    EXPECT_EQ(merge::layer_xattr_name("user.x"), "user.x");
}

TEST_F(Xattrs, UserXattrsVisibleOverlayOnesHidden) {
    file(0, "d/f");
    xattr(0, "d/f", "user.keep", "1");
    xattr(0, "d", "user.overlay.opaque", "y");
    engine();
    EXPECT_EQ(list("d/f"), (std::vector<std::string>{"user.keep"}));
    EXPECT_EQ(list("d"), (std::vector<std::string>{}));
    char buf[8];
    EXPECT_EQ(engine_->getxattr(*resolve("d"), "user.overlay.opaque", buf, sizeof buf), -ENODATA);
    EXPECT_EQ(engine_->getxattr(*resolve("d/f"), "user.keep", buf, sizeof buf), 1);
}

TEST_F(Xattrs, DirectoryXattrsComeFromTheTopmostCopy) {
    dir(0, "d");
    dir(1, "d");
    xattr(1, "d", "user.lower", "1");
    xattr(0, "d", "user.upper", "1");
    engine();
    EXPECT_EQ(list("d"), (std::vector<std::string>{"user.upper"}));
}

TEST_F(Xattrs, EscapedTrustedOverlayXattrIsUnescaped) {
    REQUIRE_ROOT();
    file(0, "f");
    xattr(0, "f", "trusted.overlay.overlay.opaque", "y");
    xattr(0, "f", "trusted.overlay.origin", "z");
    engine();
    EXPECT_EQ(list("f"), (std::vector<std::string>{"trusted.overlay.opaque"}));
    char buf[8];
    EXPECT_EQ(engine_->getxattr(*resolve("f"), "trusted.overlay.opaque", buf, sizeof buf), 1);
}

}  // namespace
}  // namespace ovf::test
