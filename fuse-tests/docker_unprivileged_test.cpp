// The Docker side of "the same view checks as an unprivileged user".
//
// An ordinary user cannot read trusted.* xattrs, so Docker's opaque-directory marker
// (trusted.overlay.opaque=y) is invisible to a user's overlayfuse; it must recover the markers
// from each layer's layerdb/sha256/CHAIN/tar-split.json.gz, and refuse to mount when it cannot.
//
// Set-up: a copy of the part of the store an image needs (image/overlay2 metadata, the image's
// overlay2/CACHEID layer directories and their l/ links), made by root with `cp -a` so that the
// trusted.* xattrs are kept, then `chmod -R a+rX` so the user can read every file. The chmod
// changes modes, so the user's view is compared with root's view OF THE SAME COPY (root reads
// the xattrs directly), all fields; the copy is never compared with the original store.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "docker_fixture.hpp"
#include "support/harness.hpp"
#include "support/mounts.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_small(const fs::path& p) {
    std::ifstream in(p);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return ovfd::trim(s);
}

// The unprivileged user, with /dev/fuse opened to others as CI does (`chmod 0666 /dev/fuse`,
// what distributions ship). Skips the test when that is impossible.
#define OVFD_REQUIRE_USER(user_var)                                                 \
    std::optional<ovft::TestUser> user_var;                                         \
    do {                                                                            \
        std::string why;                                                            \
        user_var = ovft::test_user(&why);                                           \
        if (!user_var) GTEST_SKIP() << why;                                         \
        if (!ovft::unprivileged_fuse_unavailable_reason().empty() &&               \
            ovft::running_as_root()) {                                              \
            ::chmod("/dev/fuse", 0666);                                             \
        }                                                                           \
        std::string r = ovft::unprivileged_fuse_unavailable_reason();               \
        if (!r.empty()) GTEST_SKIP() << r;                                          \
    } while (0)

// A readable copy of what IMAGE needs from the store, under a fresh temporary directory.
class StoreCopy {
public:
    StoreCopy(const std::string& image, const ovft::TestUser& user) {
        tmp_.open_for(user);
        root_ = tmp_.sub("root");
        std::string src = ovfd::docker_root();
        fs::create_directories(root_ + "/image");
        fs::create_directories(root_ + "/overlay2/l");
        ovfd::copy_preserving({src + "/image/overlay2", root_ + "/image/"});
        for (const auto& diff : ovfd::docker_image(image).layer_dirs_top_first) {
            fs::path layer = fs::path(diff).parent_path();
            ovfd::copy_preserving({layer.string(), root_ + "/overlay2/"});
            std::string link = read_small(layer / "link");
            ovfd::copy_preserving({src + "/overlay2/l/" + link, root_ + "/overlay2/l/"});
            layers_.push_back(root_ + "/overlay2/" + layer.filename().string());
        }
        ovft::RunResult r = ovft::run({"chmod", "-R", "a+rX", root_});
        if (r.exit_code != 0) throw std::runtime_error(r.describe());
    }
    const std::string& root() const { return root_; }
    const ovft::TempDir& tmp() const { return tmp_; }
    // overlay2/CACHEID directories of the copy, top first.
    const std::vector<std::string>& layers() const { return layers_; }

    // The layerdb directory (image/overlay2/layerdb/sha256/CHAIN) of a copied layer.
    std::string layerdb_of(const std::string& layer_dir) const {
        std::string cache_id = fs::path(layer_dir).filename().string();
        for (const auto& e : fs::directory_iterator(root_ + "/image/overlay2/layerdb/sha256")) {
            if (read_small(e.path() / "cache-id") == cache_id) return e.path().string();
        }
        throw std::runtime_error("no layerdb entry for cache-id " + cache_id);
    }

private:
    ovft::TempDir tmp_;
    std::string root_;
    std::vector<std::string> layers_;
};

// Directories (relative to the layer's diff/) that carry trusted.overlay.opaque in LAYER_DIR.
std::vector<std::string> opaque_dirs(const std::string& layer_dir) {
    std::vector<std::string> out;
    std::string diff = layer_dir + "/diff";
    for (auto it = fs::recursive_directory_iterator(diff); it != fs::recursive_directory_iterator();
         ++it) {
        if (it->is_symlink() || !it->is_directory()) continue;
        char v[8];
        if (::lgetxattr(it->path().c_str(), "trusted.overlay.opaque", v, sizeof v) > 0) {
            out.push_back("/" + it->path().lexically_relative(diff).string());
        }
    }
    return out;
}

std::unique_ptr<ovft::FuseView> mount_copy(const StoreCopy& copy, const std::string& image,
                                           const std::string& mnt,
                                           const std::optional<ovft::TestUser>& user) {
    return std::make_unique<ovft::FuseView>(
        std::vector<std::string>{ovft::overlayfuse_bin(), "mount", "--root", copy.root(), image, mnt},
        mnt, std::string("overlayfuse mount ") + (user ? "(as " + user->name + ") " : "") + image,
        user);
}

struct UserCase {
    std::string name, ref;
    std::vector<std::string> hidden_by_opaque;  // lower entries an opaque directory hides
};

void PrintTo(const UserCase& c, std::ostream* os) { *os << c.ref; }

class DockerUnprivileged : public ::testing::TestWithParam<UserCase> {};

TEST_P(DockerUnprivileged, UserViewEqualsRootView) {
    OVFD_REQUIRE_DOCKER();
    OVFD_REQUIRE_USER(user);
    const UserCase& c = GetParam();
    StoreCopy copy(c.ref, *user);
    // The premise: the copy has opaque directories, marked only by the trusted xattr.
    size_t opaque = 0;
    for (const auto& l : copy.layers()) opaque += opaque_dirs(l).size();
    ASSERT_GT(opaque, 0u) << c.ref << " has no opaque directory: the test would prove nothing";

    std::string root_mnt = copy.tmp().sub("root-mnt");
    std::string user_mnt = copy.tmp().sub("user-mnt");
    ASSERT_EQ(::chown(user_mnt.c_str(), user->uid, user->gid), 0);
    auto root_view = mount_copy(copy, c.ref, root_mnt, std::nullopt);
    auto user_view = mount_copy(copy, c.ref, user_mnt, user);
    ovfd::Dump r = ovfd::tree_dump(root_view->path(), {});
    // Root cannot enter a user's FUSE mount (no allow_other): the user dumps it.
    ovfd::Dump u = ovfd::tree_dump(user_view->path(), {}, user);
    auto diffs = ovfd::compare_dumps(r, "root", u, user->name);
    EXPECT_TRUE(diffs.empty()) << c.ref << ": the unprivileged view differs from root's\n"
                               << ovfd::describe_differences(diffs, r, u, "unpriv-" + c.name);
    for (const auto& p : c.hidden_by_opaque) {
        EXPECT_EQ(u.entries.count(p), 0u) << p << " shows through an opaque directory as "
                                          << user->name;
        EXPECT_EQ(r.entries.count(p), 0u) << p << " shows through an opaque directory as root";
    }
}

INSTANTIATE_TEST_SUITE_P(
    Images, DockerUnprivileged,
    ::testing::Values(
        UserCase{"deletes", "ovf-test/deletes:1",
                 {"/usr/share/doc/pkg-c/README", "/usr/share/doc/pkg-c/examples/ex1"}},
        UserCase{"whfiles", "ovf-test/whfiles:1",
                 {"/usr/share/doc/pkg-d/README", "/usr/share/doc/pkg-d/examples"}},
        UserCase{"many", "ovf-test/many:1", {"/many/d/f10", "/many/d/f90"}},
        UserCase{"loaded", "ovf-test/loaded:1",
                 {"/usr/share/doc/pkg-e/README", "/usr/share/doc/pkg-e/examples"}}),
    [](const ::testing::TestParamInfo<UserCase>& info) { return info.param.name; });

// Without tar-split.json.gz for a layer that has an opaque directory, a user's overlayfuse has
// no way to see the marker: it must refuse (non-zero exit, one line that says why) rather than
// merge wrongly in silence. Root can still mount the same copy (it reads the xattr).
TEST(DockerUnprivilegedRefusal, MissingTarSplitIsRefused) {
    OVFD_REQUIRE_DOCKER();
    OVFD_REQUIRE_USER(user);
    const std::string ref = "ovf-test/deletes:1";
    StoreCopy copy(ref, *user);
    size_t removed = 0;
    for (const auto& l : copy.layers()) {
        if (opaque_dirs(l).empty()) continue;
        fs::remove(copy.layerdb_of(l) + "/tar-split.json.gz");
        ++removed;
    }
    ASSERT_GT(removed, 0u);

    std::string user_mnt = copy.tmp().sub("user-mnt");
    ASSERT_EQ(::chown(user_mnt.c_str(), user->uid, user->gid), 0);
    ovft::RunOptions o;
    o.as_user = user;
    ovft::RunResult r = ovft::run(
        {ovft::overlayfuse_bin(), "mount", "--root", copy.root(), ref, user_mnt}, o);
    EXPECT_NE(r.exit_code, 0) << "mounted without any source of opaque markers: " << r.describe();
    EXPECT_FALSE(ovft::is_mount_point(user_mnt));
    if (ovft::is_mount_point(user_mnt)) {
        ovft::run({"fusermount3", "-u", user_mnt}, o);
    }
    std::string err = ovfd::trim(r.err);
    EXPECT_FALSE(err.empty());
    EXPECT_EQ(err.find('\n'), std::string::npos) << "not one line: " << r.err;
    EXPECT_TRUE(err.find("tar-split") != std::string::npos ||
                err.find("opaque") != std::string::npos ||
                err.find("trusted") != std::string::npos)
        << "the message does not say why: " << r.err;

    // Root reads trusted.overlay.opaque itself and does not need tar-split.
    std::string root_mnt = copy.tmp().sub("root-mnt");
    auto root_view = mount_copy(copy, ref, root_mnt, std::nullopt);
    struct stat st;
    EXPECT_NE(::lstat((root_mnt + "/usr/share/doc/pkg-c/README").c_str(), &st), 0);
    EXPECT_EQ(::lstat((root_mnt + "/usr/share/doc/pkg-c/examples").c_str(), &st), 0);
}

// Root's mount is shared with other users (allow_other); they must get the permissions the image
// says, not root's: a mode 0600 file and a mode 0700 directory stay closed to them.
TEST(DockerUnprivilegedRefusal, RootMountKeepsImagePermissionsForOthers) {
    OVFD_REQUIRE_DOCKER();
    OVFD_REQUIRE_USER(user);
    ovft::TempDir tmp;
    tmp.open_for(*user);
    std::string mnt = tmp.sub("mnt");
    std::vector<std::string> argv = {ovft::overlayfuse_bin(), "mount"};
    for (const auto& a : ovfd::root_args()) argv.push_back(a);
    argv.push_back("ovf-test/meta:1");
    argv.push_back(mnt);
    ovft::FuseView view(argv, mnt, "overlayfuse mount ovf-test/meta:1");
    ovft::RunOptions o;
    o.as_user = user;
    // readable by all in the image
    ovft::RunResult ok = ovft::run({"cat", mnt + "/etc/os-release"}, o);
    EXPECT_EQ(ok.exit_code, 0) << "allow_other missing? " << ok.describe();
    // /etc/passwd is 0600 root in ovf-test/meta:1, /etc/shadow 0640 root:42
    for (const char* p : {"/etc/passwd", "/etc/shadow", "/data/modes/file-0000"}) {
        ovft::RunResult r = ovft::run({"cat", mnt + p}, o);
        EXPECT_NE(r.exit_code, 0) << user->name << " read " << p << " through root's mount";
    }
    ovft::RunResult ls = ovft::run({"ls", mnt + "/data/modes/dir-0700"}, o);
    EXPECT_NE(ls.exit_code, 0) << user->name << " listed a mode 0700 directory: " << ls.describe();
}

}  // namespace
