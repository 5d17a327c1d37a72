// Behaviour of a mounted view beyond what a tree dump shows: writes refused with EROFS,
// overlay-private xattrs hidden, readdir offsets that survive telldir/seekdir, statfs, types of
// special files, inode numbers that match readdir and survive the kernel forgetting them.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/layer_model.hpp"
#include "support/mounts.hpp"
#include "support/tree_compare.hpp"

namespace ovft {
namespace {

constexpr int kBigDirEntries = 2500;

// Two layers with a bit of everything, in the mixed encoding when the view can read it (so
// markers of every kind are present to be hidden), mounted with the implementation under test.
class MountedView : public ::testing::Test {
protected:
    void SetUp() override {
        if (!running_as_root()) GTEST_SKIP() << "these tests mount as root";
        LayerStack s;
        Layer& low = s.add_layer();
        low.file("d/file", "lower content\n").xattrs = {{"user.keep", "k"}};
        low.file("d/gone", "whited out above");
        low.file("d/sub/inner", "i");
        low.dir("opq");
        low.file("opq/hidden", "h");
        low.file("links/a", "hard-linked");
        low.hardlink("links/b", "links/a");
        low.fifo("special/fifo");
        low.chardev("special/null", 1, 3, 0666);
        low.blockdev("special/loop", 7, 0);
        low.symlink("special/link", "../d/file");
        Entry& priv = low.file("private", "carries overlay xattrs");
        priv.xattrs = {{"trusted.overlay.custom", "x"}, {"user.visible", "v"}};
        if (impl_under_test() != Impl::Kernel) priv.xattrs.push_back({"user.overlay.custom", "u"});
        for (int i = 0; i < kBigDirEntries; i += 2) low.file("big/entry" + std::to_string(i), "");
        Layer& high = s.add_layer();
        high.whiteout("d/gone");
        high.opaque_dir("opq");
        high.file("opq/visible", "v");
        for (int i = 1; i < kBigDirEntries; i += 2) high.file("big/entry" + std::to_string(i), "");
        for (int i = 0; i < 100; ++i) high.whiteout("big/entry" + std::to_string(i * 4));
        Encoding enc = impl_under_test() == Impl::Kernel ? kernel_encoding() : mixed_encoding();
        auto layers = write_stack(s, enc, tmp_.sub("layers", false));
        layer_dirs_ = layers;
        view_ = mount_under_test(layers, tmp_.sub("mnt"));
    }

    std::string p(const std::string& rel) const { return view_->path() + "/" + rel; }

    TempDir tmp_;
    std::vector<std::string> layer_dirs_;  // top first
    std::unique_ptr<Mounted> view_;
};

int errno_of(int rc) { return rc < 0 ? errno : 0; }

TEST_F(MountedView, EveryWriteFailsWithErofs) {
    std::string before = treedump(view_->path());
    std::map<std::string, std::function<int()>> writes = {
        {"open O_WRONLY", [&] { int fd = ::open(p("d/file").c_str(), O_WRONLY); if (fd >= 0) ::close(fd); return errno_of(fd); }},
        {"open O_RDWR", [&] { int fd = ::open(p("d/file").c_str(), O_RDWR); if (fd >= 0) ::close(fd); return errno_of(fd); }},
        {"open O_TRUNC", [&] { int fd = ::open(p("d/file").c_str(), O_WRONLY | O_TRUNC); if (fd >= 0) ::close(fd); return errno_of(fd); }},
        {"open O_CREAT", [&] { int fd = ::open(p("d/new").c_str(), O_WRONLY | O_CREAT, 0644); if (fd >= 0) ::close(fd); return errno_of(fd); }},
        {"mkdir", [&] { return errno_of(::mkdir(p("d/newdir").c_str(), 0755)); }},
        {"mknod fifo", [&] { return errno_of(::mknod(p("d/newfifo").c_str(), S_IFIFO | 0644, 0)); }},
        {"symlink", [&] { return errno_of(::symlink("x", p("d/newlink").c_str())); }},
        {"link", [&] { return errno_of(::link(p("d/file").c_str(), p("d/newhard").c_str())); }},
        {"unlink", [&] { return errno_of(::unlink(p("d/file").c_str())); }},
        {"rmdir", [&] { return errno_of(::rmdir(p("d/sub").c_str())); }},
        {"rename file", [&] { return errno_of(::rename(p("d/file").c_str(), p("d/renamed").c_str())); }},
        {"rename dir", [&] { return errno_of(::rename(p("d/sub").c_str(), p("d/sub2").c_str())); }},
        {"chmod", [&] { return errno_of(::chmod(p("d/file").c_str(), 0600)); }},
        {"lchown", [&] { return errno_of(::lchown(p("d/file").c_str(), 1, 1)); }},
        {"utimensat", [&] { return errno_of(::utimensat(AT_FDCWD, p("d/file").c_str(), nullptr, 0)); }},
        {"truncate", [&] { return errno_of(::truncate(p("d/file").c_str(), 0)); }},
        {"setxattr", [&] { return errno_of(::lsetxattr(p("d/file").c_str(), "user.new", "v", 1, 0)); }},
        {"removexattr", [&] { return errno_of(::lremovexattr(p("d/file").c_str(), "user.keep")); }},
    };
    for (auto& [what, op] : writes) {
        int err = op();
        EXPECT_EQ(err, EROFS) << what << ": " << std::strerror(err);
    }
    EXPECT_TRUE(same_tree("before", before, "after", treedump(view_->path()), "writes attempted"));
}

TEST_F(MountedView, OverlayPrivateXattrsAreNeverVisible) {
    std::vector<std::string> hidden_prefixes = {"trusted.overlay."};
    if (impl_under_test() != Impl::Kernel) {
        // The kernel (without userxattr) shows user.overlay.*; overlayfuse hides both families
        // and fuse-overlayfs's own marker.
        hidden_prefixes.push_back("user.overlay.");
        hidden_prefixes.push_back("user.fuseoverlayfs.");
    }
    std::string dump = treedump(view_->path());
    for (const auto& prefix : hidden_prefixes) {
        EXPECT_EQ(dump.find(prefix), std::string::npos) << prefix << "* visible in:\n" << dump.substr(0, 4000);
    }
    char buf[64];
    for (const char* name : {"trusted.overlay.opaque", "user.overlay.opaque", "user.fuseoverlayfs.opaque"}) {
        if (std::string(name).rfind("user.", 0) == 0 && impl_under_test() == Impl::Kernel) continue;
        errno = 0;
        EXPECT_EQ(::lgetxattr(p("opq").c_str(), name, buf, sizeof buf), -1) << name;
        EXPECT_EQ(errno, ENODATA) << name;
    }
    EXPECT_EQ(::lgetxattr(p("private").c_str(), "trusted.overlay.custom", buf, sizeof buf), -1);
    EXPECT_EQ(dump_field(dump, "/private", "xattrs"), "user.visible:76");
    EXPECT_EQ(dump_field(dump, "/d/file", "xattrs"), "user.keep:6b");
}

// Reads every remaining name of DIR.
std::vector<std::string> read_rest(DIR* dir) {
    std::vector<std::string> names;
    while (struct dirent* de = ::readdir(dir)) names.push_back(de->d_name);
    return names;
}

TEST_F(MountedView, SeekdirReturnsToSavedPositionsInBigDirectory) {
    DIR* dir = ::opendir(p("big").c_str());
    ASSERT_NE(dir, nullptr) << std::strerror(errno);
    std::vector<long> positions;
    std::vector<std::string> names;
    for (;;) {
        positions.push_back(::telldir(dir));
        struct dirent* de = ::readdir(dir);
        if (!de) break;
        names.push_back(de->d_name);
    }
    // The listing itself: each name once, whiteouts and markers gone.
    std::set<std::string> unique(names.begin(), names.end());
    EXPECT_EQ(unique.size(), names.size()) << "duplicate names in readdir";
    EXPECT_EQ(unique.size(), static_cast<size_t>(kBigDirEntries - 100 + 2));  // + "." and ".."
    EXPECT_FALSE(unique.count("entry0"));
    EXPECT_TRUE(unique.count("entry1"));
    for (const auto& n : unique) EXPECT_NE(n.rfind(".wh.", 0), 0u) << "marker listed: " << n;

    for (size_t i : {size_t{0}, size_t{1}, names.size() / 3, names.size() / 2, names.size() - 1, names.size()}) {
        ::seekdir(dir, positions[i]);
        std::vector<std::string> rest = read_rest(dir);
        std::vector<std::string> expected(names.begin() + static_cast<long>(i), names.end());
        EXPECT_EQ(rest, expected) << "after seekdir to the position saved before entry " << i;
    }
    ::rewinddir(dir);
    EXPECT_EQ(read_rest(dir), names) << "after rewinddir";
    ::closedir(dir);
}

// Like every Linux filesystem (and the kernel overlay), each directory lists "." and "..".
TEST_F(MountedView, ReaddirListsDotAndDotDotInEveryDirectory) {
    for (const char* d : {"", "d", "d/sub", "opq", "big"}) {
        DIR* dir = ::opendir(p(d).c_str());
        ASSERT_NE(dir, nullptr) << d;
        std::vector<std::string> names = read_rest(dir);
        ::closedir(dir);
        EXPECT_EQ(std::count(names.begin(), names.end(), "."), 1) << "\".\" in /" << d;
        EXPECT_EQ(std::count(names.begin(), names.end(), ".."), 1) << "\"..\" in /" << d;
    }
}

TEST_F(MountedView, TwoHandlesListTheSameDirectoryIndependently) {
    DIR* a = ::opendir(p("big").c_str());
    DIR* b = ::opendir(p("big").c_str());
    ASSERT_TRUE(a && b);
    std::vector<std::string> la, lb;
    for (bool more = true; more;) {  // interleaved reads
        struct dirent* da = ::readdir(a);
        if (da) la.push_back(da->d_name);
        struct dirent* db = ::readdir(b);
        if (db) lb.push_back(db->d_name);
        more = da || db;
    }
    EXPECT_EQ(la, lb);
    ::closedir(a);
    ::closedir(b);
}

// The session loop is multi-threaded: four walks at once (first lookups racing each other)
// must each see the same tree as one walk alone.
TEST_F(MountedView, ConcurrentWalksSeeTheSameTree) {
    std::vector<std::future<std::string>> walks;
    for (int i = 0; i < 4; ++i) {
        walks.push_back(std::async(std::launch::async, [&] { return treedump(view_->path()); }));
    }
    std::vector<std::string> dumps;
    for (auto& w : walks) dumps.push_back(w.get());
    std::string alone = treedump(view_->path());
    for (size_t i = 0; i < dumps.size(); ++i) {
        EXPECT_TRUE(same_tree("walk alone", alone, "concurrent walk " + std::to_string(i), dumps[i], "4 walks"));
    }
}

TEST_F(MountedView, StatfsAnswers) {
    struct statvfs sv;
    ASSERT_EQ(::statvfs(view_->path().c_str(), &sv), 0) << std::strerror(errno);
    EXPECT_GT(sv.f_bsize, 0u);
    EXPECT_GE(sv.f_namemax, 255u);
}

TEST_F(MountedView, MountIsFlaggedReadOnly) {
    struct statvfs sv;
    ASSERT_EQ(::statvfs(view_->path().c_str(), &sv), 0);
    EXPECT_TRUE(sv.f_flag & ST_RDONLY) << "the mount is not flagged ro (writes may still fail with EROFS)";
}

TEST_F(MountedView, SpecialFilesHaveTheirTypesInStatAndReaddir) {
    std::map<std::string, std::pair<mode_t, unsigned char>> expected = {
        {"fifo", {S_IFIFO, DT_FIFO}}, {"null", {S_IFCHR, DT_CHR}}, {"loop", {S_IFBLK, DT_BLK}}, {"link", {S_IFLNK, DT_LNK}}};
    DIR* dir = ::opendir(p("special").c_str());
    ASSERT_NE(dir, nullptr);
    std::map<std::string, unsigned char> dtypes;
    while (struct dirent* de = ::readdir(dir)) dtypes[de->d_name] = de->d_type;
    ::closedir(dir);
    for (auto& [name, types] : expected) {
        struct stat st;
        ASSERT_EQ(::lstat(p("special/" + name).c_str(), &st), 0) << name;
        EXPECT_EQ(st.st_mode & S_IFMT, types.first) << name;
        EXPECT_EQ(dtypes[name], types.second) << name;
    }
    struct stat st;
    ::lstat(p("special/null").c_str(), &st);
    EXPECT_EQ(major(st.st_rdev), 1u);
    EXPECT_EQ(minor(st.st_rdev), 3u);
    char target[64] = {};
    EXPECT_EQ(::readlink(p("special/link").c_str(), target, sizeof target - 1), 9);
    EXPECT_STREQ(target, "../d/file");
}

// st_ino equals readdir's d_ino everywhere, and stays the same after the kernel dropped its
// dentries and inodes (FUSE forget, then a fresh lookup).
TEST_F(MountedView, InodeNumbersMatchReaddirAndSurviveForget) {
    auto inode_map = [&] {
        std::map<std::string, ino_t> inos;
        for (const char* d : {"", "d", "links", "special", "opq", "big"}) {
            DIR* dir = ::opendir(p(d).c_str());
            if (!dir) {
                ADD_FAILURE() << "opendir " << d << ": " << std::strerror(errno);
                continue;
            }
            while (struct dirent* de = ::readdir(dir)) {
                std::string name = de->d_name;
                if (name == "." || name == "..") continue;
                std::string rel = std::string(d) + "/" + name;
                struct stat st;
                if (::lstat(p(rel).c_str(), &st) != 0) {
                    ADD_FAILURE() << "lstat " << rel << ": " << std::strerror(errno);
                    continue;
                }
                EXPECT_EQ(st.st_ino, de->d_ino) << rel;
                inos[rel] = st.st_ino;
            }
            ::closedir(dir);
        }
        return inos;
    };
    auto first = inode_map();
    {
        CacheLock drops(CacheLock::Exclusive);
        drop_caches("2");
    }
    auto second = inode_map();
    EXPECT_EQ(first, second);
    EXPECT_EQ(first["/links/a"], first["/links/b"]);
}

TEST_F(MountedView, HardLinksShowOneInodeAndTheirLinkCount) {
    struct stat a, b;
    ASSERT_EQ(::lstat(p("links/a").c_str(), &a), 0);
    ASSERT_EQ(::lstat(p("links/b").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(a.st_nlink, 2u);
}

TEST_F(MountedView, FileContentsReadThroughReadAndMmap) {
    int fd = ::open(p("d/file").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    char buf[64] = {};
    EXPECT_EQ(::pread(fd, buf, sizeof buf, 6), 8);
    EXPECT_STREQ(buf, "content\n");
    void* map = ::mmap(nullptr, 14, PROT_READ, MAP_SHARED, fd, 0);
    ASSERT_NE(map, MAP_FAILED) << std::strerror(errno);
    EXPECT_EQ(std::string(static_cast<char*>(map), 14), "lower content\n");
    ::munmap(map, 14);
    ::close(fd);
}

// The layers are immutable while mounted, but if one changes anyway the daemon must keep
// serving: the vanished file gives an error (EIO or ENOENT), the rest of the view still works.
TEST_F(MountedView, FileVanishingFromLayerDoesNotKillTheView) {
    if (impl_under_test() == Impl::Kernel) GTEST_SKIP() << "undefined for the kernel overlay";
    struct stat st;
    ASSERT_EQ(::lstat(p("d/sub/inner").c_str(), &st), 0);
    std::string bottom = layer_dirs_.back();
    ASSERT_EQ(::unlink((bottom + "/d/sub/inner").c_str()), 0);
    int fd = ::open(p("d/sub/inner").c_str(), O_RDONLY);
    if (fd >= 0) {
        char c;
        ssize_t n = ::read(fd, &c, 1);
        if (n < 0) {
            EXPECT_TRUE(errno == EIO || errno == ENOENT) << std::strerror(errno);
        }
        ::close(fd);
    } else {
        EXPECT_TRUE(errno == EIO || errno == ENOENT) << std::strerror(errno);
    }
    EXPECT_EQ(::lstat(p("d/file").c_str(), &st), 0) << "the view stopped answering: " << std::strerror(errno);
    struct statvfs sv;
    EXPECT_EQ(::statvfs(view_->path().c_str(), &sv), 0);
}

}  // namespace
}  // namespace ovft
