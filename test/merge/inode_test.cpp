// Inode numbers, link counts and node lifetimes.
#include <sys/resource.h>

#include "layer_fixture.hpp"

namespace ovf::test {
namespace {

class Inodes : public LayerFixture {};

TEST_F(Inodes, StInoIsTheTopmostCopysAndMatchesListing) {
    file(0, "a");
    file(1, "a");
    file(1, "d/f");
    engine();
    merge::Node* a = resolve("a");
    ASSERT_NE(a, nullptr);
    struct stat real;
    ASSERT_EQ(::lstat((layer(0) / "a").c_str(), &real), 0);
    EXPECT_EQ(attr(*a).st_ino, real.st_ino);
    for (const auto& e : entries(engine_->root())) {
        merge::Node* n = resolve(e.name);
        ASSERT_NE(n, nullptr);
        EXPECT_EQ(e.ino, attr(*n).st_ino) << e.name;
    }
}

TEST_F(Inodes, HardLinksShareOneNode) {
    file(0, "a", "data");
    dir(0, "sub");
    fs::create_hard_link(layer(0) / "a", layer(0) / "sub" / "b");
    engine();
    merge::Node* a = resolve("a");
    merge::Node* b = resolve("sub/b");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a, b);
    EXPECT_EQ(attr(*a).st_nlink, 2u);
}

TEST_F(Inodes, MergedDirectoryHasOneLinkSingleLayerKeepsItsOwn) {
    dir(0, "m/sub1");
    dir(1, "m/sub2");
    dir(0, "single/s1");
    dir(0, "single/s2");
    engine();
    EXPECT_EQ(attr(*resolve("m")).st_nlink, 1u);
    EXPECT_EQ(attr(*resolve("single")).st_nlink, 4u);
}

// A walk keeps a node per entry and a listing slot per name: their sizes are the daemon's
// memory per entry (docs/performance.md). Growing them should be a decision, not an accident.
static_assert(sizeof(merge::Node) <= 136, "merge::Node grew");
static_assert(sizeof(merge::DirEntry) <= 56, "merge::DirEntry grew");
static_assert(sizeof(merge::Branch) <= 24, "merge::Branch grew");

TEST_F(Inodes, ForgetFreesNodesAndRelookupWorks) {
    file(0, "d/f");
    engine();
    merge::Node* d = resolve("d");
    merge::Node* f = nullptr;
    ASSERT_EQ(engine_->lookup(*d, "f", &f), 0);
    EXPECT_EQ(engine_->node_count(), 2u);
    engine_->forget(*f, 1);
    engine_->forget(*d, 1);
    EXPECT_EQ(engine_->node_count(), 0u);
    EXPECT_TRUE(exists("d/f"));
}

TEST_F(Inodes, LookupCountsAccumulate) {
    file(0, "f");
    engine();
    merge::Node* a = resolve("f");
    merge::Node* b = resolve("f");
    EXPECT_EQ(a, b);
    engine_->forget(*a, 1);
    EXPECT_EQ(engine_->node_count(), 1u);
    engine_->forget(*a, 1);
    EXPECT_EQ(engine_->node_count(), 0u);
}

TEST_F(Inodes, LayerChangedUnderTheViewGivesEio) {
    file(0, "d/f");
    file(0, "d/g");
    engine();
    ASSERT_NE(resolve("d"), nullptr);
    ASSERT_EQ(names("d").size(), 2u);  // the listing is cached now
    fs::remove(layer(0) / "d" / "g");
    int err = 0;
    EXPECT_EQ(resolve("d/g", &err), nullptr);
    EXPECT_EQ(err, -EIO);
    merge::Node* f = resolve("d/f");
    ASSERT_NE(f, nullptr);
    fs::remove(layer(0) / "d" / "f");
    // The node's O_PATH fd still holds the unlinked inode: reading still works or fails
    // cleanly, and never crashes.
    int fd = engine_->open(*f, O_RDONLY);
    if (fd >= 0) ::close(fd);
}

TEST_F(Inodes, MissingLayerIsAClearError) {
    layer(0);
    nlayers_ = 2;  // layer 1 never created
    fs::remove_all(base_ / "l1");
    std::vector<merge::LayerSource> src{{(base_ / "l0").string(), "", nullptr},
                                        {(base_ / "l1").string(), "", nullptr}};
    try {
        merge::Engine e(std::move(src));
        FAIL() << "expected an error";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("l1"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace ovf::test

namespace ovf::test {
namespace {

// Regression: running out of descriptors (one O_PATH fd per node) was reported as EIO, as if
// the layer had changed.
TEST_F(Inodes, OutOfDescriptorsIsEmfileNotEio) {
    for (int i = 0; i < 64; ++i) file(0, "f" + std::to_string(i));
    engine();
    struct rlimit saved;
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    int probe = ::open("/dev/null", O_RDONLY);  // the lowest free descriptor
    ASSERT_GE(probe, 0);
    ::close(probe);
    struct rlimit tight{static_cast<rlim_t>(probe + 8), saved.rlim_max};
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
    int err = 0;
    for (int i = 0; i < 64 && err == 0; ++i) resolve("f" + std::to_string(i), &err);
    ::setrlimit(RLIMIT_NOFILE, &saved);
    EXPECT_EQ(err, -EMFILE);
}

}  // namespace
}  // namespace ovf::test

namespace ovf::test {
namespace {

// A directory's lower copies are opened only when first needed: looking it up opens its top
// copy alone, yet its attributes already say it merges (nlink 1), and listing it or looking
// up a child completes the stack.
TEST_F(Inodes, LowerCopiesOfADirectoryAreOpenedOnFirstUse) {
    dir(0, "m/a");
    file(1, "m/b");
    file(2, "m/c");
    engine();
    merge::Node* m = resolve("m");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->branches()->size(), 1u);
    EXPECT_TRUE(m->merged());
    EXPECT_EQ(attr(*m).st_nlink, 1u);
    EXPECT_EQ(names("m"), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(m->branches()->size(), 3u);
    EXPECT_EQ(read("m/c"), "x");
}

// Opacity of the top copy is read at lookup, so an opaque directory never merges.
TEST_F(Inodes, OpaqueTopCopyIsCompleteAtLookup) {
    dir(0, "m/a");
    xattr(0, "m", "trusted.overlay.opaque", "y");
    file(1, "m/b");
    engine();
    merge::Node* m = resolve("m");
    ASSERT_NE(m, nullptr);
    EXPECT_FALSE(m->merged());
    EXPECT_EQ(attr(*m).st_nlink, 3u);
    EXPECT_EQ(names("m"), (std::vector<std::string>{"a"}));
}

// A lower copy that disappears before the stack is completed is a layer changed under the
// mount: the listing fails with EIO, the engine does not crash, and the top copy stays.
TEST_F(Inodes, LowerCopyGoneBeforeFirstUseGivesEio) {
    dir(0, "m/a");
    file(1, "m/b");
    engine();
    merge::Node* m = resolve("m");
    ASSERT_NE(m, nullptr);
    fs::remove_all(layer(1) / "m");
    std::shared_ptr<const merge::Listing> l;
    EXPECT_EQ(engine_->listing(*m, &l), -EIO);
    struct stat st;
    EXPECT_EQ(engine_->getattr(*m, &st), 0);
}

}  // namespace
}  // namespace ovf::test
