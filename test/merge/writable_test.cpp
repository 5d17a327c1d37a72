// Writable views on plain directories: the upper directory must end up in the kernel
// overlay's format (checked on the upper itself here; fuse-tests compare with the kernel).
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "layer_fixture.hpp"
#include "overlayfuse/error.hpp"

namespace ovf::test {
namespace {

class Writable : public LayerFixture {
protected:
    // Layer 0 and 1 are lowers; the upper and work directories sit beside them.
    merge::Engine& writable(bool redirect = false) {
        fs::create_directories(base_ / "upper");
        fs::create_directories(base_ / "work");
        merge::UpperSource u{(base_ / "upper").string(), (base_ / "work").string(), !root(), redirect};
        return engine({}, {}, u);
    }
    fs::path upper(const std::string& rel = "") { return base_ / "upper" / rel; }
    bool is_whiteout(const std::string& rel) {
        struct stat st;
        return ::lstat(upper(rel).c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0;
    }
    std::string xattr_of(const fs::path& p, const char* name) {
        char buf[256];
        ssize_t n = ::lgetxattr(p.c_str(), name, buf, sizeof buf);
        return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
    }
    const char* opaque_xattr() { return root() ? "trusted.overlay.opaque" : "user.overlay.opaque"; }
    merge::Caller me() { return {::geteuid(), ::getegid(), 0}; }
};

TEST_F(Writable, WriteCopiesUpWithAttributesAndLeavesLowerAlone) {
    file(0, "d/f", "lower");
    ASSERT_EQ(::chmod((layer(0) / "d/f").c_str(), 0640), 0);
    xattr(0, "d/f", "user.k", "v");
    struct timespec t[2] = {{1000, 0}, {2000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (layer(0) / "d/f").c_str(), t, 0), 0);
    writable();
    merge::Node* f = resolve("d/f");
    ASSERT_NE(f, nullptr);
    ino_t ino = attr(*f).st_ino;
    int fd = engine_->open(*f, O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "+", 1), 1);
    ::close(fd);
    EXPECT_EQ(read("d/f"), "lower+");
    std::ifstream lower(layer(0) / "d/f");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(lower), {}), "lower");
    struct stat st;
    ASSERT_EQ(::lstat(upper("d/f").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(xattr_of(upper("d/f"), "user.k"), "v");
    EXPECT_EQ(attr(*f).st_ino, ino) << "st_ino stays across copy-up";
    // Nothing left in the work directory but the device whiteouts are linked to.
    for (const auto& e : fs::directory_iterator(base_ / "work" / "work"))
        EXPECT_EQ(e.path().filename(), "whiteout") << "left in the work directory";
}

// lookup() with attributes skips the second stat of a node it just made; what it gives must
// be what getattr() gives, and for a node the view already had, its current attributes.
TEST_F(Writable, LookupAttributesAreGetattrs) {
    file(0, "d/f", "four");
    file(1, "d/low", "lower");
    dir(1, "d/sub/x");
    dir(0, "d/sub/y");
    fs::create_hard_link(layer(1) / "d" / "low", layer(1) / "d" / "low2");
    fs::create_symlink("f", layer(0) / "d" / "ln");
    writable();
    merge::Node* d = resolve("d");
    ASSERT_NE(d, nullptr);
    auto same = [](const struct stat& a, const struct stat& b, const std::string& what) {
        EXPECT_EQ(a.st_ino, b.st_ino) << what;
        EXPECT_EQ(a.st_mode, b.st_mode) << what;
        EXPECT_EQ(a.st_nlink, b.st_nlink) << what;
        EXPECT_EQ(a.st_size, b.st_size) << what;
        EXPECT_EQ(a.st_uid, b.st_uid) << what;
        EXPECT_EQ(a.st_gid, b.st_gid) << what;
        EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec) << what;
        EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec) << what;
    };
    for (const char* name : {"f", "low", "low2", "sub", "ln"}) {
        merge::Node* n = nullptr;
        struct stat got{}, want{};
        ASSERT_EQ(engine_->lookup(*d, name, &n, &got), 0) << name;
        ASSERT_EQ(engine_->getattr(*n, &want), 0) << name;
        same(got, want, name);
    }
    // Copied up and grown since it was made: a second lookup must not serve the old size.
    merge::Node* f = resolve("d/low");
    ASSERT_NE(f, nullptr);
    int fd = engine_->open(*f, O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "++", 2), 2);
    ::close(fd);
    merge::Node* again = nullptr;
    struct stat got{};
    ASSERT_EQ(engine_->lookup(*d, "low", &again, &got), 0);
    EXPECT_EQ(got.st_size, 7);
}

TEST_F(Writable, ReadingDoesNotCopyUp) {
    file(0, "f", "lower");
    writable();
    EXPECT_EQ(read("f"), "lower");
    EXPECT_FALSE(fs::exists(upper("f")));
}

TEST_F(Writable, UnlinkOfLowerNameLeavesWhiteout) {
    REQUIRE_ROOT();
    file(0, "d/f");
    file(0, "d/keep");
    writable();
    ASSERT_NE(resolve("d"), nullptr);
    EXPECT_EQ(engine_->unlink(*resolve("d"), "f"), 0);
    EXPECT_TRUE(is_whiteout("d/f"));
    EXPECT_EQ(names("d"), (std::vector<std::string>{"keep"}));
}

// Like the kernel overlay, whiteouts are links of one device in the work directory, not a
// new inode each: `rm -rf` of a lower tree spent most of its time allocating inodes.
TEST_F(Writable, WhiteoutsAreLinksOfOneDevice) {
    REQUIRE_ROOT();
    file(0, "d/a");
    file(0, "d/b");
    file(0, "c");
    writable();
    EXPECT_EQ(engine_->unlink(*resolve("d"), "a"), 0);
    EXPECT_EQ(engine_->unlink(*resolve("d"), "b"), 0);
    EXPECT_EQ(engine_->unlink(engine_->root(), "c"), 0);
    struct stat a, b, c;
    ASSERT_EQ(::lstat(upper("d/a").c_str(), &a), 0);
    ASSERT_EQ(::lstat(upper("d/b").c_str(), &b), 0);
    ASSERT_EQ(::lstat(upper("c").c_str(), &c), 0);
    EXPECT_TRUE(is_whiteout("d/a") && is_whiteout("d/b") && is_whiteout("c"));
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(a.st_ino, c.st_ino);
    EXPECT_GE(a.st_nlink, 4u);  // three whiteouts and the device in WORK/work
    EXPECT_EQ(names("d"), std::vector<std::string>{});
}

TEST_F(Writable, UnlinkOfUpperOnlyNameLeavesNothing) {
    dir(0, "d");
    writable();
    merge::Node* n = nullptr;
    int fd = -1;
    ASSERT_EQ(engine_->create(*resolve("d"), "new", 0644, O_WRONLY, me(), &n, &fd), 0);
    ::close(fd);
    EXPECT_TRUE(fs::exists(upper("d/new")));
    EXPECT_EQ(engine_->unlink(*resolve("d"), "new"), 0);
    EXPECT_FALSE(fs::exists(upper("d/new")));
    struct stat st;
    EXPECT_NE(::lstat(upper("d/new").c_str(), &st), 0);
}

TEST_F(Writable, DirectoryRemovedAndMadeAgainIsOpaque) {
    REQUIRE_ROOT();
    file(0, "d/old");
    writable();
    merge::Node* d = resolve("d");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(engine_->unlink(*d, "old"), 0);
    EXPECT_EQ(engine_->rmdir(engine_->root(), "d"), 0);
    EXPECT_TRUE(is_whiteout("d"));
    merge::Node* nd = nullptr;
    ASSERT_EQ(engine_->mkdir(engine_->root(), "d", 0755, me(), &nd), 0);
    EXPECT_EQ(xattr_of(upper("d"), opaque_xattr()), "y");
    EXPECT_TRUE(names("d").empty());
}

TEST_F(Writable, RenamingLowerDirectoryGivesExdevWithoutRedirect) {
    file(0, "d/f");
    writable();
    EXPECT_EQ(engine_->rename(engine_->root(), "d", engine_->root(), "e", 0), -EXDEV);
}

TEST_F(Writable, RedirectRenameKeepsLowerContent) {
    REQUIRE_ROOT();
    file(0, "d/f", "x");
    writable(true);
    ASSERT_EQ(engine_->rename(engine_->root(), "d", engine_->root(), "e", 0), 0);
    EXPECT_EQ(names("e"), (std::vector<std::string>{"f"}));
    EXPECT_FALSE(exists("d"));
    EXPECT_EQ(xattr_of(upper("e"), "trusted.overlay.redirect"), "d");
    EXPECT_TRUE(is_whiteout("d"));
}

TEST_F(Writable, RenameFileOverLowerLeavesWhiteoutAtOldName) {
    REQUIRE_ROOT();
    file(0, "a", "A");
    file(0, "b", "B");
    writable();
    ASSERT_EQ(engine_->rename(engine_->root(), "a", engine_->root(), "b", 0), 0);
    EXPECT_EQ(read("b"), "A");
    EXPECT_FALSE(exists("a"));
    EXPECT_TRUE(is_whiteout("a"));
}

TEST_F(Writable, RenameNoreplaceAndExchange) {
    file(0, "a", "A");
    file(0, "b", "B");
    writable();
    EXPECT_EQ(engine_->rename(engine_->root(), "a", engine_->root(), "b", RENAME_NOREPLACE), -EEXIST);
    ASSERT_EQ(engine_->rename(engine_->root(), "a", engine_->root(), "b", RENAME_EXCHANGE), 0);
    EXPECT_EQ(read("a"), "B");
    EXPECT_EQ(read("b"), "A");
}

TEST_F(Writable, LowerHardLinkSplitsOnCopyUp) {
    file(0, "a", "same");
    fs::create_hard_link(layer(0) / "a", layer(0) / "b");
    writable();
    merge::Node* a = resolve("a");
    merge::Node* b = resolve("b");
    ASSERT_NE(a, b) << "each name of a lower hard link is its own object in a writable view";
    int fd = engine_->open(*a, O_WRONLY | O_TRUNC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "changed", 7), 7);
    ::close(fd);
    EXPECT_EQ(read("a"), "changed");
    EXPECT_EQ(read("b"), "same");
}

// Nodes per name are found again by their place, which rename and unlink change.
TEST_F(Writable, NodePerNameFollowsItsNameThroughRenameAndUnlink) {
    file(0, "d/a", "same");
    fs::create_hard_link(layer(0) / "d/a", layer(0) / "d/b");
    fs::create_hard_link(layer(0) / "d/a", layer(0) / "d/c");
    writable();
    merge::Node* d = resolve("d");
    merge::Node* a = resolve("d/a");
    EXPECT_EQ(resolve("d/a"), a) << "a second lookup of the same name finds the same node";
    merge::Node* b = resolve("d/b");
    ASSERT_NE(a, b);
    ASSERT_EQ(engine_->rename(*d, "a", engine_->root(), "moved", 0), 0);
    EXPECT_EQ(resolve("moved"), a) << "found under its new name";
    EXPECT_EQ(resolve("d/a"), nullptr);
    ASSERT_EQ(engine_->rename(*d, "b", engine_->root(), "moved", RENAME_EXCHANGE), 0);
    EXPECT_EQ(resolve("moved"), b);
    EXPECT_EQ(resolve("d/b"), a);
    merge::Node* c = resolve("d/c");
    ASSERT_EQ(engine_->rename(*d, "c", *d, "b", 0), 0) << "c replaces b (node a)";
    EXPECT_EQ(resolve("d/b"), c);
    ASSERT_EQ(engine_->unlink(*d, "b"), 0);
    EXPECT_EQ(resolve("d/b"), nullptr);
    EXPECT_EQ(read("moved"), "same");
}

TEST_F(Writable, ListingSlotsStayPutWhileNamesComeAndGo) {
    for (int i = 0; i < 10; ++i) file(0, "d/f" + std::to_string(i));
    writable();
    merge::Node* d = resolve("d");
    std::shared_ptr<const merge::Listing> l;
    ASSERT_EQ(engine_->listing(*d, &l), 0);
    auto before = l->slice(5, SIZE_MAX);
    EXPECT_EQ(engine_->unlink(*d, "f2"), 0);
    merge::Node* n = nullptr;
    int fd = -1;
    ASSERT_EQ(engine_->create(*d, "late", 0644, O_WRONLY, me(), &n, &fd), 0);
    ::close(fd);
    auto after = l->slice(5, SIZE_MAX);
    std::map<std::string, size_t> slot_before, slot_after;
    for (auto& [slot, e] : before) slot_before[e.name] = slot;
    for (auto& [slot, e] : after) slot_after[e.name] = slot;
    for (auto& [name, slot] : slot_before) {
        if (name != "f2") {
            EXPECT_EQ(slot_after[name], slot) << name;
        }
    }
    EXPECT_FALSE(slot_after.count("f2"));
    ASSERT_TRUE(slot_after.count("late"));
    EXPECT_GT(slot_after["late"], before.back().first);
}

// The caller's umask applies to new objects, except in a directory with a default POSIX
// ACL: the ACL decides, in place and over a whiteout (made in the work directory), as the
// kernel overlay leaves it to the upper filesystem's own create.
TEST_F(Writable, UmaskAppliesExceptUnderADefaultAcl) {
    dir(0, "plain");
    dir(0, "acl");
    file(0, "acl/old");
    // Version 2; user::rwx group::rwx mask::rwx other::r-x.
    const uint32_t entries[][2] = {{0x00070001, 0xffffffff}, {0x00070004, 0xffffffff}, {0x00070010, 0xffffffff}, {0x00050020, 0xffffffff}};
    std::string acl("\x02\0\0\0", 4);
    acl.append(reinterpret_cast<const char*>(entries), sizeof entries);
    if (::setxattr((layer(0) / "acl").c_str(), "system.posix_acl_default", acl.data(), acl.size(), 0) != 0)
        GTEST_SKIP() << "no POSIX ACLs on " << layer(0) << ": " << std::strerror(errno);
    writable();
    merge::Caller who = me();
    who.umask = 022;
    auto make = [&](const char* dir_name, const char* name) {
        merge::Node* n = nullptr;
        int fd = -1;
        EXPECT_EQ(engine_->create(*resolve(dir_name), name, 0666, O_WRONLY, who, &n, &fd), 0) << name;
        if (fd >= 0) ::close(fd);
        if (n) engine_->forget(*n, 1);
        struct stat st{};
        ::lstat(upper(std::string(dir_name) + "/" + name).c_str(), &st);
        return st.st_mode & 07777;
    };
    EXPECT_EQ(make("plain", "f"), 0644u);
    EXPECT_EQ(make("acl", "f"), 0664u);
    EXPECT_NE(xattr_of(upper("acl/f"), "system.posix_acl_access"), "") << "inherited access ACL";
    ASSERT_EQ(engine_->unlink(*resolve("acl"), "old"), 0);
    EXPECT_EQ(make("acl", "old"), 0664u) << "made over a whiteout";
    EXPECT_EQ(xattr_of(upper("acl/old"), "system.posix_acl_access"), xattr_of(upper("acl/f"), "system.posix_acl_access"));
    for (const auto& e : fs::directory_iterator(base_ / "work" / "work"))
        EXPECT_EQ(e.path().filename(), "whiteout") << "left in the work directory";
}

// A copied-up object keeps its lower copy's number, also in a listing of its directory
// built again from the upper directory after the directory's node was forgotten; a new
// object given a deleted copy's upper inode number does not inherit the kept number.
TEST_F(Writable, CopyUpKeepsTheNumberWhenTheListingIsBuiltAgain) {
    file(0, "d/f", "f");
    file(0, "d/g", "g");
    writable();
    auto lookup_ino = [&](const char* name) {
        merge::Node* d = nullptr;
        merge::Node* n = nullptr;
        EXPECT_EQ(engine_->lookup(engine_->root(), "d", &d), 0);
        if (!d) return ino_t{0};
        ino_t ino = 0;
        struct stat st;
        if (engine_->lookup(*d, name, &n, &st) == 0) {
            ino = st.st_ino;
            engine_->forget(*n, 1);
        }
        engine_->forget(*d, 1);
        return ino;
    };
    ino_t f = lookup_ino("f");
    ASSERT_EQ(engine_->node_count(), 0u) << "nodes left: the listing would stay";
    {
        merge::Node* d = nullptr;
        merge::Node* n = nullptr;
        ASSERT_EQ(engine_->lookup(engine_->root(), "d", &d), 0);
        ASSERT_EQ(engine_->lookup(*d, "f", &n), 0);
        merge::AttrChange c;
        c.mode = 0600;
        struct stat st;
        ASSERT_EQ(engine_->setattr(*n, c, -1, &st), 0);  // copies d and d/f up
        EXPECT_EQ(st.st_ino, f);
        engine_->forget(*n, 1);
        engine_->forget(*d, 1);
    }
    ASSERT_EQ(engine_->node_count(), 0u);
    struct stat up;
    ASSERT_EQ(::lstat(upper("d/f").c_str(), &up), 0);
    ASSERT_NE(up.st_ino, f) << "the upper copy has a number of its own";
    EXPECT_EQ(lookup_ino("f"), f) << "listing of d built again";
    // Deleted, its upper number may go to the next new file; that one shows its own number.
    {
        merge::Node* d = nullptr;
        ASSERT_EQ(engine_->lookup(engine_->root(), "d", &d), 0);
        ASSERT_EQ(engine_->unlink(*d, "f"), 0);
        merge::Node* n = nullptr;
        int fd = -1;
        ASSERT_EQ(engine_->create(*d, "h", 0644, O_WRONLY, me(), &n, &fd), 0);
        ::close(fd);
        engine_->forget(*n, 1);
        engine_->forget(*d, 1);
    }
    struct stat h;
    ASSERT_EQ(::lstat(upper("d/h").c_str(), &h), 0);
    EXPECT_EQ(lookup_ino("h"), h.st_ino);
}

// Copy-up records the lower copy in overlay.origin, in the kernel's format, so the next
// engine over the same upper reports the lower numbers again: for a file, a symlink and a
// directory, not for one of two hard links (its copy left the group). A merged upper
// directory shows its lower copy's number even without an origin (an upper made elsewhere).
TEST_F(Writable, CopyUpRecordsItsOriginForTheNextMount) {
    file(0, "d/f", "f");
    symlink(0, "d/s", "nowhere");
    dir(0, "d/sub");
    file(0, "d/h1", "h");
    ASSERT_EQ(::link((layer(0) / "d/h1").c_str(), (layer(0) / "d/h2").c_str()), 0);
    dir(0, "m");
    fs::create_directories(base_ / "upper/m");  // no origin: made outside any overlay
    auto lower_ino = [&](const std::string& rel) {
        struct stat st;
        EXPECT_EQ(::lstat((layer(0) / rel).c_str(), &st), 0) << rel;
        return st.st_ino;
    };
    writable();
    merge::AttrChange chmod;
    chmod.mode = 0600;
    merge::AttrChange touch;
    touch.mtime = timespec{1000, 0};
    struct stat st;
    for (const char* rel : {"d/f", "d/sub", "d/h1"}) ASSERT_EQ(engine_->setattr(*resolve(rel), chmod, -1, &st), 0) << rel;
    ASSERT_EQ(engine_->setattr(*resolve("d/s"), touch, -1, &st), 0);
    ASSERT_TRUE(fs::is_symlink(upper("d/s")));

    // The kernel's bytes: version 0, magic 0xfb, length, flags 0 (little-endian fid), the
    // fid's type, the filesystem's uuid, the fid of name_to_handle_at(2).
    const char* name = root() ? "trusted.overlay.origin" : "user.overlay.origin";
    std::string origin = xattr_of(upper("d/f"), name);
    ASSERT_GE(origin.size(), 21u) << "no " << name << " on the copy";
    struct {
        struct file_handle h;
        unsigned char bytes[MAX_HANDLE_SZ];
    } fh{};
    fh.h.handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    ASSERT_EQ(::name_to_handle_at(AT_FDCWD, (layer(0) / "d/f").c_str(), &fh.h, &mount_id, 0), 0);
    EXPECT_EQ(origin.substr(0, 2), std::string("\x00\xfb", 2));
    EXPECT_EQ(static_cast<unsigned char>(origin[2]), origin.size());
    EXPECT_EQ(origin[3], 0);
    EXPECT_EQ(static_cast<unsigned char>(origin[4]), fh.h.handle_type);
    EXPECT_EQ(origin.substr(21), std::string(reinterpret_cast<char*>(fh.h.f_handle), fh.h.handle_bytes));
    EXPECT_EQ(xattr_of(upper("d/h1"), name), "") << "a hard link's copy names no origin";
    EXPECT_NE(xattr_of(upper("d/sub"), name), "");
    EXPECT_NE(xattr_of(upper("d/s"), name), "");

    engine_.reset();  // unmounted: its work directory is free again
    writable();       // a new engine over the same upper: nothing kept in memory
    for (const char* rel : {"d", "d/f", "d/s", "d/sub", "m"}) {
        merge::Node* n = resolve(rel);
        ASSERT_NE(n, nullptr) << rel;
        EXPECT_EQ(attr(*n).st_ino, lower_ino(rel)) << rel;
    }
    struct stat h1;
    ASSERT_EQ(::lstat(upper("d/h1").c_str(), &h1), 0);
    EXPECT_EQ(attr(*resolve("d/h1")).st_ino, h1.st_ino) << "the hard link's copy has its own number";
    std::map<std::string, ino_t> listed;
    for (const auto& e : entries(*resolve("d"))) listed[e.name] = e.ino;
    EXPECT_EQ(listed["f"], lower_ino("d/f")) << "readdir agrees";
    EXPECT_EQ(listed["sub"], lower_ino("d/sub"));
}

// An unnamed file goes to the upper copy of its directory (copied up for it) and is listed
// nowhere until link() names it.
TEST_F(Writable, TmpfileIsUnnamedUntilLinked) {
    file(0, "d/old", "o");
    writable();
    merge::Node* d = resolve("d");
    ASSERT_NE(d, nullptr);
    merge::Node* t = nullptr;
    int fd = -1;
    ASSERT_EQ(engine_->tmpfile(*d, 0640, O_WRONLY, me(), &t, &fd), 0);
    ASSERT_EQ(::write(fd, "tmp", 3), 3);
    EXPECT_EQ(attr(*t).st_nlink, 0u);
    EXPECT_EQ(attr(*t).st_mode & 07777, 0640u);
    EXPECT_EQ(names("d"), std::vector<std::string>{"old"});
    EXPECT_TRUE(fs::is_directory(upper("d"))) << "the directory was copied up";
    merge::Node* named = nullptr;
    ASSERT_EQ(engine_->link(*t, *d, "named", &named), 0);
    EXPECT_EQ(named, t) << "one node for the file and its name";
    EXPECT_EQ(read("d/named"), "tmp");
    EXPECT_EQ(attr(*t).st_nlink, 1u);
    ::close(fd);
    merge::Node* r = nullptr;
    EXPECT_EQ(engine_->tmpfile(*d, 0600, O_RDWR, me(), &r, &fd), 0);
    ::close(fd);
    EXPECT_EQ(engine_->tmpfile(*resolve("d/old"), 0600, O_RDWR, me(), &r, &fd), -ENOTDIR);
}

// The engine itself refuses an upper or work directory that overlaps a layer, before it
// empties WORK/work: a layer's content must survive a wrong command line.
class WritableOverlap : public Writable {
protected:
    void expect_refused(const fs::path& up, const fs::path& work) {
        fs::create_directories(up);
        fs::create_directories(work);
        merge::UpperSource u{up.string(), work.string(), !root(), false};
        try {
            engine({}, {}, u);
            ADD_FAILURE() << up << " / " << work << " accepted";
        } catch (const UserError& e) {
            EXPECT_NE(std::string(e.what()).find("never write into a layer"), std::string::npos) << e.what();
        }
    }
};

TEST_F(WritableOverlap, WorkInsideALowerIsRefusedAndLeftAlone) {
    file(1, "w/work/keep", "x");
    expect_refused(upper(), layer(1) / "w");
    EXPECT_TRUE(fs::exists(layer(1) / "w/work/keep")) << "WORK/work of a layer was emptied";
}

TEST_F(WritableOverlap, LowerInsideTheUpperIsRefused) {
    fs::create_directories(base_ / "outer");
    file(0, "f", "x");
    file(1, "g", "x");
    // Layer 1 named through a symlink that resolves into the upper; layer 0, checked first,
    // is a sibling outside (its chain of parents is known when layer 1's is walked).
    fs::path l1 = layer(1);
    fs::rename(l1, base_ / "outer" / "l1");
    fs::create_directory_symlink(base_ / "outer" / "l1", l1);
    expect_refused(base_ / "outer", base_ / "work");
}

TEST_F(WritableOverlap, SiblingsOfTheUpperAreAccepted) {
    file(0, "f", "x");
    file(1, "g", "x");
    fs::create_directories(base_ / "work");
    EXPECT_NO_THROW(writable());
}

TEST_F(WritableOverlap, UpperThroughDotDotIsStillTheLayer) {
    dir(0, "sub");
    expect_refused(layer(0) / "sub" / "..", base_ / "work");
}

}  // namespace
}  // namespace ovf::test
