// Minimal reproductions of the divergences the differential test found between overlayfuse
// and the kernel overlay (redirect_dir=off,index=off,metacopy=off). Each test runs the same
// few calls on both, over their own copies of the same hand-written lowers, and expects the
// same outcome. A failing test here is a bug in overlayfuse (or a divergence to decide on);
// its name says what is expected. See docs/testing-writable.md.
#include <dirent.h>
#include <signal.h>
#include <grp.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <linux/fs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "writable_support.hpp"

namespace ovft::wr {
namespace {

struct Both {
    std::string kernel, ovf;
};

Both on_both(const MountPair& p, const std::function<std::string(const std::string& root)>& f) {
    return {f(p.kernel()), f(p.ovf())};
}

#define EXPECT_SAME(both, what)                                                             \
    EXPECT_EQ((both).kernel, (both).ovf) << what << "\n  kernel overlay: " << (both).kernel \
                                         << "\n  overlayfuse:    " << (both).ovf

std::string rc(int r) { return r == 0 ? "0" : "-1 " + errno_name(errno); }

std::string lstat_text(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return "-1 " + errno_name(errno);
    char buf[200];
    std::snprintf(buf, sizeof buf, "mode=%06o uid=%u gid=%u size=%lld nlink=%lu mtime=%lld.%09ld", st.st_mode,
                  st.st_uid, st.st_gid, static_cast<long long>(st.st_size), static_cast<unsigned long>(st.st_nlink),
                  static_cast<long long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec);
    return buf;
}

ino_t ino_of(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::string append(const std::string& path, const std::string& data) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return "open -1 " + errno_name(errno);
    ssize_t n = ::write(fd, data.data(), data.size());
    std::string r = n < 0 ? "write -1 " + errno_name(errno) : "0";
    ::close(fd);
    return r;
}

// The names DIR lists, without "." and "..", sorted, each after a space.
std::string names_in(const std::string& dir) {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (struct dirent* de = ::readdir(d))
            if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0) names.push_back(de->d_name);
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    std::string out;
    for (const auto& n : names) out += " " + n;
    return out;
}

class WritableRegression : public ::testing::Test {
protected:
    void SetUp() override {
        if (!running_as_root()) GTEST_SKIP() << "mounting the kernel overlay needs root";
    }
};

// Creating d/sub/new copies up d and d/sub first. The kernel restores each copied-up
// parent's times afterwards (ovl_set_timestamps), so d keeps its lower mtime; only d/sub,
// which gained an entry, gets a new one.
TEST_F(WritableRegression, CopyUpKeepsTheParentDirectoriesTimes) {
    LayerStack s;
    Layer& l = s.add_layer();
    l.dir("d").mtime = {1500000001, 0};
    l.dir("d/sub").mtime = {1500000002, 0};
    l.file("d/sub/k", "k\n").mtime = {1500000003, 0};
    l.symlink("s", "d/sub/k");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string out = "mkdir=" + rc(::mkdir((m + "/d/sub/new").c_str(), 0755));
        struct stat st;
        ::lstat((m + "/d").c_str(), &st);
        out += " mtime(d)=" + std::to_string(st.st_mtim.tv_sec);
        return out;
    });
    EXPECT_SAME(r, "mkdir d/sub/new (copy-up of d and d/sub) must leave the mtime of d alone");
    p.unmount();
    // The same through rename(2): rename("s", "d/sub/k") copies up d and d/sub.
    MountPair p2(s);
    auto r2 = on_both(p2, [](const std::string& m) {
        std::string out = "rename=" + rc(::rename((m + "/s").c_str(), (m + "/d/sub/k").c_str()));
        struct stat st;
        ::lstat((m + "/d").c_str(), &st);
        return out + " mtime(d)=" + std::to_string(st.st_mtim.tv_sec);
    });
    EXPECT_SAME(r2, "rename(s, d/sub/k) (copy-up of d and d/sub) must leave the mtime of d alone");
    // What the upper dirs hold (the view may show cached attributes for a while).
    auto upper_mtime = [](const std::string& upper) {
        struct stat st;
        return ::lstat((upper + "/d").c_str(), &st) == 0 ? std::to_string(st.st_mtim.tv_sec) : "-1 " + errno_name(errno);
    };
    Both disk{upper_mtime(p2.kernel_upper()), upper_mtime(p2.ovf_upper())};
    EXPECT_SAME(disk, "mtime of UPPER/d after rename(s, d/sub/k) copied it up");
    p2.unmount();
    std::string v = p2.mount_kernel_over_ovf_upper();
    struct stat st;
    ASSERT_EQ(::lstat((v + "/d").c_str(), &st), 0);
    EXPECT_EQ(st.st_mtim.tv_sec, 1500000001) << "mtime of d in the kernel overlay over overlayfuse's upper";
}

// The kernel reports nlink 1 for a merged directory (ovl_getattr: counting subdirectories of
// all layers is not worth it), also once it has been copied up.
TEST_F(WritableRegression, MergedDirectoryLinkCountStaysOneAfterCopyUp) {
    LayerStack s;
    Layer& l = s.add_layer();
    l.file("d/sub/k", "k\n");
    l.dir("d/other");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string out = "chmod=" + rc(::chmod((m + "/d/sub/k").c_str(), 0600));
        return out + " | d: " + lstat_text(m + "/d").substr(0, 48) + " | d/sub: " + lstat_text(m + "/d/sub").substr(0, 48);
    });
    EXPECT_SAME(r, "lstat of merged directories after a copy-up below them");
}

// Lower f and h are one inode (nlink 2). Writing through f copies f up alone: without an
// inode index the kernel gives f a new inode (own st_ino, nlink 1) and h stays the lower one.
TEST_F(WritableRegression, CopyUpOfOneHardLinkGivesItItsOwnInodeNumber) {
    LayerStack s;
    s.add_layer().file("f", "one\n");
    s.layers[0].hardlink("h", "f");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string w = append(m + "/f", "more\n");
        return "append=" + w + " same_ino(f,h)=" + std::to_string(ino_of(m + "/f") == ino_of(m + "/h"));
    });
    EXPECT_SAME(r, "after writing through f, f and h are different files");
}

TEST_F(WritableRegression, CopyUpOfOneHardLinkShowsLinkCountOneAtOnce) {
    LayerStack s;
    s.add_layer().file("f", "one\n");
    s.layers[0].hardlink("h", "f");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string before = lstat_text(m + "/f");  // the view now knows f's attributes
        int fd = ::open((m + "/f").c_str(), O_RDWR | O_CLOEXEC);  // copies f up
        if (fd < 0) return "open -1 " + errno_name(errno);
        struct stat st;
        ::fstat(fd, &st);
        std::string out = "fstat.nlink=" + std::to_string(st.st_nlink);
        ::close(fd);
        ::lstat((m + "/f").c_str(), &st);
        out += " lstat(f).nlink=" + std::to_string(st.st_nlink);
        ::lstat((m + "/h").c_str(), &st);
        return out + " lstat(h).nlink=" + std::to_string(st.st_nlink);
    });
    EXPECT_SAME(r, "link counts right after open(f, O_RDWR) copied up one name of a lower hard-link group");
}

// A descriptor opened for reading before a copy-up reads the copy afterwards: the kernel
// overlay switches it to the upper file (ovl_real_fdget). overlayfuse read the lower file
// through the descriptor it opened with the file whenever the kernel's cache had no page.
TEST_F(WritableRegression, DescriptorOpenedForReadingReadsTheFileCopiedUpSinceThen) {
    LayerStack s;
    s.add_layer().file("f", "lower\n");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string path = m + "/f";
        int ro = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (ro < 0) return "open -1 " + errno_name(errno);
        std::string out = "append " + append(path, "upper\n");
        ::posix_fadvise(ro, 0, 0, POSIX_FADV_DONTNEED);  // the next read must ask the filesystem
        char buf[64];
        ssize_t n = ::pread(ro, buf, sizeof buf, 0);
        out += n < 0 ? " read -1 " + errno_name(errno) : " read " + std::string(buf, static_cast<size_t>(n));
        out += " fsync " + rc(::fsync(ro));
        ::close(ro);
        return out;
    });
    EXPECT_SAME(r, "pread through a read-only descriptor opened before another one appended (copy-up)");
}

// rename() of one name of a lower hard-link group copies it up; writing to it afterwards
// must work (overlayfuse: EIO).
TEST_F(WritableRegression, WriteAfterRenamingALowerHardLinkWorks) {
    LayerStack s;
    s.add_layer().file("f", "hello\n");
    s.layers[0].hardlink("h", "f");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string out = "rename=" + rc(::rename((m + "/f").c_str(), (m + "/g").c_str()));
        out += " append=" + append(m + "/g", "x\n");
        out += " g: " + lstat_text(m + "/g").substr(0, 40);
        return out;
    });
    EXPECT_SAME(r, "rename(f, g) then open(g, O_WRONLY|O_APPEND) + write");
}

// The kernel overlay lets root open device nodes of the view (mknod c 1 3 = /dev/null);
// overlayfuse's FUSE mount is nodev (and nosuid), so open() fails with EACCES.
TEST_F(WritableRegression, DeviceNodesInTheViewCanBeOpened) {
    LayerStack s;
    s.add_layer().chardev("null", 1, 3, 0666);
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string out = "lower:" + append(m + "/null", "x");
        out += " mknod=" + rc(::mknod((m + "/null2").c_str(), S_IFCHR | 0666, makedev(1, 3)));
        return out + " new:" + append(m + "/null2", "x");
    });
    EXPECT_SAME(r, "open(O_WRONLY) of a char device 1:3 in the view");
}

// New objects get their mode from the caller's umask, which the kernel applied before the
// request; the daemon's own umask (inherited from whoever mounted, 022 here) must not be
// applied a second time (a caller with umask 0 got 0644 for 0666).
TEST_F(WritableRegression, NewObjectsFollowTheCallersUmaskNotTheDaemons) {
    LayerStack s;
    s.add_layer().dir("d");
    mode_t old = ::umask(022);
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string out;
        for (mode_t mask : {mode_t{0}, mode_t{002}, mode_t{077}}) {
            ::umask(mask);
            char tag_text[8];
            std::snprintf(tag_text, sizeof tag_text, "%03o", mask);
            std::string tag = tag_text;
            int fd = ::open((m + "/d/f" + tag).c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
            if (fd >= 0) ::close(fd);
            ::mkdir((m + "/d/dir" + tag).c_str(), 0777);
            ::mknod((m + "/d/fifo" + tag).c_str(), S_IFIFO | 0666, 0);
            for (const char* n : {"/d/f", "/d/dir", "/d/fifo"}) {
                struct stat st;
                out += std::string(" ") + (n + 3) + tag + "=";
                if (::lstat((m + n + tag).c_str(), &st) != 0) {
                    out += errno_name(errno);
                    continue;
                }
                char mode[8];
                std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
                out += mode;
            }
        }
        ::umask(022);
        return out;
    });
    ::umask(old);
    EXPECT_SAME(r, "modes of files, directories and fifos made under umask 0, 002 and 077");
}

// As root (no userxattr) only trusted.overlay.* is the overlay's own namespace: the kernel
// escapes trusted.overlay.X set through the view as trusted.overlay.overlay.X, and stores
// user.overlay.X verbatim. overlayfuse escapes user.overlay.X too, so the kernel overlay
// mounted over overlayfuse's upper shows user.overlay.overlay.X.
TEST_F(WritableRegression, UserOverlayXattrIsStoredVerbatimAsRoot) {
    LayerStack s;
    s.add_layer().file("f", "f\n");
    MountPair p(s);
    for (const auto& m : {p.kernel(), p.ovf()}) {
        ASSERT_EQ(::lsetxattr((m + "/f").c_str(), "user.overlay.opaque", "y", 1, 0), 0) << m << ": " << std::strerror(errno);
    }
    auto names = [](const std::string& path) {
        char buf[4096];
        ssize_t n = ::llistxattr(path.c_str(), buf, sizeof buf);
        std::vector<std::string> v;
        for (ssize_t i = 0; i < n;) {
            std::string x(buf + i);
            i += static_cast<ssize_t>(x.size()) + 1;
            if (x.rfind("trusted.overlay.origin", 0) != 0) v.push_back(x);
        }
        std::sort(v.begin(), v.end());
        std::string s;
        for (auto& x : v) s += x + " ";
        return s;
    };
    Both upper{names(p.kernel_upper() + "/f"), names(p.ovf_upper() + "/f")};
    EXPECT_SAME(upper, "xattr names of the copied-up f in the upper dir");
    p.unmount();
    std::string v = p.mount_kernel_over_ovf_upper();
    EXPECT_EQ(names(v + "/f"), "user.overlay.opaque ") << "the kernel overlay over overlayfuse's upper";
}

// rename(2) of a merged directory over a non-empty directory: the kernel answers EXDEV (it
// cannot move a lower directory without redirect_dir) before it looks at the target.
TEST_F(WritableRegression, RenameOfALowerDirOverANonEmptyDirIsEXDEV) {
    LayerStack s;
    s.add_layer().file("A/a", "a\n");
    s.layers[0].file("B/b", "b\n");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) { return rc(::rename((m + "/A").c_str(), (m + "/B").c_str())); });
    EXPECT_SAME(r, "rename(A, B), both lower directories, B not empty");
}

// Names longer than 255 bytes: ENAMETOOLONG from the kernel (ext4 under it), not ENOENT.
TEST_F(WritableRegression, TooLongNameIsENAMETOOLONG) {
    LayerStack s;
    s.add_layer().file("f", "f\n");
    s.layers[0].symlink("s", std::string(300, 't') + "/x");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string name = std::string(300, 'n');
        std::string out = "lstat=" + lstat_text(m + "/" + name);
        out += " mkdir=" + rc(::mkdir((m + "/" + name).c_str(), 0755));
        out += " mkdir-through-symlink=" + rc(::mkdir((m + "/s/y").c_str(), 0755));
        return out;
    });
    EXPECT_SAME(r, "lookups and creates of a 300-byte name");
}

// A directory created in a setgid directory inherits the setgid bit and the group, also
// when it is created over a whiteout (a deleted lower name: the kernel builds it in the work
// dir, but with the attributes the overlay directory gives it).
TEST_F(WritableRegression, MkdirInASetgidDirectoryInheritsSetgid) {
    LayerStack s;
    Entry& d = s.add_layer().dir("sg", 02775);
    d.gid = 1000;
    s.layers[0].file("sg/old", "o\n");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string out = "mkdir=" + rc(::mkdir((m + "/sg/new").c_str(), 0755));
        out += " unlink=" + rc(::unlink((m + "/sg/old").c_str()));
        out += " mkdir-over-whiteout=" + rc(::mkdir((m + "/sg/old").c_str(), 0755));
        return out + " new: " + lstat_text(m + "/sg/new").substr(0, 30) + " old: " + lstat_text(m + "/sg/old").substr(0, 30);
    });
    EXPECT_SAME(r, "mkdir inside a setgid directory (mode 02775, gid 1000), plain and over a whiteout");
}

// POSIX ACLs in the kernel's xattr form (version 2, then tag, perm, id per entry).
std::string acl(std::initializer_list<std::tuple<uint16_t, uint16_t, uint32_t>> entries) {
    std::string out;
    auto put = [&out](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
    uint32_t version = 2;
    put(&version, 4);
    for (auto [tag, perm, id] : entries) {
        put(&tag, 2);
        put(&perm, 2);
        put(&id, 4);
    }
    return out;
}
constexpr uint16_t kUserObj = 1, kUser = 2, kGroupObj = 4, kMask = 0x10, kOther = 0x20;
constexpr uint32_t kNoId = 0xffffffff, kNobody = 65534;

// Whether UID (with that gid and no other groups) can open NAME, below the view's root M,
// for reading: "ok" or the errno. The test's own directories are private (0700), so the
// user starts from a descriptor of M.
std::string read_as(uid_t uid, const std::string& m, const std::string& name) {
    int root = ::open(m.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) return "(no root)";
    pid_t child = ::fork();
    if (child == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) ::_exit(100);
        int fd = ::openat(root, name.c_str(), O_RDONLY | O_CLOEXEC);
        ::_exit(fd >= 0 ? 0 : errno);
    }
    ::close(root);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 100) return "(could not switch user)";
    return WEXITSTATUS(status) == 0 ? "ok" : errno_name(WEXITSTATUS(status));
}

std::string acl_text(const std::string& path, const char* name) {
    char buf[256];
    ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof buf);
    if (n < 0) return errno_name(errno);
    std::string hex;
    for (ssize_t i = 0; i < n; ++i) {
        char b[3];
        std::snprintf(b, sizeof b, "%02x", static_cast<unsigned char>(buf[i]));
        hex += b;
    }
    return hex;
}

std::string mode_and_acls(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return errno_name(errno);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return std::string(mode) + " access=" + acl_text(path, "system.posix_acl_access") +
           " default=" + acl_text(path, "system.posix_acl_default");
}

// The kernel overlay's permission checks read the layers' POSIX ACLs: a file of mode 0640
// whose ACL lets user 65534 read is readable by that user (overlayfuse denied it: the
// kernel applied default_permissions to the mode bits alone).
TEST_F(WritableRegression, ALowerFilesAclGrantsWhatItSays) {
    LayerStack s;
    Entry& f = s.add_layer().file("granted", "secret\n", 0640);
    f.xattrs.push_back({"system.posix_acl_access",
                        acl({{kUserObj, 6, kNoId}, {kUser, 4, kNobody}, {kGroupObj, 0, kNoId}, {kMask, 4, kNoId}, {kOther, 0, kNoId}})});
    s.layers[0].file("plain", "plain\n", 0640);
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string out = "granted: " + read_as(kNobody, m, "granted") + " plain: " + read_as(kNobody, m, "plain");
        // Through the view: an ACL set on the copy-up of "plain", then narrowed by chmod.
        std::string a = acl({{kUserObj, 6, kNoId}, {kUser, 4, kNobody}, {kGroupObj, 4, kNoId}, {kMask, 4, kNoId}, {kOther, 0, kNoId}});
        out += " setfacl=" + rc(::setxattr((m + "/plain").c_str(), "system.posix_acl_access", a.data(), a.size(), 0));
        out += " then: " + read_as(kNobody, m, "plain") + " " + mode_and_acls(m + "/plain");
        out += " chmod=" + rc(::chmod((m + "/plain").c_str(), 0600));
        return out + " then: " + read_as(kNobody, m, "plain") + " " + mode_and_acls(m + "/plain");
    });
    EXPECT_SAME(r, "reads as user 65534 of files whose ACLs grant it, set in a layer and through the view");
    EXPECT_EQ(r.kernel.rfind("granted: ok plain: EACCES", 0), 0u) << r.kernel;
}

// New objects in a directory with a default ACL inherit it, and the caller's umask does not
// apply (the ACL's mask decides), in place and over a whiteout (which the kernel makes in
// its work directory and then gives the ACLs the directory would have given).
TEST_F(WritableRegression, NewObjectsInheritTheirDirectorysDefaultAcl) {
    LayerStack s;
    Entry& d = s.add_layer().dir("ad", 0755);
    d.xattrs.push_back({"system.posix_acl_default", acl({{kUserObj, 7, kNoId}, {kGroupObj, 7, kNoId}, {kMask, 7, kNoId}, {kOther, 5, kNoId}})});
    s.layers[0].file("ad/old", "o\n");
    s.layers[0].dir("ad/olddir");
    mode_t old_umask = ::umask(022);
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string out;
        int fd = ::open((m + "/ad/new").c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
        if (fd >= 0) ::close(fd);
        ::mkdir((m + "/ad/sub").c_str(), 0777);
        ::mknod((m + "/ad/fifo").c_str(), S_IFIFO | 0666, 0);
        out += " unlink=" + rc(::unlink((m + "/ad/old").c_str()));
        fd = ::open((m + "/ad/old").c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
        if (fd >= 0) ::close(fd);
        out += " rmdir=" + rc(::rmdir((m + "/ad/olddir").c_str()));
        out += " mkdir=" + rc(::mkdir((m + "/ad/olddir").c_str(), 0777));
        for (const char* n : {"new", "sub", "fifo", "old", "olddir"}) out += std::string(" ") + n + ": " + mode_and_acls(m + "/ad/" + n);
        return out;
    });
    ::umask(old_umask);
    EXPECT_SAME(r, "files, directories and fifos made under umask 022 in a directory with a default ACL");
    Both disk{mode_and_acls(p.kernel_upper() + "/ad/old"), mode_and_acls(p.ovf_upper() + "/ad/old")};
    EXPECT_SAME(disk, "UPPER/ad/old, made over a whiteout");
}

// A copied-up file or directory keeps its lower copy's st_ino (the kernel reads it back from
// overlay.origin), also after the kernel forgot its directory and the listing was built
// again from the upper directory (the soak's seed 20662: a hard link made through the view
// to a copied-up symlink showed two numbers for one inode once its directory was listed
// anew).
TEST_F(WritableRegression, CopiedUpObjectsKeepTheirNumberAfterTheirDirectoryIsForgotten) {
    LayerStack s;
    Layer& l = s.add_layer();
    l.dir("d/sub");
    l.file("d/f", "f\n");
    l.symlink("d/s", "nowhere");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string out;
        ino_t f = ino_of(m + "/d/f"), sub = ino_of(m + "/d/sub"), sl = ino_of(m + "/d/s");
        out += "chmod=" + rc(::chmod((m + "/d/f").c_str(), 0600));
        out += " chmod-dir=" + rc(::chmod((m + "/d/sub").c_str(), 0700));
        out += " link=" + rc(::link((m + "/d/s").c_str(), (m + "/d/s2").c_str()));
        // The kernel forgets the nodes; the daemon drops them (and d's listing) when its
        // FORGETs, sent in the background, have come.
        std::ofstream("/proc/sys/vm/drop_caches") << "2\n";
        ::usleep(300000);
        out += std::string(" f:") + (ino_of(m + "/d/f") == f ? "same" : "changed");
        out += std::string(" sub:") + (ino_of(m + "/d/sub") == sub ? "same" : "changed");
        out += std::string(" s:") + (ino_of(m + "/d/s") == sl ? "same" : "changed");
        out += std::string(" s2:") + (ino_of(m + "/d/s2") == ino_of(m + "/d/s") ? "same as s" : "not s");
        return out;
    });
    EXPECT_SAME(r, "st_ino of copied-up objects after drop_caches made the view list their directory again");
}

// What ITEMS' inode numbers (paths below M) are now, against BEFORE (same order): "same"
// or "changed" for each, and whether readdir's d_ino agrees with st_ino.
std::string numbers_against(const std::string& m, const std::vector<std::string>& items,
                            const std::vector<ino_t>& before) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
        ino_t now = ino_of(m + "/" + items[i]);
        out += " " + items[i] + ":" + (now == 0 ? "missing" : now == before[i] ? "same" : "changed");
        std::string path = m + "/" + items[i];
        std::string dir = path.substr(0, path.rfind('/')), name = path.substr(path.rfind('/') + 1);
        if (DIR* d = ::opendir(dir.c_str())) {
            while (struct dirent* de = ::readdir(d))
                if (name == de->d_name && de->d_ino != now) out += "(d_ino differs)";
            ::closedir(d);
        }
    }
    return out;
}

std::vector<ino_t> numbers_of(const std::string& m, const std::vector<std::string>& items) {
    std::vector<ino_t> out;
    for (const auto& i : items) out.push_back(ino_of(m + "/" + i));
    return out;
}

// A layer for the remount tests: objects of every kind, a hard-link pair, and directories
// that get copied up.
LayerStack numbered_layer() {
    LayerStack s;
    Layer& l = s.add_layer();
    l.dir("d/sub");
    l.file("d/sub/k", "k\n");
    l.file("d/f", "f\n");
    l.symlink("d/s", "nowhere");
    l.file("d/h1", "h\n");
    l.hardlink("d/h2", "d/h1");
    l.file("e/x", "x\n");
    l.file("keep/y", "y\n");
    return s;
}

const std::vector<std::string> kNumbered = {"d", "d/sub", "d/sub/k", "d/f", "d/s", "d/h1", "d/h2", "e", "e/x", "keep"};

// Copy-ups in a lower directory: a file, a symlink, a directory, one of two hard links, and a
// directory that gains a new entry.
std::string copy_up_some(const std::string& m) {
    std::string out = "chmod=" + rc(::chmod((m + "/d/f").c_str(), 0600));
    out += " lchown=" + rc(::lchown((m + "/d/s").c_str(), 5, 5));
    out += " chmod-dir=" + rc(::chmod((m + "/d/sub").c_str(), 0700));
    out += " chmod-link=" + rc(::chmod((m + "/d/h1").c_str(), 0600));
    int fd = ::open((m + "/e/new").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    out += " create=" + std::string(fd >= 0 ? "0" : errno_name(errno));
    if (fd >= 0) ::close(fd);
    return out;
}

// Runs OPS on both sides, then compares the numbers of AFTER (paths once OPS ran) with those
// the paths BEFORE (same order) had before OPS: while mounted, and after a remount of both.
void expect_numbers_survive(MountPair& p, const std::function<std::string(const std::string&)>& ops,
                            const std::vector<std::string>& before, const std::vector<std::string>& after) {
    std::vector<ino_t> kb = numbers_of(p.kernel(), before), fb = numbers_of(p.ovf(), before);
    Both done{ops(p.kernel()), ops(p.ovf())};
    EXPECT_SAME(done, "the operations");
    Both mounted{numbers_against(p.kernel(), after, kb), numbers_against(p.ovf(), after, fb)};
    EXPECT_SAME(mounted, "st_ino after the operations");
    p.remount();
    Both again{numbers_against(p.kernel(), after, kb), numbers_against(p.ovf(), after, fb)};
    EXPECT_SAME(again, "st_ino after a remount over the same upper");
}

// The kernel records each copied-up object's lower copy in overlay.origin and reports the
// lower inode number for it (a lone file, a symlink, a directory), after a remount too; a
// copied-up directory that still merges its lower copy shows that copy's number. overlayfuse
// kept the numbers for the mount's lifetime only: after a remount it showed the upper
// inodes' own numbers.
TEST_F(WritableRegression, CopiedUpObjectsKeepTheirNumbersAcrossARemount) {
    MountPair p(numbered_layer());
    expect_numbers_survive(p, copy_up_some, kNumbered, kNumbered);
}

// Moving a copied-up file, or a merged directory (redirect_dir=on), into another directory
// marks that directory impure (ovl_rename), so that its listing after a remount looks their
// numbers up in overlay.origin. overlayfuse left it unmarked: after a remount the moved
// objects showed their upper inodes' numbers.
TEST_F(WritableRegression, MovedCopiesKeepTheirNumbersAcrossARemount) {
    LayerStack s;
    Layer& l = s.add_layer();
    l.file("a/sub/f", "f\n");
    l.file("a/g", "g\n");
    l.file("x", "x\n");
    l.dir("b");
    MountPair p(s, {"-o", "redirect_dir=on"}, "redirect_dir=on");
    auto move = [](const std::string& m) {
        std::string out = "mv-dir=" + rc(::rename((m + "/a").c_str(), (m + "/b/a2").c_str()));
        out += " chmod=" + rc(::chmod((m + "/x").c_str(), 0600));
        return out + " mv-file=" + rc(::rename((m + "/x").c_str(), (m + "/b/x2").c_str()));
    };
    expect_numbers_survive(p, move, {"a", "a/sub", "x", "b"}, {"b/a2", "b/a2/sub", "b/x2", "b"});
}

// A hard link made to a lower file from another directory joins its copy-up, which keeps the
// lower number; the kernel marks the new name's directory impure, so after a remount the new
// name, looked up first, shows that number too. overlayfuse left the directory unmarked and
// showed the upper inode's number for both names.
TEST_F(WritableRegression, LinkedCopiesKeepTheirNumbersAcrossARemount) {
    LayerStack s;
    Layer& l = s.add_layer();
    l.file("a/f", "f\n");
    l.dir("b");
    MountPair p(s);
    auto link = [](const std::string& m) { return "link=" + rc(::link((m + "/a/f").c_str(), (m + "/b/g").c_str())); };
    expect_numbers_survive(p, link, {"a/f", "a/f"}, {"b/g", "a/f"});
}

// A directory moved with redirect_dir=on is found again, after a remount, by its redirect's
// path in each lower layer. Where a directory on that path is opaque, the kernel's search
// ends in that layer: copies further down stay hidden, as they were before the move.
// overlayfuse searched on (the stop ended only the current layer's search) and merged a
// hidden lower copy's entries in. Found by the soak's remount step (seed 41417).
TEST_F(WritableRegression, RedirectStopsAtAnOpaqueDirectoryOnItsPath) {
    LayerStack s;
    Layer& bottom = s.add_layer();
    bottom.dir("c/e/hidden");
    Layer& top = s.add_layer();
    top.dir("c").xattrs.push_back({"trusted.overlay.opaque", "y"});
    top.dir("c/e/shown");
    MountPair p(s, {"-o", "redirect_dir=on"}, "redirect_dir=on");
    auto move = [](const std::string& m) {
        return "before:" + names_in(m + "/c/e") + " mv=" + rc(::rename((m + "/c/e").c_str(), (m + "/e").c_str())) +
               " after:" + names_in(m + "/e");
    };
    Both moved{move(p.kernel()), move(p.ovf())};
    EXPECT_SAME(moved, "the move");
    p.remount();
    Both again{names_in(p.kernel() + "/e"), names_in(p.ovf() + "/e")};
    EXPECT_SAME(again, "the moved directory's entries after a remount");
}

// The upper's overlay.origin is the kernel's format, so either reads what the other wrote:
// the kernel overlay over overlayfuse's upper, and overlayfuse over the kernel's, show the
// numbers the writer showed.
TEST_F(WritableRegression, EitherOverlayReadsTheOtherOnesOrigins) {
    MountPair p(numbered_layer());
    Both ops{copy_up_some(p.kernel()), copy_up_some(p.ovf())};
    EXPECT_SAME(ops, "copy-ups");
    std::vector<ino_t> kn = numbers_of(p.kernel(), kNumbered), fn = numbers_of(p.ovf(), kNumbered);
    p.unmount();
    // Each side's upper under the other overlay, over the lowers it was written against.
    std::string k_work = p.temp().sub("swap/k-work"), f_work = p.temp().sub("swap/f-work");
    KernelRW kernel_on_ovf(p.ovf_lowers(), p.ovf_upper(), k_work, p.temp().sub("swap/k-mnt"));
    OvfRW ovf_on_kernel(p.kernel_lowers(), p.kernel_upper(), f_work, p.temp().sub("swap/f-mnt"));
    Both swapped{numbers_against(ovf_on_kernel.path(), kNumbered, kn),
                 numbers_against(kernel_on_ovf.path(), kNumbered, fn)};
    EXPECT_SAME(swapped, "st_ino of each upper under the other overlay (kernel column: overlayfuse over the "
                         "kernel's upper; overlayfuse column: the kernel over overlayfuse's)");
    for (const char* x : {" d:same", " d/f:same", " d/s:same", " d/sub:same", " e:same"})
        EXPECT_NE(swapped.kernel.find(x), std::string::npos) << x << " in " << swapped.kernel;
}

// open(O_TMPFILE) in a writable view makes an unnamed file in the upper copy of the
// directory (copied up first), which linkat(AT_EMPTY_PATH) can name later; one never named
// leaves nothing behind. overlayfuse answered EOPNOTSUPP.
TEST_F(WritableRegression, TmpfileCanBeWrittenAndLinked) {
    // libfuse has the TMPFILE operation since 3.17 (the default build's); older ones leave
    // the kernel to answer EOPNOTSUPP.
    RunResult v = run({overlayfuse_bin(), "--version"});
    int major = 0, minor = 0;
    size_t at = v.out.find("libfuse ");
    if (at != std::string::npos) std::sscanf(v.out.c_str() + at, "libfuse %d.%d", &major, &minor);
    if (major * 100 + minor < 317) GTEST_SKIP() << "no O_TMPFILE with " << v.out;
    LayerStack s;
    s.add_layer().file("d/old", "o\n");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string out;
        int fd = ::open((m + "/d").c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0640);
        if (fd < 0) return "open -1 " + errno_name(errno);
        out += "write=" + std::to_string(::write(fd, "tmp\n", 4));
        struct stat st;
        ::fstat(fd, &st);
        out += " nlink=" + std::to_string(st.st_nlink) + " names:" + names_in(m + "/d");
        out += " linkat=" + rc(::linkat(fd, "", AT_FDCWD, (m + "/d/named").c_str(), AT_EMPTY_PATH));
        ::fstat(fd, &st);
        out += " nlink=" + std::to_string(st.st_nlink) + " names:" + names_in(m + "/d");
        ::close(fd);
        std::ifstream in(m + "/d/named");
        out += " content=" + std::string(std::istreambuf_iterator<char>(in), {}) + " " + lstat_text(m + "/d/named").substr(0, 30);
        int gone = ::open(m.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        out += " unnamed=" + std::string(gone >= 0 ? "0" : errno_name(errno));
        if (gone >= 0) ::close(gone);
        return out + " root:" + names_in(m);
    });
    EXPECT_SAME(r, "O_TMPFILE in a lower directory, named by linkat(AT_EMPTY_PATH), and one never named");
    Both disk{names_in(p.kernel_upper() + "/d"), names_in(p.ovf_upper() + "/d")};
    EXPECT_SAME(disk, "UPPER/d");
}

// A sparse lower file: SEEK_DATA and SEEK_HOLE find its holes through the view (the
// kernel reported it all data without a LSEEK answer), and copy-up leaves a hole where the
// kernel's does (it looks for data before each 1 MiB chunk; holes inside a chunk are copied
// as zeros), so the upper copy takes the same space.
TEST_F(WritableRegression, HolesOfSparseFilesShowAndSurviveCopyUp) {
    LayerStack s;
    std::string data(5 << 20, '\0');
    data.replace(3 << 20, 4096, std::string(4096, 'x'));
    data.replace((4 << 20) + 8192, 4096, std::string(4096, 'y'));
    s.add_layer().file("sparse", data).sparse = true;
    MountPair p(s);
    auto seeks = [](int fd) {
        std::string out;
        for (off_t from : {off_t{0}, off_t{(3 << 20) + 1}, off_t{4 << 20}, off_t{(4 << 20) + 16384}}) {
            off_t d = ::lseek(fd, from, SEEK_DATA);
            std::string dt = d < 0 ? errno_name(errno) : std::to_string(d);
            off_t h = ::lseek(fd, from, SEEK_HOLE);
            out += " " + std::to_string(from) + ":" + dt + "/" + (h < 0 ? errno_name(errno) : std::to_string(h));
        }
        return out;
    };
    auto r = on_both(p, [&](const std::string& m) {
        int fd = ::open((m + "/sparse").c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return "open -1 " + errno_name(errno);
        std::string out = "lower:" + seeks(fd);
        ::close(fd);
        fd = ::open((m + "/sparse").c_str(), O_RDWR | O_CLOEXEC);  // copies it up
        if (fd < 0) return out + " open rw -1 " + errno_name(errno);
        out += " upper:" + seeks(fd);
        struct stat st;
        ::fstat(fd, &st);
        ::close(fd);
        return out + " size=" + std::to_string(st.st_size) + " blocks=" + std::to_string(st.st_blocks);
    });
    EXPECT_SAME(r, "SEEK_DATA/SEEK_HOLE on a sparse lower file, read-only and after copy-up");
}

// Each growth of a multi-threaded process's descriptor table waits for an RCU grace period
// (6-8 ms here), and the daemon holds one descriptor per node: a walk of 7,000 entries paid
// ~7 such waits, a first stat in a 100-layer view 16-24 ms. The daemon now sizes its table
// before its threads start; /proc/PID/status shows the size (FDSize).
TEST_F(WritableRegression, DaemonSizesItsDescriptorTableBeforeServing) {
    LayerStack s;
    s.add_layer().file("f", "f\n");
    MountPair p(s);
    pid_t daemon = find_daemon_pid(p.ovf());
    ASSERT_GT(daemon, 0);
    std::ifstream status("/proc/" + std::to_string(daemon) + "/status");
    long fdsize = -1;
    for (std::string line; std::getline(status, line);)
        if (line.rfind("FDSize:", 0) == 0) fdsize = std::stol(line.substr(7));
    EXPECT_GE(fdsize, 32768) << "FDSize of daemon " << daemon;
}

// Runs F in a child process as nobody (uid and gid 65534, no capabilities) in directory DIR
// (entered as root: the test's temporary directories are closed to others) and returns what
// F returned.
std::string as_nobody(const std::string& dir, const std::function<std::string()>& f) {
    int fds[2];
    if (::pipe(fds) != 0) return "pipe failed";
    pid_t child = ::fork();
    if (child == 0) {
        ::close(fds[0]);
        std::string r = ::chdir(dir.c_str()) == 0 && ::setgroups(0, nullptr) == 0 && ::setgid(65534) == 0 &&
                                ::setuid(65534) == 0
                            ? f()
                            : "cannot become nobody";
        if (::write(fds[1], r.data(), r.size()) < 0) ::_exit(1);
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string out;
    char buf[512];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    ::waitpid(child, nullptr, 0);
    return out;
}

// Writes, truncates and chowns clear setuid and setgid as the kernel's VFS does: on write
// and truncate only when the caller lacks CAP_FSETID (setgid when group-executable or the
// caller is outside the group), on chown always, even chown(f, -1, -1); a
// security.capability xattr goes with any write. overlayfuse kept both bits when nobody
// opened such a file with O_TRUNC: the kernel leaves that truncate to the daemon
// (ATOMIC_O_TRUNC), which ran it with its own CAP_FSETID.
TEST_F(WritableRegression, WriteTruncateAndChownClearSetuidLikeTheKernel) {
    // a v2 file capability: cap_net_bind_service+ep
    const std::string cap("\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00"
                          "\x00\x00\x00\x00\x00\x00\x00\x00", 20);
    LayerStack s;
    Layer& l = s.add_layer();
    const std::vector<std::string> names = {"w-user", "w-root",  "t-user",     "t-root",    "otrunc-user",
                                            "otrunc-root", "chown-root", "chown-none", "sgid-noexec", "cap-write",
                                            "cap-root-w"};
    for (size_t i = 0; i < 8; ++i) l.file(names[i], "data\n", 06777);
    l.file("sgid-noexec", "data\n", 02776);
    l.file("cap-write", "data\n", 0777).xattrs.push_back({"security.capability", cap});
    l.file("cap-root-w", "data\n", 04777).xattrs.push_back({"security.capability", cap});
    MountPair p(s);
    auto r = on_both(p, [&](const std::string& m) {
        std::string out;
        out += "w-user:" + as_nobody(m, [&] { return append("w-user", "x"); });
        out += " w-root:" + append(m + "/w-root", "x");
        out += " t-user:" + as_nobody(m, [&] { return rc(::truncate("t-user", 2)); });
        out += " t-root:" + rc(::truncate((m + "/t-root").c_str(), 2));
        auto otrunc = [](const std::string& path) {
            int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
            if (fd < 0) return "-1 " + errno_name(errno);
            ::close(fd);
            return std::string("0");
        };
        out += " otrunc-user:" + as_nobody(m, [&] { return otrunc("otrunc-user"); });
        out += " otrunc-root:" + otrunc(m + "/otrunc-root");
        out += " chown-root:" + rc(::chown((m + "/chown-root").c_str(), 0, 0));
        out += " chown-none:" + rc(::chown((m + "/chown-none").c_str(), static_cast<uid_t>(-1), static_cast<gid_t>(-1)));
        out += " sgid-noexec:" + as_nobody(m, [&] { return append("sgid-noexec", "x"); });
        out += " cap-write:" + as_nobody(m, [&] { return append("cap-write", "x"); });
        out += " cap-root-w:" + append(m + "/cap-root-w", "x");
        for (const auto& n : names) {
            char v[64];
            ssize_t len = ::lgetxattr((m + "/" + n).c_str(), "security.capability", v, sizeof v);
            out += "\n  " + n + ": " + lstat_text(m + "/" + n).substr(0, 40) +
                   (len > 0 ? " cap" : len < 0 && errno == ENODATA ? " no-cap" : " cap?" + errno_name(errno));
        }
        return out;
    });
    EXPECT_SAME(r, "writes, truncates, opens with O_TRUNC and chowns of setuid/setgid files, as nobody and root");
}

// ioctls: lsattr's flag queries answer from the top copy's inode, anything else is ENOTTY
// as on a plain file (Python's isatty() asks TCGETS of every file it opens). overlayfuse
// had no ioctl at all, which the kernel reports as ENOTTY: lsattr failed on every file.
TEST_F(WritableRegression, IoctlFlagQueriesWorkOthersAreENOTTY) {
    LayerStack s;
    s.add_layer().file("d/f", "f\n");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string out;
        for (const char* rel : {"d/f", "d"}) {
            int fd = ::open((m + "/" + rel).c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) return "open " + std::string(rel) + " -1 " + errno_name(errno);
            int flags = 0;
            struct fsxattr fsx{};
            struct termios t;
            out += std::string(rel) + ": getflags=" + rc(::ioctl(fd, FS_IOC_GETFLAGS, &flags)) + " flags=" +
                   std::to_string(flags) + " fsgetxattr=" + rc(::ioctl(fd, FS_IOC_FSGETXATTR, &fsx)) +
                   " xflags=" + std::to_string(fsx.fsx_xflags) + " isatty=" + rc(::tcgetattr(fd, &t)) + "; ";
            ::close(fd);
        }
        return out;
    });
    EXPECT_SAME(r, "FS_IOC_GETFLAGS, FS_IOC_FSGETXATTR and TCGETS on a lower file and directory");
}

// readdir lists "." and ".." in every directory.
TEST_F(WritableRegression, ReaddirListsDotAndDotDot) {
    LayerStack s;
    s.add_layer().file("d/f", "f\n");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        ::mkdir((m + "/new").c_str(), 0755);
        std::string out;
        for (const char* dir : {"", "/d", "/new"}) {
            DIR* d = ::opendir((m + dir).c_str());
            if (!d) return std::string("opendir failed");
            std::vector<std::string> names;
            while (struct dirent* e = ::readdir(d)) names.push_back(e->d_name);
            ::closedir(d);
            std::sort(names.begin(), names.end());
            out += std::string(dir) + ":";
            for (auto& n : names) out += " " + n;
            out += "; ";
        }
        return out;
    });
    EXPECT_SAME(r, "readdir of the root, a lower directory and a new directory");
}

// Not a divergence of the merged view: when a rename of a new (upper-only) directory into a
// merged directory fails, the kernel has already marked the source opaque. overlayfuse does
// not; an opaque marker on a directory with no lower counterpart changes nothing, and the
// differential test ignores it. This test keeps the observation honest.
TEST_F(WritableRegression, FailedRenameLeavesNoVisibleDifference) {
    LayerStack s;
    s.add_layer().dir("m/keep");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        ::mkdir((m + "/m/a").c_str(), 0755);
        ::mkdir((m + "/m/a/e").c_str(), 0755);
        ::mkdir((m + "/m/c").c_str(), 0755);
        std::string out = "rename=" + rc(::rename((m + "/m/c").c_str(), (m + "/m/a").c_str()));
        return out + " c: " + lstat_text(m + "/m/c").substr(0, 30);
    });
    EXPECT_SAME(r, "rename(new dir c, non-empty new dir a) inside a merged dir");
}

// Sets DIR's mtime to a fixed time, renames FROM to TO, and says whether DIR kept that time.
std::string rename_watching(const std::string& dir, const std::string& from, const std::string& to) {
    struct timespec t[2] = {{1000000000, 0}, {1000000000, 0}};
    std::string out = " utimens=" + rc(::utimensat(AT_FDCWD, dir.c_str(), t, 0));
    out += " rename=" + rc(::rename(from.c_str(), to.c_str()));
    struct stat st;
    ::lstat(dir.c_str(), &st);
    return out + " mtime kept=" + (st.st_mtim.tv_sec == 1000000000 ? "yes" : "no");
}

// redirect_dir=on: rename(lower dir e/c, new non-empty dir e/f) fails with ENOTEMPTY, but
// the kernel (ovl_rename) leaves the emptiness of a pure upper target to the upper
// filesystem's rename, after copying the source up: e's mtime changes although the rename
// failed. overlayfuse checked the merged listing first and left e untouched. Found by the
// soak, seed 7015.
TEST_F(WritableRegression, FailedRenameOntoNewDirectoryCopiesTheSourceUpFirst) {
    LayerStack s;
    s.add_layer().file("e/c/x", "x\n");
    s.add_layer().dir("e/c");  // e/c is merged: copies in both layers
    MountPair p(s, {"-o", "redirect_dir=on"}, "redirect_dir=on");
    auto r = on_both(p, [](const std::string& m) {
        std::string out = "mkdir=" + rc(::mkdir((m + "/e/f").c_str(), 0555));
        out += " mknod=" + rc(::mknod((m + "/e/f/d").c_str(), S_IFIFO | 0644, 0));
        return out + rename_watching(m + "/e", m + "/e/c", m + "/e/f");
    });
    EXPECT_SAME(r, "failed rename of a lower dir onto a new non-empty dir");
}

// The same without redirect_dir: s, a new directory over a deleted lower file, renamed onto
// a new non-empty directory t. Both are pure upper, so the kernel leaves ENOTEMPTY to ext4,
// whose RENAME_WHITEOUT (s covers a lower name) touches the parent before it fails; the
// view's cached attributes of the root must show that too. Found by the soak, seed 7184.
TEST_F(WritableRegression, FailedRenameOfNewDirectoriesTouchesTheParentLikeTheKernel) {
    LayerStack s;
    s.add_layer().file("s", "lower file\n");
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string out = "unlink=" + rc(::unlink((m + "/s").c_str()));
        out += " mkdir s=" + rc(::mkdir((m + "/s").c_str(), 0755));
        out += " mkdir t=" + rc(::mkdir((m + "/t").c_str(), 0755));
        out += " mkdir t/x=" + rc(::mkdir((m + "/t/x").c_str(), 0755));
        return out + rename_watching(m, m + "/s", m + "/t");
    });
    EXPECT_SAME(r, "failed rename of a new directory onto a new non-empty one");
}

// An xattr whiteout (an empty file with overlay.whiteout) in a directory not marked
// overlay.opaque=x: the kernel's lookup hides the name, its readdir still lists it, and its
// emptiness check counts it, so rmdir of the apparently empty directory is ENOTEMPTY.
// overlayfuse dropped the name from its listing once looked up, and rmdir succeeded.
// Found by the soak, seed 7118.
TEST_F(WritableRegression, UnmarkedXattrWhiteoutKeepsItsDirectoryNonEmpty) {
    LayerStack s;
    s.add_layer().file("e/a", "lower a\n");
    s.add_layer().file("e/a", "").xattrs.push_back({"trusted.overlay.whiteout", ""});
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        struct stat st;
        std::string out = "lstat e/a=" + rc(::lstat((m + "/e/a").c_str(), &st));
        out += " readdir e:" + names_in(m + "/e");
        out += " rmdir e=" + rc(::rmdir((m + "/e").c_str()));
        return out + " unlink e/a=" + rc(::unlink((m + "/e/a").c_str()));
    });
    EXPECT_SAME(r, "an xattr whiteout outside an opaque=x directory");
}

// A directory whose lower copy holds only xattr whiteouts, marked overlay.opaque=x as they
// should be: the kernel's readdir shows nothing, yet its emptiness check counts them and rmdir
// is ENOTEMPTY (Linux 6.18). overlayfuse removed the directory. Found by the soak (seeds 7118,
// 9112 and, with redirect_dir=on, 8085 and 9027).
TEST_F(WritableRegression, DirectoryHoldingOnlyXattrWhiteoutsIsNotEmptyForRmdir) {
    LayerStack s;
    auto& bottom = s.add_layer();
    bottom.file("d/b/x", "lower x\n");
    bottom.file("d/b/y", "lower y\n");
    bottom.file("d/c/x", "x\n");
    auto& top = s.add_layer();
    top.dir("d/b").xattrs.push_back({"trusted.overlay.opaque", "x"});
    top.dir("d/c").xattrs.push_back({"trusted.overlay.opaque", "x"});
    top.file("d/b/x", "").xattrs.push_back({"trusted.overlay.whiteout", ""});
    top.file("d/b/y", "").xattrs.push_back({"trusted.overlay.whiteout", ""});
    top.file("d/c/x", "").xattrs.push_back({"trusted.overlay.whiteout", ""});
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        std::string out = "names in d/b:" + names_in(m + "/d/b") + " rmdir d/b=" + rc(::rmdir((m + "/d/b").c_str()));
        int fd = ::open((m + "/d/c/x").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        out += " create d/c/x=" + rc(fd < 0 ? -1 : 0);
        if (fd >= 0) ::close(fd);
        out += " unlink d/c/x=" + rc(::unlink((m + "/d/c/x").c_str()));
        return out + " names in d/c:" + names_in(m + "/d/c") + " rmdir d/c=" + rc(::rmdir((m + "/d/c").c_str()));
    });
    EXPECT_SAME(r, "rmdir of directories whose lower copies hold only xattr whiteouts");
}

// The same kind of xattr whiteout (a "ghost": lookup hides it, readdir lists it) under
// names the view then makes, renames onto, renames away and unlinks: the kernel makes an
// object over it as over nothing, and lists it again once that object is gone. overlayfuse
// answered EEXIST to the create once the name stayed listed (e778421, reverted in 0c2ef9e).
TEST_F(WritableRegression, ObjectsMadeOverAnUnmarkedXattrWhiteoutBehaveLikeTheKernels) {
    LayerStack s;
    auto& bottom = s.add_layer();
    bottom.file("e/a", "lower a\n");
    bottom.file("e/b", "lower b\n");
    bottom.file("e/keep", "k\n");
    auto& top = s.add_layer();
    top.file("e/a", "").xattrs.push_back({"trusted.overlay.whiteout", ""});
    top.file("e/b", "").xattrs.push_back({"trusted.overlay.whiteout", ""});
    MountPair p(s);
    auto r = on_both(p, [](const std::string& m) {
        auto listing = [&m] { return names_in(m + "/e"); };
        std::string out = "readdir:" + listing();
        int fd = ::open((m + "/e/a").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        out += " create e/a=" + rc(fd < 0 ? -1 : 0);
        if (fd >= 0) {
            (void)!::write(fd, "new\n", 4);
            ::close(fd);
        }
        out += " lstat e/a=" + lstat_text(m + "/e/a").substr(0, 12) + " readdir:" + listing();
        out += " rename keep->b=" + rc(::rename((m + "/e/keep").c_str(), (m + "/e/b").c_str()));
        out += " readdir:" + listing();
        out += " rename a->moved=" + rc(::rename((m + "/e/a").c_str(), (m + "/e/moved").c_str()));
        out += " readdir:" + listing() + " lstat e/a=" + lstat_text(m + "/e/a");
        out += " unlink b=" + rc(::unlink((m + "/e/b").c_str())) + " readdir:" + listing();
        out += " mkdir b=" + rc(::mkdir((m + "/e/b").c_str(), 0755));
        out += " rmdir b=" + rc(::rmdir((m + "/e/b").c_str())) + " readdir:" + listing();
        out += " unlink moved=" + rc(::unlink((m + "/e/moved").c_str()));
        return out + " readdir:" + listing() + " rmdir e=" + rc(::rmdir((m + "/e").c_str()));
    });
    EXPECT_SAME(r, "objects made over, renamed onto and away from xattr whiteouts outside opaque=x");
}

// redirect_dir=on: link(e/c/a, b) (a lower fifo), then exchange(e, b), rename(b/d, b/b),
// exchange(b/b, b/c/a): b/c/a is the same inode as e now. Must not hang.
// overlayfuse loops forever in Engine::redirect_path (rename_ops.cpp) on the last rename
// (its parent chain has a cycle: the path it builds grows "/e/c/e/c/..." without end), at
// 100% CPU with growing memory; the caller never returns. Found by the soak, seed 300033.
TEST_F(WritableRegression, RedirectDirExchangeOfDirectoriesDoesNotHang) {
    LayerStack s;
    Layer& l = s.add_layer();
    l.fifo("e/c/a");
    l.file("e/d/a", "a\n");
    MountPair p(s, {"-o", "redirect_dir=on"}, "redirect_dir=on");
    auto steps = [](const std::string& m) {
        auto rn = [&](const char* a, const char* b, unsigned flags) {
            return rc(static_cast<int>(::syscall(SYS_renameat2, AT_FDCWD, (m + "/" + a).c_str(), AT_FDCWD,
                                                 (m + "/" + b).c_str(), flags)));
        };
        std::string out = "link(e/c/a,b)=" + rc(::link((m + "/e/c/a").c_str(), (m + "/b").c_str()));
        out += " exchange(e,b)=" + rn("e", "b", RENAME_EXCHANGE);
        out += " rename(b/d,b/b)=" + rn("b/d", "b/b", RENAME_NOREPLACE);
        out += " exchange(b/b,b/c/a)=" + rn("b/b", "b/c/a", RENAME_EXCHANGE);
        return out;
    };
    std::string kernel = steps(p.kernel());
    // overlayfuse in a child with a deadline: a hang must fail the test, not block it.
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t child = ::fork();
    if (child == 0) {
        ::close(fds[0]);
        std::string r = steps(p.ovf());
        if (::write(fds[1], r.data(), r.size()) < 0) ::_exit(1);
        ::_exit(0);
    }
    ::close(fds[1]);
    bool finished = wait_for_exit(child, 10000);
    if (!finished) {
        pid_t daemon = find_daemon_pid(p.ovf());
        ::kill(child, SIGKILL);
        if (daemon > 0) ::kill(daemon, SIGKILL);  // the request never returns otherwise
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    char buf[512];
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    ::close(fds[0]);
    std::string ovf = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "(no answer)";
    ASSERT_TRUE(finished) << "overlayfuse did not answer renameat2(b/b, b/c/a, RENAME_EXCHANGE) within 10 s "
                          << "(kernel overlay: " << kernel << ")";
    EXPECT_SAME((Both{kernel, ovf}), "three renames with redirect_dir=on");
}

}  // namespace
}  // namespace ovft::wr
