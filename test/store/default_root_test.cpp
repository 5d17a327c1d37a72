// Which data root is read without --root: daemon.json, then rootless, then /var/lib/docker.
#include <gtest/gtest.h>

#include "overlayfuse/store/docker_store.hpp"
#include "store_fixture.hpp"

namespace ovf::store {
namespace {

using testing::expect_user_error;
using testing::TempDir;
using testing::write_text;
namespace fs = std::filesystem;

class StoreDefaultRoot : public ::testing::Test {
protected:
    DataRootSources env(bool root) const {
        DataRootSources e;
        e.daemon_json = tmp / "etc/docker/daemon.json";
        e.is_root = root;
        e.home = tmp / "home";
        return e;
    }
    TempDir tmp;
};

TEST_F(StoreDefaultRoot, RootWithoutDaemonJson) {
    EXPECT_EQ(DockerStore::default_root(env(true)), "/var/lib/docker");
}

TEST_F(StoreDefaultRoot, DataRootFromDaemonJson) {
    write_text(tmp / "etc/docker/daemon.json", R"({"storage-driver":"overlay2","data-root":"/srv/docker"})");
    EXPECT_EQ(DockerStore::default_root(env(true)), "/srv/docker");
    // It applies to every user: it is the daemon's store.
    EXPECT_EQ(DockerStore::default_root(env(false)), "/srv/docker");
}

TEST_F(StoreDefaultRoot, LegacyGraphKey) {
    write_text(tmp / "etc/docker/daemon.json", R"({"graph":"/old/docker"})");
    EXPECT_EQ(DockerStore::default_root(env(true)), "/old/docker");
}

TEST_F(StoreDefaultRoot, DaemonJsonWithoutDataRoot) {
    write_text(tmp / "etc/docker/daemon.json", R"({"debug":true})");
    EXPECT_EQ(DockerStore::default_root(env(true)), "/var/lib/docker");
}

TEST_F(StoreDefaultRoot, InvalidDaemonJson) {
    write_text(tmp / "etc/docker/daemon.json", "{\"data-root\": ");
    expect_user_error([&] { DockerStore::default_root(env(true)); }, {"daemon.json", "invalid JSON", "--root"});
}

TEST_F(StoreDefaultRoot, DataRootNotAString) {
    write_text(tmp / "etc/docker/daemon.json", R"({"data-root":42})");
    expect_user_error([&] { DockerStore::default_root(env(true)); }, {"daemon.json", "data-root"});
    write_text(tmp / "etc/docker/daemon.json", R"({"data-root":""})");
    expect_user_error([&] { DockerStore::default_root(env(true)); }, {"data-root"});
}

TEST_F(StoreDefaultRoot, NonRootUserWithRootlessStore) {
    fs::create_directories(tmp / "home/.local/share/docker");
    EXPECT_EQ(DockerStore::default_root(env(false)), tmp / "home/.local/share/docker");
    // root does not use a rootless store, even if one exists in its home.
    EXPECT_EQ(DockerStore::default_root(env(true)), "/var/lib/docker");
}

TEST_F(StoreDefaultRoot, NonRootUserWithoutRootlessStore) {
    EXPECT_EQ(DockerStore::default_root(env(false)), "/var/lib/docker");
    DataRootSources e = env(false);
    e.home.clear();
    EXPECT_EQ(DockerStore::default_root(e), "/var/lib/docker");
}

TEST_F(StoreDefaultRoot, XdgDataHomeIsWhereRootlessDockerdKeepsIt) {
    fs::create_directories(tmp / "xdg/docker");
    fs::create_directories(tmp / "home/.local/share/docker");
    DataRootSources e = env(false);
    e.xdg_data_home = tmp / "xdg";
    EXPECT_EQ(DockerStore::default_root(e), tmp / "xdg/docker");
}

TEST_F(StoreDefaultRoot, DaemonJsonBeatsRootlessStore) {
    fs::create_directories(tmp / "home/.local/share/docker");
    write_text(tmp / "etc/docker/daemon.json", R"({"data-root":"/srv/docker"})");
    EXPECT_EQ(DockerStore::default_root(env(false)), "/srv/docker");
}

TEST_F(StoreDefaultRoot, CurrentEnvironment) {
    DataRootSources e = DataRootSources::current();
    EXPECT_EQ(e.daemon_json, "/etc/docker/daemon.json");
    EXPECT_EQ(e.is_root, ::geteuid() == 0);
    EXPECT_FALSE(DockerStore::default_root().empty());
}

}  // namespace
}  // namespace ovf::store
