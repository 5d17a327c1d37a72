// The seed's walk through a real store (python:3.9-alpine3.12, five layers, one container),
// rebuilt file by file with the seed's own ids, links and lowerdir order, then read back.
#include <gtest/gtest.h>

#include "overlayfuse/sha256.hpp"
#include "overlayfuse/store/docker_store.hpp"
#include "store_fixture.hpp"

namespace ovf::store {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;
using testing::write_text;

const std::string kDiff[] = {
    "sha256:f4666769fca7a1db532e3de298ca87f7e3124f74d17e1937d1127cb17058fead",
    "sha256:f2bc6754fc86dfbd965dfb93127dc473c36bc44cf21f87a779dcd0f94d924f3d",
    "sha256:e25ee6f7192be198a37c00741fce057aaa0eef58b0fb77a9fc2a23dcd84a5302",
    "sha256:0d2c65b855c43c1c83cf24e866e70e232f3ba451aa6aa159adc1e4dc3d51f96a",
    "sha256:debde983e4fe3ad328c6aa3f37cf9ee30d268b8266e37da87417133d0cc252ad",
};
const std::string kChain[] = {
    "sha256:f4666769fca7a1db532e3de298ca87f7e3124f74d17e1937d1127cb17058fead",
    "sha256:25370907defafe1eacf55dd1df121dd16890773e4a3d0637629de56ed6c69198",
    "sha256:2d87c3c42dcce905c4f0aafd9657cc0247a9a79c461f0e8abf81a2c8523dacfb",
    "sha256:49c9ddedef77ac89647c786c3bd53c7c6bb9db897a0465087e1847afeb5c9eba",
    "sha256:66604bb690d7ccdba67800376f20617e4821baf9c716534a399288bd9845be12",
};
// The seed's container lowerdir, read bottom up: layer 0's link first, init layer last.
const std::string kLinks[] = {"ROYFFPZS3DDRNW5YDCZ4RC6TKS", "4X5YCB5KOIFOQZEK5P6GAZJY7E",
                              "EQ2OTBRW4K7MN6Z2R4QKIIOFHR", "GRABQF7VZXYCVN52TF2YEHMO27",
                              "5Q5UEBNKJEEDE6YZ265HDXGXXZ"};
const std::string kInitLink = "WEJADLTSDEUAABOXXY6UZFIO4R";
const std::string kBaseCacheId = "a9410091d624483c6ea184a139807000b39e9ee2d4e6fda29ecbfb7d7a914856";
const std::string kMountId = "6442daf60a7587396f17c727e570c54538e5731bdfd50af4cb2ac2e59a0e2382";

class StoreSeedWalk : public ::testing::Test {
protected:
    void SetUp() override {
        fs::path img = tmp.path() / "image/overlay2";
        fs::path ov = tmp.path() / "overlay2";
        std::string lower;  // top first, as Docker writes it
        for (int i = 0; i < 5; ++i) {
            cache[i] = i == 0 ? kBaseCacheId : sha256_hex("cache " + std::to_string(i));
            fs::path meta = img / "layerdb/sha256" / kChain[i].substr(7);
            write_text(meta / "cache-id", cache[i]);
            write_text(meta / "diff", kDiff[i]);
            if (i) write_text(meta / "parent", kChain[i - 1]);
            write_text(meta / "size", std::to_string(1000 * (i + 1)));
            fs::create_directories(ov / cache[i] / "diff");
            write_text(ov / cache[i] / "link", kLinks[i]);
            if (i) write_text(ov / cache[i] / "lower", lower);
            fs::create_directories(ov / "l");
            fs::create_directory_symlink("../" + cache[i] + "/diff", ov / "l" / kLinks[i]);
            lower = "l/" + kLinks[i] + (lower.empty() ? "" : ":" + lower);
        }
        std::string config =
            R"({"architecture":"amd64","created":"2021-01-01T00:00:00Z","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
            kDiff[0] + "\",\"" + kDiff[1] + "\",\"" + kDiff[2] + "\",\"" + kDiff[3] + "\",\"" + kDiff[4] + "\"]}}";
        image_id = "sha256:" + sha256_hex(config);
        write_text(img / "imagedb/content/sha256" / image_id.substr(7), config);
        write_text(img / "repositories.json",
                   R"({"Repositories":{"python":{"python:3.9-alpine3.12":")" + image_id + "\"}}}");

        // The container of the seed's `docker run`, its init layer and read-write layer.
        container_id = sha256_hex("container");
        std::string init_id = kMountId + "-init";
        fs::create_directories(ov / init_id / "diff");
        write_text(ov / init_id / "link", kInitLink);
        write_text(ov / init_id / "lower", lower);
        fs::create_directory_symlink("../" + init_id + "/diff", ov / "l" / kInitLink);
        fs::create_directories(ov / kMountId / "diff");
        write_text(ov / kMountId / "link", "UPPERLINKUPPERLINKUPPERLIN");
        write_text(ov / kMountId / "lower", "l/" + kInitLink + ":" + lower);
        fs::path mounts = img / "layerdb/mounts" / container_id;
        write_text(mounts / "mount-id", kMountId);
        write_text(mounts / "init-id", init_id);
        write_text(mounts / "parent", kChain[4]);
        write_text(tmp.path() / "containers" / container_id / "config.v2.json",
                   R"({"ID":")" + container_id + R"(","Name":"/seed-ctr","Image":")" + image_id + "\"}");
    }

    TempDir tmp;
    std::string cache[5];
    std::string image_id;
    std::string container_id;
};

TEST_F(StoreSeedWalk, ResolvesTheSeedImageLayerByLayer) {
    DockerStore st(tmp.path());
    ImageInfo im = st.resolve_image("python:3.9-alpine3.12");
    EXPECT_EQ(im.id, image_id);
    EXPECT_EQ(im.references, std::vector<std::string>{"python:3.9-alpine3.12"});
    ASSERT_EQ(im.layers.size(), 5u);
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(im.layers[i].diff_id, kDiff[i]);
        EXPECT_EQ(im.layers[i].chain_id, kChain[i]);
        EXPECT_EQ(im.layers[i].cache_id, cache[i]);
        EXPECT_EQ(im.layers[i].link, kLinks[i]);
        EXPECT_EQ(im.layers[i].diff_dir, tmp.path() / "overlay2" / cache[i] / "diff");
        EXPECT_EQ(im.layers[i].size, 1000 * (i + 1));
    }
    EXPECT_EQ(im.layers[0].cache_id, kBaseCacheId);
    EXPECT_EQ(im.layers[0].link, "ROYFFPZS3DDRNW5YDCZ4RC6TKS");
}

TEST_F(StoreSeedWalk, ListsTheImage) {
    auto rows = DockerStore(tmp.path()).list_images();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].repository, "python");
    EXPECT_EQ(rows[0].tag, "3.9-alpine3.12");
    EXPECT_EQ(rows[0].layers, 5u);
    EXPECT_EQ(rows[0].size, 15000);
}

TEST_F(StoreSeedWalk, FindsTheContainerStack) {
    auto c = DockerStore(tmp.path()).find_container("seed-ctr");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->id, container_id);
    EXPECT_EQ(c->name, "seed-ctr");
    EXPECT_EQ(c->image_id, image_id);
    EXPECT_EQ(c->rw_diff_dir, tmp.path() / "overlay2" / kMountId / "diff");
    EXPECT_EQ(c->init_diff_dir, tmp.path() / "overlay2" / (kMountId + "-init") / "diff");
    EXPECT_EQ(c->image.layers.size(), 5u);
}

}  // namespace
}  // namespace ovf::store
