// overlayfuse's view of real Docker images, compared with
//  (1) what Docker itself exports (`docker create` + `docker export`), and
//  (2) the kernel overlay mounted read-only over the same overlay2 layer directories, field by
//      field (xattrs, link counts, inode identity included).
// The images come from fuse-tests/docker-images/ (see docs/testing-docker.md).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "docker_fixture.hpp"
#include "support/harness.hpp"
#include "support/mounts.hpp"

namespace fs = std::filesystem;

namespace {

using ovfd::Dump;
using ovfd::TestImage;

// `overlayfuse mount IMAGE MNT` as root (allow_other is implied for root), unmounted by the guard.
std::unique_ptr<ovft::FuseView> mount_image(const std::string& ref, const std::string& mnt,
                                            const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {ovft::overlayfuse_bin(), "mount"};
    for (const auto& a : ovfd::root_args()) argv.push_back(a);
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(ref);
    argv.push_back(mnt);
    return std::make_unique<ovft::FuseView>(argv, mnt, "overlayfuse mount " + ref);
}

// The export of each image is made once per run and shared by the tests that need it.
const Dump& export_dump(const std::string& ref) {
    static std::map<std::string, Dump> cache;
    auto it = cache.find(ref);
    if (it != cache.end()) return it->second;
    ovft::TempDir tmp;
    std::string dir = tmp.sub("export", false);
    ovfd::export_image(ref, dir);
    return cache[ref] = ovfd::tree_dump(dir, ovfd::export_dump_args());
}

// The kernel's merged view of an image's layer directories (read-only, lowerdir only). The
// kernel refuses an overlay of a single lowerdir; a single layer without whiteouts (the imported
// base) is its own merged view, so the layer directory itself is the oracle then.
struct Oracle {
    Oracle(const ovfd::DockerImage& image, const ovft::TempDir& tmp) {
        if (image.layer_dirs_top_first.size() >= 2) {
            kernel = std::make_unique<ovft::KernelOverlay>(image.layer_dirs_top_first,
                                                           tmp.sub("kernel"));
            dir = kernel->path();
            name = "kernel-overlay";
        } else {
            dir = image.layer_dirs_top_first.front();
            name = "layer-dir";
        }
    }
    std::unique_ptr<ovft::KernelOverlay> kernel;
    std::string dir, name;
};

class DockerView : public ::testing::TestWithParam<TestImage> {};

// Names the image's own Dockerfile says must exist or must not exist in the merged view. These
// pin the semantics independently of the oracles (which could agree with each other and still
// both be misread by this test).
struct Expectations {
    std::vector<std::string> present;
    std::vector<std::string> absent;
};
const std::map<std::string, Expectations>& expectations() {
    static const std::map<std::string, Expectations> e = {
        {"base",
         {{"/bin/busybox", "/bin/sh", "/data/hl/rm_b", "/data/xattrs/file", "/dev/null",
           "/data/fifo", "/usr/share/doc/pkg-c/README"},
          {"/.dockerenv", "/proc"}}},
        {"deletes",
         {{"/usr/share/doc/pkg-c/examples", "/data/tree/a/again", "/data/plain.txt",
           "/data/hl/rm_a", "/data/hl/rm_c", "/bin/sh", "/etc/skel"},
          {"/etc/motd", "/usr/share/doc/pkg-a/copyright", "/usr/share/doc/pkg-b", "/bin/true",
           "/data/hl/rm_b",
           // opaque (re-created in one RUN): the lower README and examples/ex1 are gone
           "/usr/share/doc/pkg-c/README", "/usr/share/doc/pkg-c/examples/ex1",
           "/usr/share/doc/pkg-c/NEW",
           // whiteout in a lower layer, plain directory above: the merge stops at the whiteout
           "/data/tree/x", "/data/tree/top", "/data/tree/a/b", "/data/xattrs/file2",
           "/data/chardev", "/data/fifo", "/data/link-abs", "/data/emptydir", "/etc/skel/README",
           "/etc/skel/.profile"}}},
        {"replace",
         {{"/data/file2dir/inner", "/data/link2dir/new", "/data/setuid-file2/d/x"},
          {"/data/dir2file/sub", "/data/link2dir/a", "/data/dev2dir/node"}}},
        {"meta", {{"/data/hl/mod_a", "/data/hl/mod_b", "/data/modes/dir-1777/added"}, {}}},
        {"names",
         {{"/data/names/ünïcødé/neu", "/data/names/dir with space/inner file"},
          {"/data/names/ünïcødé/文件.txt"}}},
        {"whfiles",
         {{"/usr/share/doc/pkg-d/NEW", "/data/fresh/real", "/data/tree/a/b/c/leaf"},
          {"/etc/group", "/etc/.wh.group", "/usr/share/doc/pkg-d/README",
           "/usr/share/doc/pkg-d/.wh..wh..opq", "/data/tree/x", "/data/.wh.never-existed",
           "/data/fresh/.wh.ghost", "/data/fresh/ghost"}}},
        {"many",
         {{"/many/merged/f100", "/many/merged/f3", "/many/d/f100", "/many/nest/n91/x/v"},
          {"/many/merged/f2", "/many/merged/f93", "/many/d/f90", "/many/merged/f50"}}},
        {"shared", {{"/data/hl/mod_a"}, {}}},
        {"loaded",
         {{"/usr/share/doc/pkg-e/new", "/data/loaded/hl2", "/data/loaded/xdir", "/etc/passwd"},
          {"/etc/os-release", "/etc/.wh.os-release", "/usr/share/doc/pkg-e/README",
           "/usr/share/doc/pkg-e/.wh..wh..opq", "/data/tree/a/b/c/leaf",
           "/data/tree/a/b/c/.wh.leaf"}}},
    };
    return e;
}

TEST_P(DockerView, OverlayfuseEqualsDockerExport) {
    OVFD_REQUIRE_DOCKER();
    const TestImage& img = GetParam();
    const Dump& exported = export_dump(img.ref);
    ovft::TempDir tmp;
    auto view = mount_image(img.ref, tmp.sub("mnt"));
    Dump mounted = ovfd::tree_dump(view->path(), ovfd::export_dump_args());
    auto diffs = ovfd::compare_dumps(exported, "docker-export", mounted, "overlayfuse",
                                     ovfd::kInitLayerMtimeOnly);
    EXPECT_TRUE(diffs.empty()) << img.ref << ": overlayfuse differs from docker export\n"
                               << ovfd::describe_differences(diffs, exported, mounted,
                                                             "docker-export-" + img.name);
}

// The oracles agree with each other once the init layer and the fields docker export cannot
// carry are left out: this checks the ignore list itself, independently of overlayfuse.
TEST_P(DockerView, KernelOverlayEqualsDockerExport) {
    OVFD_REQUIRE_DOCKER();
    const TestImage& img = GetParam();
    const Dump& exported = export_dump(img.ref);
    ovft::TempDir tmp;
    Oracle oracle(ovfd::docker_image(img.ref), tmp);
    Dump k = ovfd::tree_dump(oracle.dir, ovfd::export_dump_args());
    auto diffs = ovfd::compare_dumps(exported, "docker-export", k, oracle.name,
                                     ovfd::kInitLayerMtimeOnly);
    EXPECT_TRUE(diffs.empty()) << img.ref << ": the two oracles disagree\n"
                               << ovfd::describe_differences(diffs, exported, k,
                                                             "export-vs-kernel-" + img.name);
}

// All fields: modes, owners, sizes, content, link targets, devices, mtimes, every xattr,
// link counts, inode identity of hard links, readdir d_ino/d_type against lstat.
TEST_P(DockerView, OverlayfuseEqualsKernelOverlay) {
    OVFD_REQUIRE_DOCKER();
    const TestImage& img = GetParam();
    ovfd::DockerImage di = ovfd::docker_image(img.ref);
    ovft::TempDir tmp;
    Oracle oracle(di, tmp);
    Dump k = ovfd::tree_dump(oracle.dir, {});
    auto view = mount_image(img.ref, tmp.sub("mnt"));
    Dump o = ovfd::tree_dump(view->path(), {});
    auto diffs = ovfd::compare_dumps(k, oracle.name, o, "overlayfuse");
    EXPECT_TRUE(diffs.empty()) << img.ref << ": overlayfuse differs from the " << oracle.name
                               << "\n"
                               << ovfd::describe_differences(diffs, k, o, "kernel-" + img.name);
}

TEST_P(DockerView, DockerfileExpectationsHold) {
    OVFD_REQUIRE_DOCKER();
    const TestImage& img = GetParam();
    auto it = expectations().find(img.name);
    ASSERT_NE(it, expectations().end()) << "no expectations for " << img.name;
    ovft::TempDir tmp;
    auto view = mount_image(img.ref, tmp.sub("mnt"));
    struct stat st;
    for (const auto& p : it->second.present) {
        EXPECT_EQ(::lstat((view->path() + p).c_str(), &st), 0)
            << img.ref << ": " << p << " should exist in the merged view";
    }
    for (const auto& p : it->second.absent) {
        EXPECT_NE(::lstat((view->path() + p).c_str(), &st), 0)
            << img.ref << ": " << p << " should not exist in the merged view";
    }
}

INSTANTIATE_TEST_SUITE_P(Images, DockerView, ::testing::ValuesIn(ovfd::test_images()),
                         [](const ::testing::TestParamInfo<TestImage>& info) {
                             return info.param.name;
                         });

// The ignore list is exactly what the init layer holds: list the init layer of a created
// container (overlay2/MOUNTID-init/diff) and compare.
TEST(DockerExport, InitLayerIsExactlyTheIgnoredPaths) {
    OVFD_REQUIRE_DOCKER();
    ovfd::Container c("ovf-test/base:1");
    std::string init = c.init_layer_dir();
    ASSERT_NE(init.find("-init/"), std::string::npos) << "not an init layer: " << init;
    std::set<std::string> found;
    for (auto it = fs::recursive_directory_iterator(init); it != fs::recursive_directory_iterator();
         ++it) {
        found.insert("/" + it->path().lexically_relative(init).string());
    }
    std::set<std::string> expected(ovfd::kInitLayerPaths.begin(), ovfd::kInitLayerPaths.end());
    // /etc and /dev only hold init entries; their mtime is in kInitLayerMtimeOnly.
    expected.insert("/etc");
    expected.insert("/dev");
    EXPECT_EQ(found, expected);
}

}  // namespace
