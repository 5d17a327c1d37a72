// Every way a store can be damaged gives a one-line UserError naming the image or the path,
// and reading never writes.
#include <gtest/gtest.h>

#include "overlayfuse/sha256.hpp"
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

class StoreBadInput : public ::testing::Test {
protected:
    void SetUp() override {
        StoreBuilder b(root());
        ImageSpec s;
        s.layers = {layers.base, layers.change, layers.replace};
        s.references = {"bad/img:1"};
        img = b.add_image(s);
    }
    fs::path root() const { return tmp.path() / "root"; }
    fs::path image_dir() const { return root() / "image/overlay2"; }
    fs::path layer_meta(size_t i) const { return image_dir() / "layerdb/sha256" / img.layers[i].chain_id.substr(7); }
    fs::path driver_dir(size_t i) const { return root() / "overlay2" / img.layers[i].cache_id; }
    fs::path config_file() const { return image_dir() / "imagedb/content/sha256" / img.id.substr(7); }
    void resolve() const { DockerStore(root()).resolve_image("bad/img:1"); }

    // Writes CONFIG as a new image config (named by its digest) tagged bad/cfg:1.
    void add_config(const std::string& config) {
        std::string id = "sha256:" + sha256_hex(config);
        write_text(image_dir() / "imagedb/content/sha256" / id.substr(7), config);
        StoreBuilder(root()).add_reference("bad/cfg:1", id);
    }

    TempDir tmp;
    FixtureLayers layers{tmp.path() / "layers"};
    BuiltImage img;
};

TEST_F(StoreBadInput, RootMissing) {
    expect_user_error([&] { DockerStore(tmp.path() / "nowhere"); }, {(tmp.path() / "nowhere").string(), "no such directory"});
}

TEST_F(StoreBadInput, RootIsNotAStore) {
    fs::create_directories(tmp.path() / "empty");
    expect_user_error([&] { DockerStore(tmp.path() / "empty"); }, {(tmp.path() / "empty").string(), "not a Docker overlay2 store"});
}

TEST_F(StoreBadInput, RootOfAnotherDriver) {
    fs::create_directories(tmp.path() / "vfsroot/image/vfs");
    expect_user_error([&] { DockerStore(tmp.path() / "vfsroot"); }, {"'vfs'", "only overlay2"});
}

TEST_F(StoreBadInput, RepositoriesJsonMissing) {
    fs::remove(image_dir() / "repositories.json");
    expect_user_error([&] { resolve(); }, {"missing", "repositories.json"});
    expect_user_error([&] { DockerStore(root()).list_images(); }, {"repositories.json"});
}

TEST_F(StoreBadInput, RepositoriesJsonCorrupt) {
    write_text(image_dir() / "repositories.json", "{\"Repositories\":{\"bad/img\":");
    expect_user_error([&] { resolve(); }, {"repositories.json", "invalid JSON"});
    expect_user_error([&] { DockerStore(root()).list_images(); }, {"repositories.json", "invalid JSON"});
}

TEST_F(StoreBadInput, RepositoriesJsonWrongShape) {
    const std::string id = "sha256:" + std::string(64, 'a');
    const std::vector<std::string> texts = {
        "[]",
        "{}",
        "{\"Repositories\":[]}",
        "{\"Repositories\":{\"x\":[]}}",
        "{\"Repositories\":{\"x\":{\"x:1\":42}}}",
        "{\"Repositories\":{\"x\":{\"x:1\":\"sha256:abc\"}}}",
        "{\"Repositories\":{\"x\":{\"X:1\":\"" + id + "\"}}}",  // not a reference
        "{\"Repositories\":{\"x\":{\"y:1\":\"" + id + "\"}}}",  // filed under the wrong name
    };
    for (const auto& text : texts) {
        write_text(image_dir() / "repositories.json", text);
        expect_user_error([&] { resolve(); }, {"repositories.json"});
    }
}

TEST_F(StoreBadInput, ConfigMissing) {
    fs::remove(config_file());
    expect_user_error([&] { resolve(); }, {"'bad/img:1'", config_file().string(), "missing"});
}

TEST_F(StoreBadInput, ConfigCorrupt) {
    // Any change makes the content disagree with its sha256 name, as the daemon checks.
    write_text(config_file(), testing::read_text(config_file()) + " ");
    expect_user_error([&] { resolve(); }, {"'bad/img:1'", config_file().string(), "does not match"});
    expect_user_error([&] { DockerStore(root()).list_images(); }, {config_file().string()});
}

TEST_F(StoreBadInput, ConfigInvalidJson) {
    add_config("{\"rootfs\":");
    expect_user_error([&] { DockerStore(root()).resolve_image("bad/cfg:1"); }, {"'bad/cfg:1'", "invalid JSON"});
}

TEST_F(StoreBadInput, ConfigWithoutRootfs) {
    add_config("{\"os\":\"linux\"}");
    expect_user_error([&] { DockerStore(root()).resolve_image("bad/cfg:1"); }, {"'bad/cfg:1'", "rootfs"});
}

TEST_F(StoreBadInput, ConfigWithBadDiffIds) {
    add_config("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:1234\"]}}");
    expect_user_error([&] { DockerStore(root()).resolve_image("bad/cfg:1"); }, {"diff_ids"});
    add_config("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":\"x\"}}");
    expect_user_error([&] { DockerStore(root()).resolve_image("bad/cfg:1"); }, {"diff_ids"});
}

TEST_F(StoreBadInput, RepositoriesPointsToMissingConfig) {
    StoreBuilder(root()).add_reference("ghost:1", "sha256:" + std::string(64, 'a'));
    expect_user_error([&] { DockerStore(root()).resolve_image("ghost:1"); }, {"'ghost:1'", "missing"});
}

TEST_F(StoreBadInput, LayerdbEntryMissing) {
    fs::remove_all(layer_meta(1));
    expect_user_error([&] { resolve(); }, {"'bad/img:1'", "layer 1", "missing layerdb entry", layer_meta(1).string()});
    expect_user_error([&] { DockerStore(root()).list_images(); }, {layer_meta(1).string()});
}

TEST_F(StoreBadInput, DiffFileDoesNotMatchDiffId) {
    write_text(layer_meta(2) / "diff", img.layers[1].diff_id);
    expect_user_error([&] { resolve(); }, {"'bad/img:1'", "layer 2", (layer_meta(2) / "diff").string()});
}

TEST_F(StoreBadInput, DiffFileMissing) {
    fs::remove(layer_meta(0) / "diff");
    expect_user_error([&] { resolve(); }, {"layer 0", "missing", (layer_meta(0) / "diff").string()});
}

TEST_F(StoreBadInput, CacheIdMissing) {
    fs::remove(layer_meta(0) / "cache-id");
    expect_user_error([&] { resolve(); }, {"layer 0", "cache-id"});
}

TEST_F(StoreBadInput, DiffDirectoryMissing) {
    fs::rename(driver_dir(1) / "diff", driver_dir(1) / "diff.gone");
    expect_user_error([&] { resolve(); }, {"'bad/img:1'", "layer 1", "missing layer directory", (driver_dir(1) / "diff").string()});
}

TEST_F(StoreBadInput, CacheIdThatIsNotAPlainName) {
    fs::create_directories(root() / "x/diff");  // so "../x" would otherwise lead somewhere
    for (const char* bad : {"../x", "a/b", ".", "..", "", "/etc", "x y"}) {
        write_text(layer_meta(0) / "cache-id", bad);
        expect_user_error([&] { resolve(); }, {"layer 0", "cache-id"});
    }
}

TEST_F(StoreBadInput, LinkThatIsNotAPlainName) {
    for (const char* bad : {"../x", "a/b", "..", "l/ABC"}) {
        write_text(driver_dir(1) / "link", bad);
        expect_user_error([&] { resolve(); }, {"layer 1", (driver_dir(1) / "link").string(), "plain name"});
    }
}

TEST_F(StoreBadInput, LowerThatIsNotPlainNames) {
    for (const char* bad : {"l/../../x", "../x", "l/", "l/A:", ":l/A", "l/A:l/B/C", "x/A", "l/A::l/B", ""}) {
        write_text(driver_dir(2) / "lower", bad);
        expect_user_error([&] { resolve(); }, {"layer 2", (driver_dir(2) / "lower").string()});
    }
}

TEST_F(StoreBadInput, LowerThatDisagreesWithLayerdb) {
    // Plain names, but in the wrong order: Docker would stack different layers.
    write_text(driver_dir(2) / "lower", "l/" + img.layers[0].link + ":l/" + img.layers[1].link);
    expect_user_error([&] { resolve(); }, {"layer 2", "layerdb says"});
    write_text(driver_dir(0) / "lower", "l/" + img.layers[1].link);
    expect_user_error([&] { resolve(); }, {"layer 0", "base layer"});
}

TEST_F(StoreBadInput, LinkSymlinkPointingElsewhere) {
    fs::path sym = root() / "overlay2/l" / img.layers[1].link;
    fs::remove(sym);
    fs::create_directory_symlink("../" + img.layers[0].cache_id + "/diff", sym);
    expect_user_error([&] { resolve(); }, {"layer 1", sym.string()});
}

TEST_F(StoreBadInput, ParentThatDisagreesWithTheChain) {
    write_text(layer_meta(2) / "parent", img.layers[0].chain_id);
    expect_user_error([&] { resolve(); }, {"layer 2", "parent"});
    write_text(layer_meta(2) / "parent", img.layers[1].chain_id);
    write_text(layer_meta(0) / "parent", img.layers[1].chain_id);
    expect_user_error([&] { resolve(); }, {"layer 0", "base layer"});
}

TEST_F(StoreBadInput, SizeThatIsNotANumber) {
    write_text(layer_meta(1) / "size", "12kB");
    expect_user_error([&] { resolve(); }, {"layer 1", "size"});
}

TEST_F(StoreBadInput, TrailingNewlinesAreTolerated) {
    // Docker's own readers trim; a hand-edited store with newlines still reads.
    write_text(layer_meta(0) / "cache-id", img.layers[0].cache_id + "\n");
    write_text(layer_meta(1) / "diff", img.layers[1].diff_id + "\n");
    write_text(driver_dir(2) / "link", img.layers[2].link + "\n");
    EXPECT_NO_THROW(resolve());
}

TEST_F(StoreBadInput, CorruptTarSplitIsAnErrorOnlyWhenRead) {
    write_text(layer_meta(1) / "tar-split.json.gz", "not gzip");
    ImageInfo im = DockerStore(root()).resolve_image("bad/img:1");
    expect_user_error([&] { DockerStore::read_markers(im.layers[1]); }, {(layer_meta(1) / "tar-split.json.gz").string(), "gzip"});
    fs::remove(layer_meta(1) / "tar-split.json.gz");
    EXPECT_FALSE(DockerStore::read_markers(im.layers[1]));
}

TEST_F(StoreBadInput, ErrorsWriteNothing) {
    write_text(layer_meta(2) / "diff", img.layers[1].diff_id);
    auto before = testing::snapshot(root());
    EXPECT_THROW(resolve(), UserError);
    EXPECT_THROW(DockerStore(root()).resolve_image("nosuch"), UserError);
    EXPECT_EQ(testing::snapshot(root()), before);
}

}  // namespace
}  // namespace ovf::store
