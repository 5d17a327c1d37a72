// The fixture builder writes what Docker writes: checked file by file, and by rebuilding each
// layer tar from tar-split + diff directory (what `docker save` does) and hashing it.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include "overlayfuse/sha256.hpp"
#include "overlayfuse/store/docker_store.hpp"
#include "overlayfuse/store/store_builder.hpp"
#include "overlayfuse/store/tar_split.hpp"
#include "store_fixture.hpp"

namespace ovf::store {
namespace {

using testing::FixtureLayers;
using testing::read_text;
using testing::TempDir;
using testing::write_text;
namespace fs = std::filesystem;

std::string gunzip(const fs::path& p) {
    gzFile gz = gzopen(p.c_str(), "rb");
    std::string out;
    char buf[65536];
    int n;
    while ((n = gzread(gz, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    gzclose(gz);
    return out;
}

std::string b64decode(const std::string& s) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
    };
    std::string out;
    int bits = 0, acc = 0;
    for (char c : s) {
        int v = val(c);
        if (v < 0) break;
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return out;
}

std::string clean(std::string name) {
    while (name.rfind("./", 0) == 0) name.erase(0, 2);
    while (!name.empty() && name.back() == '/') name.pop_back();
    return name;
}

// docker save's reassembly: segments verbatim, file contents from the diff directory.
std::string reassemble(const fs::path& tar_split, const fs::path& diff_dir) {
    std::string out;
    std::string text = gunzip(tar_split);
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        auto e = nlohmann::json::parse(text.substr(pos, nl - pos));
        pos = nl + 1;
        if (e["type"] == 2) {
            out += b64decode(e["payload"].get<std::string>());
        } else if (e.value("size", 0) > 0) {
            std::string name = e.contains("name") ? e["name"].get<std::string>()
                                                  : b64decode(e["name_raw"].get<std::string>());
            out += read_text(diff_dir / clean(name));
        }
    }
    return out;
}

bool is_root() { return ::geteuid() == 0; }

class StoreBuilderTest : public ::testing::Test {
protected:
    BuiltImage build(MarkerForm form, std::vector<fs::path> dirs, std::vector<std::string> refs = {"fx:1"}) {
        StoreBuilder b(root(), {form, tars()});
        ImageSpec s;
        s.layers = std::move(dirs);
        s.references = std::move(refs);
        s.created = "2024-05-06T07:08:09Z";
        auto im = b.add_image(s);
        notes = b.notes();
        return im;
    }
    fs::path root() const { return tmp.path() / "root"; }
    fs::path tars() const { return tmp.path() / "tars"; }
    fs::path meta(const BuiltLayer& l) const { return root() / "image/overlay2/layerdb/sha256" / l.chain_id.substr(7); }
    fs::path driver(const BuiltLayer& l) const { return root() / "overlay2" / l.cache_id; }

    TempDir tmp;
    FixtureLayers layers{tmp.path() / "layers"};
    std::vector<std::string> notes;
};

TEST_F(StoreBuilderTest, DiffIdIsSha256OfTheLayerTar) {
    auto im = build(MarkerForm::aufs_files, {layers.base, layers.change, layers.replace});
    for (const auto& l : im.layers) {
        fs::path tar = tars() / (l.diff_id.substr(7) + ".tar");
        ASSERT_TRUE(fs::exists(tar));
        EXPECT_EQ("sha256:" + sha256_hex(read_text(tar)), l.diff_id);
    }
}

TEST_F(StoreBuilderTest, TarSplitRebuildsTheTar) {
    for (MarkerForm form : {MarkerForm::aufs_files, MarkerForm::kernel}) {
        if (form == MarkerForm::kernel && !is_root()) continue;
        fs::remove_all(root());
        auto im = build(form, {layers.base, layers.change, layers.replace});
        for (const auto& l : im.layers) {
            std::string tar = read_text(tars() / (l.diff_id.substr(7) + ".tar"));
            std::string rebuilt = reassemble(meta(l) / "tar-split.json.gz", driver(l) / "diff");
            EXPECT_EQ(rebuilt.size(), tar.size());
            EXPECT_TRUE(rebuilt == tar) << l.diff_id;
        }
    }
}

TEST_F(StoreBuilderTest, TarHoldsDockerWhiteoutEntries) {
    auto im = build(MarkerForm::aufs_files, {layers.base, layers.change});
    std::vector<std::string> names;
    for_each_tar_split_name(meta(im.layers[1]) / "tar-split.json.gz",
                            [&](const std::string& n) { names.push_back(n); });
    // Walk order, directories with '/', the opaque marker right after its directory.
    EXPECT_EQ(names, (std::vector<std::string>{"etc/", "etc/.wh.motd", "usr/", "usr/share/", "usr/share/doc/",
                                               "usr/share/doc/.wh..wh..opq", "usr/share/doc/NEW"}));
}

TEST_F(StoreBuilderTest, KernelFormMarkers) {
    if (!is_root()) GTEST_SKIP() << "needs root for mknod and trusted.* xattrs";
    auto im = build(MarkerForm::kernel, {layers.base, layers.change});
    fs::path diff = driver(im.layers[1]) / "diff";
    struct stat st;
    ASSERT_EQ(::lstat((diff / "etc/motd").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(0, 0));
    EXPECT_EQ(st.st_mode & 07777, 0u);
    EXPECT_FALSE(fs::exists(diff / "etc/.wh.motd"));
    char v[4];
    EXPECT_EQ(::lgetxattr((diff / "usr/share/doc").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
    EXPECT_EQ(v[0], 'y');
    EXPECT_FALSE(fs::exists(fs::symlink_status(diff / "usr/share/doc/.wh..wh..opq")));
    EXPECT_TRUE(fs::exists(diff / "usr/share/doc/NEW"));
}

TEST_F(StoreBuilderTest, KernelFormInputBecomesTarWhiteouts) {
    if (!is_root()) GTEST_SKIP() << "needs root for mknod and trusted.* xattrs";
    fs::path l = tmp.path() / "kernel-layer";
    fs::create_directories(l / "etc");
    ASSERT_EQ(::mknod((l / "etc/gone").c_str(), S_IFCHR, 0), 0);
    fs::create_directories(l / "opq");
    ASSERT_EQ(::lsetxattr((l / "opq").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    auto im = build(MarkerForm::aufs_files, {layers.base, l});
    auto m = DockerStore::read_markers(DockerStore(root()).resolve_image("fx:1").layers[1]);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->whiteouts, (std::unordered_set<std::string>{"etc/gone"}));
    EXPECT_EQ(m->opaque_dirs, (std::unordered_set<std::string>{"opq"}));
    // File form in the diff directory.
    fs::path diff = driver(im.layers[1]) / "diff";
    EXPECT_TRUE(fs::is_regular_file(diff / "etc/.wh.gone"));
    EXPECT_TRUE(fs::is_regular_file(diff / "opq/.wh..wh..opq"));
}

TEST_F(StoreBuilderTest, FileFormMarkers) {
    auto im = build(MarkerForm::aufs_files, {layers.base, layers.change});
    fs::path diff = driver(im.layers[1]) / "diff";
    EXPECT_TRUE(fs::is_regular_file(diff / "etc/.wh.motd"));
    EXPECT_TRUE(fs::is_regular_file(diff / "usr/share/doc/.wh..wh..opq"));
    EXPECT_FALSE(fs::exists(fs::symlink_status(diff / "etc/motd")));
}

TEST_F(StoreBuilderTest, SmallFilesAsDockerWritesThem) {
    auto im = build(MarkerForm::aufs_files, {layers.base, layers.change, layers.replace});
    for (size_t i = 0; i < im.layers.size(); ++i) {
        const auto& l = im.layers[i];
        EXPECT_EQ(read_text(meta(l) / "cache-id"), l.cache_id);
        EXPECT_EQ(read_text(meta(l) / "diff"), l.diff_id);
        EXPECT_EQ(read_text(meta(l) / "size"), std::to_string(l.size));
        EXPECT_EQ(fs::exists(meta(l) / "parent"), i > 0);
        if (i) {
            EXPECT_EQ(read_text(meta(l) / "parent"), im.layers[i - 1].chain_id);
        }
        EXPECT_EQ(read_text(driver(l) / "link"), l.link);
        EXPECT_EQ(l.link.size(), 26u);
        EXPECT_EQ(l.cache_id.size(), 64u);
        EXPECT_EQ(fs::read_symlink(root() / "overlay2/l" / l.link), fs::path("../" + l.cache_id + "/diff"));
        // committed marks layers that have a child; work exists above the base.
        EXPECT_EQ(fs::exists(driver(l) / "committed"), i + 1 < im.layers.size());
        EXPECT_EQ(fs::is_directory(driver(l) / "work"), i > 0);
        EXPECT_EQ(fs::status(driver(l) / "diff").permissions(), fs::perms(0755));
    }
    EXPECT_FALSE(fs::exists(driver(im.layers[0]) / "lower"));
    EXPECT_EQ(read_text(driver(im.layers[1]) / "lower"), "l/" + im.layers[0].link);
    EXPECT_EQ(read_text(driver(im.layers[2]) / "lower"), "l/" + im.layers[1].link + ":l/" + im.layers[0].link);
    EXPECT_EQ(fs::status(root() / "image/overlay2/repositories.json").permissions(), fs::perms(0600));
    EXPECT_EQ(fs::status(root() / "overlay2").permissions(), fs::perms(0710));
    EXPECT_EQ(fs::status(root() / "overlay2/l").permissions(), fs::perms(0700));
}

TEST_F(StoreBuilderTest, ImageConfig) {
    auto im = build(MarkerForm::aufs_files, {layers.base, layers.change});
    fs::path cfg = root() / "image/overlay2/imagedb/content/sha256" / im.id.substr(7);
    std::string bytes = read_text(cfg);
    EXPECT_EQ("sha256:" + sha256_hex(bytes), im.id);
    auto j = nlohmann::json::parse(bytes);
    EXPECT_EQ(j["rootfs"]["type"], "layers");
    EXPECT_EQ(j["rootfs"]["diff_ids"], (nlohmann::json{im.layers[0].diff_id, im.layers[1].diff_id}));
    EXPECT_EQ(j["history"].size(), 2u);
    EXPECT_EQ(j["created"], "2024-05-06T07:08:09Z");
    EXPECT_EQ(j["os"], "linux");
    EXPECT_TRUE(j.contains("architecture"));
    auto repos = nlohmann::json::parse(read_text(root() / "image/overlay2/repositories.json"));
    EXPECT_EQ(repos["Repositories"]["fx"]["fx:1"], im.id);
}

TEST_F(StoreBuilderTest, SharesRegisteredLayers) {
    auto a = build(MarkerForm::aufs_files, {layers.base, layers.change});
    auto b = build(MarkerForm::aufs_files, {layers.base, layers.change, layers.extra}, {"fx:2"});
    EXPECT_FALSE(a.layers[0].reused);
    EXPECT_TRUE(b.layers[0].reused);
    EXPECT_TRUE(b.layers[1].reused);
    EXPECT_FALSE(b.layers[2].reused);
    EXPECT_EQ(a.layers[1].cache_id, b.layers[1].cache_id);
    // The same layer dir on a different parent is a different chain, hence a new layer.
    auto c = build(MarkerForm::aufs_files, {layers.change}, {"fx:3"});
    EXPECT_EQ(c.layers[0].diff_id, a.layers[1].diff_id);
    EXPECT_NE(c.layers[0].chain_id, a.layers[1].chain_id);
    EXPECT_FALSE(c.layers[0].reused);
    // Nothing left behind in layerdb/tmp.
    EXPECT_TRUE(fs::is_empty(root() / "image/overlay2/layerdb/tmp"));
}

TEST_F(StoreBuilderTest, SizeCountsEachInodeOnce) {
    auto im = build(MarkerForm::aufs_files, {layers.base});
    // hello\n + ID=fixture\n (hard-linked: once) + old docs\n + guide\n + x\n + "motd" symlink
    EXPECT_EQ(im.layers[0].size, 6 + 11 + 9 + 6 + 2 + 4);
}

TEST_F(StoreBuilderTest, KeepsHardLinksModesTimesAndXattrs) {
    fs::path l = tmp.path() / "meta-layer";
    write_text(l / "bin/tool", "tool", 04755);
    fs::create_hard_link(l / "bin/tool", l / "bin/tool2");
    write_text(l / "old", "old");
    struct timespec old[2] = {{-1000, 0}, {-1000, 0}};
    ::utimensat(AT_FDCWD, (l / "old").c_str(), old, 0);
    struct timespec t[2] = {{1600000000, 123456789}, {1600000000, 123456789}};
    ::utimensat(AT_FDCWD, (l / "bin/tool").c_str(), t, 0);
    bool xattrs = ::lsetxattr((l / "bin/tool").c_str(), "user.note", "hi", 2, 0) == 0;
    auto im = build(MarkerForm::aufs_files, {l});
    fs::path diff = driver(im.layers[0]) / "diff";
    struct stat a, b, o;
    ASSERT_EQ(::lstat((diff / "bin/tool").c_str(), &a), 0);
    ASSERT_EQ(::lstat((diff / "bin/tool2").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(a.st_mode & 07777, 04755u);
    EXPECT_EQ(a.st_mtim.tv_sec, 1600000000);
    EXPECT_EQ(a.st_mtim.tv_nsec, 0);  // tar keeps whole seconds
    ASSERT_EQ(::lstat((diff / "old").c_str(), &o), 0);
    EXPECT_EQ(o.st_mtim.tv_sec, 0);  // Docker clamps times before 1970
    if (xattrs) {
        char v[8];
        EXPECT_EQ(::lgetxattr((diff / "bin/tool").c_str(), "user.note", v, sizeof v), 2);
        std::string tar = read_text(tars() / (im.layers[0].diff_id.substr(7) + ".tar"));
        EXPECT_NE(tar.find("SCHILY.xattr.user.note=hi"), std::string::npos);
    }
}

TEST_F(StoreBuilderTest, LongAndNonAsciiNames) {
    fs::path l = tmp.path() / "names-layer";
    std::string longname(200, 'n');
    write_text(l / "deep" / longname / longname, "deep");
    write_text(l / "caf\xc3\xa9", "utf8");
    write_text(l / "raw\xff", "not utf8");
    fs::create_symlink(std::string(300, 't'), l / "longlink");
    auto im = build(MarkerForm::aufs_files, {l});
    std::vector<std::string> names;
    for_each_tar_split_name(meta(im.layers[0]) / "tar-split.json.gz", [&](const std::string& n) { names.push_back(n); });
    EXPECT_NE(std::find(names.begin(), names.end(), "deep/" + longname + "/" + longname), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "caf\xc3\xa9"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "raw\xff"), names.end());
    const auto& layer = im.layers[0];
    EXPECT_TRUE(reassemble(meta(layer) / "tar-split.json.gz", driver(layer) / "diff") ==
                read_text(tars() / (layer.diff_id.substr(7) + ".tar")));
}

TEST_F(StoreBuilderTest, RootCreatesNoNotes) {
    if (!is_root()) GTEST_SKIP();
    build(MarkerForm::automatic, {layers.base, layers.change});
    EXPECT_TRUE(notes.empty());
}

TEST_F(StoreBuilderTest, AutomaticFormMatchesPrivilege) {
    StoreBuilder b(root());
    EXPECT_EQ(b.marker_form(), is_root() ? MarkerForm::kernel : MarkerForm::aufs_files);
    // The probe leaves nothing behind.
    EXPECT_EQ(std::distance(fs::directory_iterator(root() / "overlay2"), fs::directory_iterator()), 1);
}

}  // namespace
}  // namespace ovf::store
