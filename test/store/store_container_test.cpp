// Containers: name or id prefix -> read-write and init layers over the image.
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
using testing::write_text;
namespace fs = std::filesystem;

class StoreContainer : public ::testing::Test {
protected:
    void SetUp() override {
        StoreBuilder b(root());
        ImageSpec s;
        s.layers = {layers.base, layers.change};
        s.references = {"ctr/img:1"};
        img = b.add_image(s);
        write_text(tmp / "upper/newfile", "written by the container\n");
        ctr = b.add_container({"web", img.id, tmp / "upper"});
    }
    fs::path root() const { return tmp / "root"; }
    std::optional<ContainerInfo> find(const std::string& s) const { return DockerStore(root()).find_container(s); }

    TempDir tmp;
    FixtureLayers layers{tmp / "layers"};
    BuiltImage img;
    BuiltContainer ctr;
};

TEST_F(StoreContainer, ByName) {
    auto c = find("web");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->id, ctr.id);
    EXPECT_EQ(c->name, "web");
    EXPECT_EQ(c->image_id, img.id);
    EXPECT_EQ(c->rw_diff_dir, ctr.rw_diff_dir);
    EXPECT_EQ(c->init_diff_dir, ctr.init_diff_dir);
    EXPECT_TRUE(fs::exists(c->rw_diff_dir / "newfile"));
    EXPECT_TRUE(fs::exists(c->init_diff_dir / ".dockerenv"));
    EXPECT_EQ(c->image.layers.size(), 2u);
    EXPECT_TRUE(find("/web"));
}

TEST_F(StoreContainer, ByIdAndPrefix) {
    EXPECT_EQ(find(ctr.id)->id, ctr.id);
    EXPECT_EQ(find(ctr.id.substr(0, 12))->id, ctr.id);
    EXPECT_EQ(find(ctr.id.substr(0, 1))->id, ctr.id);
}

TEST_F(StoreContainer, Unknown) {
    EXPECT_FALSE(find("nosuch"));
    EXPECT_FALSE(find(""));
    EXPECT_FALSE(find("zz"));
}

TEST_F(StoreContainer, NameBeatsIdPrefix) {
    StoreBuilder b(root());
    auto other = b.add_container({ctr.id.substr(0, 4), img.id, {}});
    EXPECT_EQ(find(ctr.id.substr(0, 4))->id, other.id);
}

TEST_F(StoreContainer, AmbiguousPrefix) {
    StoreBuilder b(root());
    std::map<char, std::vector<std::string>> by_first{{ctr.id[0], {ctr.id}}};
    char hit = 0;
    for (int i = 0; i < 17 && !hit; ++i) {
        auto c = b.add_container({"c" + std::to_string(i), img.id, {}});
        auto& v = by_first[c.id[0]];
        v.push_back(c.id);
        if (v.size() == 2) hit = c.id[0];
    }
    ASSERT_NE(hit, 0);
    expect_user_error([&] { find(std::string(1, hit)); }, {"ambiguous", by_first[hit][0].substr(0, 12)});
}

TEST_F(StoreContainer, MountIdThatIsNotAPlainName) {
    fs::path f = root() / "image/overlay2/layerdb/mounts" / ctr.id / "mount-id";
    write_text(f, "../" + ctr.mount_id);
    expect_user_error([&] { find("web"); }, {"'web'", f.string(), "plain name"});
}

TEST_F(StoreContainer, MissingReadWriteLayer) {
    fs::remove_all(ctr.rw_diff_dir);
    expect_user_error([&] { find("web"); }, {"'web'", "missing layer directory", ctr.rw_diff_dir.string()});
}

TEST_F(StoreContainer, MissingMountsEntry) {
    fs::remove_all(root() / "image/overlay2/layerdb/mounts" / ctr.id);
    expect_user_error([&] { find("web"); }, {"'web'", "missing layerdb entry"});
}

TEST_F(StoreContainer, LowerThatSkipsTheInitLayer) {
    fs::path lower = root() / "overlay2" / ctr.mount_id / "lower";
    write_text(lower, "l/" + img.layers[1].link + ":l/" + img.layers[0].link);
    expect_user_error([&] { find("web"); }, {lower.string()});
}

TEST_F(StoreContainer, CorruptConfig) {
    fs::path cfg = root() / "containers" / ctr.id / "config.v2.json";
    write_text(cfg, "{");
    expect_user_error([&] { find("web"); }, {cfg.string(), "invalid JSON"});
}

}  // namespace
}  // namespace ovf::store
