// Resolving references on a fixture store built by StoreBuilder, every form Docker accepts.
#include <gtest/gtest.h>

#include <map>

#include "overlayfuse/store/docker_store.hpp"
#include "overlayfuse/store/store_builder.hpp"
#include "store_fixture.hpp"

namespace ovf::store {
namespace {

using testing::expect_user_error;
using testing::FixtureLayers;
using testing::TempDir;
namespace fs = std::filesystem;

const std::string kManifestDigest =
    "sha256:ca5c0a6d4b2cbd8ef4fa6c0f1ae9e8b4b0c5e7a7d5b1f1a6e9c3d2b4a5f6e7d8";

class StoreResolve : public ::testing::Test {
protected:
    void SetUp() override {
        StoreBuilder b(root());
        ImageSpec base;
        base.layers = {layers.base, layers.change, layers.replace};
        base.references = {"docker.io/library/plain", "sample/base:1.0"};
        base.created = "2024-01-01T00:00:00Z";
        base_img = b.add_image(base);

        ImageSpec app;
        app.layers = {layers.base, layers.change, layers.replace, layers.extra};
        app.references = {"localhost:5000/x:tag", "localhost:5000/x@" + kManifestDigest};
        app.created = "2024-01-02T00:00:00Z";
        app_img = b.add_image(app);
    }
    fs::path root() const { return tmp.path() / "root"; }
    ImageInfo resolve(const std::string& ref) const { return DockerStore(root()).resolve_image(ref); }

    TempDir tmp;
    FixtureLayers layers{tmp.path() / "layers"};
    BuiltImage base_img, app_img;
};

TEST_F(StoreResolve, ByNameOnlyMeansLatest) { EXPECT_EQ(resolve("plain").id, base_img.id); }

TEST_F(StoreResolve, ByNameAndTag) {
    EXPECT_EQ(resolve("plain:latest").id, base_img.id);
    EXPECT_EQ(resolve("sample/base:1.0").id, base_img.id);
    expect_user_error([&] { resolve("sample/base"); }, {"no such image", "'sample/base'"});
}

TEST_F(StoreResolve, DockerHubLongForms) {
    EXPECT_EQ(resolve("docker.io/library/plain").id, base_img.id);
    EXPECT_EQ(resolve("library/plain:latest").id, base_img.id);
    EXPECT_EQ(resolve("index.docker.io/library/plain:latest").id, base_img.id);
    EXPECT_EQ(resolve("docker.io/sample/base:1.0").id, base_img.id);
}

TEST_F(StoreResolve, RegistryWithPort) { EXPECT_EQ(resolve("localhost:5000/x:tag").id, app_img.id); }

TEST_F(StoreResolve, ByDigest) {
    EXPECT_EQ(resolve("localhost:5000/x@" + kManifestDigest).id, app_img.id);
    // name:tag@digest is looked up by digest alone, so even an unknown tag resolves.
    EXPECT_EQ(resolve("localhost:5000/x:nosuchtag@" + kManifestDigest).id, app_img.id);
}

TEST_F(StoreResolve, ByFullId) {
    EXPECT_EQ(resolve(app_img.id).id, app_img.id);
    EXPECT_EQ(resolve(app_img.id.substr(7)).id, app_img.id);
}

TEST_F(StoreResolve, ByUniquePrefix) {
    // Find the shortest prefix of each id that is unique among the two.
    for (const auto* im : {&base_img, &app_img}) {
        const auto* other = im == &base_img ? &app_img : &base_img;
        size_t n = 1;
        while (im->id.compare(7, n, other->id, 7, n) == 0) ++n;
        std::string prefix = im->id.substr(7, n);
        EXPECT_EQ(resolve(prefix).id, im->id) << prefix;
        EXPECT_EQ(resolve("sha256:" + prefix).id, im->id) << prefix;
        EXPECT_EQ(resolve(im->id.substr(7, 12)).id, im->id);
    }
}

TEST_F(StoreResolve, TagWinsOverIdPrefix) {
    // A name that is also an id prefix: repositories.json is asked first, as by the daemon.
    std::string prefix = app_img.id.substr(7, 6);
    StoreBuilder(root()).add_reference(prefix, base_img.id);
    EXPECT_EQ(resolve(prefix).id, base_img.id);
    EXPECT_EQ(resolve(app_img.id.substr(7, 7)).id, app_img.id);
}

TEST_F(StoreResolve, UnknownImage) {
    expect_user_error([&] { resolve("nosuch"); }, {"no such image", "'nosuch'", root().string()});
    expect_user_error([&] { resolve("nosuch:1"); }, {"no such image"});
    expect_user_error([&] { resolve(std::string(64, 'e')); }, {"no such image"});
    expect_user_error([&] { resolve("localhost:5000/x@sha256:" + std::string(64, 'd')); }, {"no such image"});
}

TEST_F(StoreResolve, InvalidReferenceIsAnError) {
    expect_user_error([&] { resolve("Plain"); }, {"'Plain'", "lowercase"});
}

TEST_F(StoreResolve, AmbiguousPrefixListsCandidates) {
    // Add images (sharing the layers, differing in "created") until two ids share a first
    // hex digit; with 17 images that is certain.
    StoreBuilder b(root());
    std::map<char, std::vector<std::string>> by_first;
    by_first[base_img.id[7]].push_back(base_img.id);
    by_first[app_img.id[7]].push_back(app_img.id);
    char hit = 0;
    for (int i = 0; i < 17 && !hit; ++i) {
        ImageSpec s;
        s.layers = {layers.base};
        s.created = "2023-01-01T00:00:" + std::to_string(10 + i) + "Z";
        auto im = b.add_image(s);
        auto& v = by_first[im.id[7]];
        v.push_back(im.id);
        if (v.size() == 2) hit = im.id[7];
    }
    ASSERT_NE(hit, 0);
    const auto& ids = by_first[hit];
    expect_user_error([&] { resolve(std::string(1, hit)); },
                      {"ambiguous", ids[0].substr(7, 12), ids[1].substr(7, 12)});
    expect_user_error([&] { resolve("sha256:" + std::string(1, hit)); }, {"ambiguous"});
}

TEST_F(StoreResolve, AmbiguousListIsCappedAtFive) {
    StoreBuilder b(root());
    std::map<char, int> count;
    char hit = 0;
    for (int i = 0; i < 400 && !hit; ++i) {
        ImageSpec s;
        s.layers = {layers.base};
        s.created = "2022-01-01T00:00:00." + std::to_string(i) + "Z";
        auto im = b.add_image(s);
        if (++count[im.id[7]] == 8) hit = im.id[7];
    }
    ASSERT_NE(hit, 0);
    expect_user_error([&] { resolve(std::string(1, hit)); }, {"ambiguous", "and "});
}

TEST_F(StoreResolve, LayersMatchWhatWasBuilt) {
    ImageInfo im = resolve("localhost:5000/x:tag");
    ASSERT_EQ(im.layers.size(), 4u);
    EXPECT_EQ(im.created, "2024-01-02T00:00:00Z");
    for (size_t i = 0; i < 4; ++i) {
        const auto& got = im.layers[i];
        const auto& want = app_img.layers[i];
        EXPECT_EQ(got.diff_id, want.diff_id);
        EXPECT_EQ(got.chain_id, want.chain_id);
        EXPECT_EQ(got.cache_id, want.cache_id);
        EXPECT_EQ(got.link, want.link);
        EXPECT_EQ(got.size, want.size);
        EXPECT_EQ(got.diff_dir, root() / "overlay2" / want.cache_id / "diff");
        EXPECT_TRUE(fs::is_directory(got.diff_dir));
        EXPECT_TRUE(fs::exists(got.tar_split));
    }
    // The base image's three layers are the same registered layers.
    ImageInfo base = resolve("plain");
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(base.layers[i].cache_id, im.layers[i].cache_id);
}

TEST_F(StoreResolve, ReferencesOfTheImage) {
    ImageInfo im = resolve(base_img.id);
    EXPECT_EQ(im.references, (std::vector<std::string>{"plain:latest", "sample/base:1.0"}));
    ImageInfo app = resolve(app_img.id);
    EXPECT_EQ(app.references,
              (std::vector<std::string>{"localhost:5000/x:tag", "localhost:5000/x@" + kManifestDigest}));
}

TEST_F(StoreResolve, ListImagesLikeDockerImages) {
    auto rows = DockerStore(root()).list_images();
    // Newest first; one row per tag; the digest-only reference shares the tagged repo's row.
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].repository, "localhost:5000/x");
    EXPECT_EQ(rows[0].tag, "tag");
    EXPECT_EQ(rows[0].layers, 4u);
    int64_t app_size = 0;
    for (const auto& l : app_img.layers) app_size += l.size;
    EXPECT_EQ(rows[0].size, app_size);
    EXPECT_EQ(rows[1].repository, "plain");
    EXPECT_EQ(rows[1].tag, "latest");
    EXPECT_EQ(rows[2].repository, "sample/base");
    EXPECT_EQ(rows[2].id, base_img.id);
}

TEST_F(StoreResolve, ListShowsDanglingButNotIntermediateImages) {
    StoreBuilder b(root());
    ImageSpec dangling;
    dangling.layers = {layers.base};
    dangling.created = "2020-01-01T00:00:00Z";
    auto d = b.add_image(dangling);
    ImageSpec parent;
    parent.layers = {layers.base, layers.change};
    parent.created = "2020-01-01T00:00:01Z";
    auto p = b.add_image(parent);
    ImageSpec child;
    child.layers = {layers.base, layers.change, layers.extra};
    child.parent_id = p.id;
    child.references = {"child:1"};
    b.add_image(child);
    ImageSpec digest_only;
    digest_only.layers = {layers.extra};
    digest_only.references = {"onlydigest@" + kManifestDigest};
    b.add_image(digest_only);

    auto rows = DockerStore(root()).list_images();
    bool saw_dangling = false, saw_parent = false, saw_digest_only = false;
    for (const auto& r : rows) {
        if (r.id == d.id) saw_dangling = r.repository == "<none>" && r.tag == "<none>";
        if (r.id == p.id) saw_parent = true;
        if (r.repository == "onlydigest") saw_digest_only = r.tag == "<none>";
    }
    EXPECT_TRUE(saw_dangling);
    EXPECT_FALSE(saw_parent);
    EXPECT_TRUE(saw_digest_only);
}

TEST_F(StoreResolve, ImageWithoutLayers) {
    ImageSpec empty;
    empty.references = {"scratchy:1"};
    auto im = StoreBuilder(root()).add_image(empty);
    ImageInfo got = resolve("scratchy:1");
    EXPECT_EQ(got.id, im.id);
    EXPECT_TRUE(got.layers.empty());
}

TEST_F(StoreResolve, ReadingWritesNothing) {
    auto before = testing::snapshot(root());
    DockerStore st(root());
    st.resolve_image("plain");
    st.list_images();
    try {
        st.resolve_image("nosuch");
    } catch (const UserError&) {
    }
    DockerStore::read_markers(st.resolve_image("plain").layers[1]);
    EXPECT_EQ(testing::snapshot(root()), before);
}

}  // namespace
}  // namespace ovf::store
