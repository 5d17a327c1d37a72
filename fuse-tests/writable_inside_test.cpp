// Running inside a writable view: a busybox root file system as the lower layer, chroot into
// the view and run a shell script that creates, edits and deletes files and directories
// (lower files deleted, directories removed and made again, sed -i, hard links, mv across
// directories). The same script runs in a chroot of the kernel overlay over its own copy of
// the layer; the two views, the two uppers, and the kernel overlay over overlayfuse's upper
// must agree, and the expected end state is checked by name.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "writable_support.hpp"

namespace ovft::wr {
namespace {

const char* kBusybox = "/bin/busybox";

// The script run inside (busybox sh). Deterministic: no dates, no pids in file contents. No
// /dev/null: the layer has no /dev (and overlayfuse's FUSE mount is nodev, see
// WritableRegression.DeviceNodesInTheViewCanBeOpened).
const char* kScript = R"SH(
set -e
echo hello > /tmp/new
echo more >> /etc/config
rm /data/a
rm -rf /data/sub
mkdir /data/sub
echo fresh > /data/sub/y
mv /data/b /data/b2
sed -i 's/old/new/' /data/c
ln /data/c /data/c.link
ln -s /data/c /data/c.sym
chmod 600 /data/b2
mkdir -p /deep/a/b/c
echo d > /deep/a/b/c/f
mv /deep/a/b/c/f /data/moved
rm -rf /etc/stuff
mkdir /etc/stuff
touch /etc/stuff/again
rm /bin/true
cp /data/c /tmp/c.copy
echo appended >> /data/hardlink1
truncate -s 3 /data/d
mkfifo /tmp/fifo
rmdir /emptydir
cat /data/c /data/sub/y /etc/config > /tmp/all
ls -a / /data /etc/stuff > /tmp/ls.out; cat /tmp/ls.out
find / -xdev -name '*.link' > /tmp/found
)SH";

LayerStack busybox_rootfs() {
    LayerStack s;
    Layer& l = s.add_layer();
    auto bb = read_file(kBusybox);
    Entry& e = l.file("bin/busybox", bb.value_or(""), 0755);
    e.mtime = {1500000000, 0};
    for (const char* applet : {"sh", "echo", "rm", "mkdir", "mv", "sed", "ln", "chmod", "touch", "true", "cp", "cat",
                               "truncate", "mkfifo", "rmdir", "ls", "find"}) {
        l.symlink(std::string("bin/") + applet, "busybox");
    }
    l.file("etc/config", "key=value\n").mtime = {1500000001, 0};
    l.file("etc/stuff/one", "1\n");
    l.file("etc/stuff/two", "2\n");
    l.dir("tmp", 01777);
    l.file("data/a", "a\n");
    l.file("data/b", "b\n");
    l.file("data/c", "old content\n");
    l.file("data/d", "dddddddd\n");
    l.file("data/sub/x", "x\n");
    l.file("data/hardlink1", "shared\n");
    l.hardlink("data/hardlink2", "data/hardlink1");
    l.dir("emptydir");
    l.dir("deep");
    return s;
}

TEST(WritableInside, ShellScriptInAChrootOfTheViewMatchesTheKernelOverlay) {
    if (!running_as_root()) GTEST_SKIP() << "needs root (chroot, kernel overlay)";
    struct stat st;
    if (::stat(kBusybox, &st) != 0) GTEST_SKIP() << kBusybox << " missing (apt-get install busybox-static)";
    RunResult is_static = run({"sh", "-c", std::string("file -L ") + kBusybox + " 2>/dev/null || ldd " + kBusybox + " 2>&1"});
    if (is_static.out.find("dynamically linked") != std::string::npos)
        GTEST_SKIP() << kBusybox << " is not static (apt-get install busybox-static)";

    MountPair p(busybox_rootfs());
    std::string outputs[2];
    for (int i = 0; i < 2; ++i) {
        const std::string& root = i == 0 ? p.kernel() : p.ovf();
        RunResult r = run({"chroot", root, "/bin/sh", "-c", kScript});
        EXPECT_EQ(r.exit_code, 0) << "in " << root << ": " << r.describe();
        outputs[i] = std::to_string(r.exit_code) + " " + r.out + r.err;
    }
    EXPECT_EQ(outputs[0], outputs[1]) << "exit status and output of the script (kernel overlay, overlayfuse)";

    int64_t start = now_seconds() - 60;
    WalkOptions o;
    o.recent_after = start;
    auto kv = walk_tree(p.kernel(), o);
    auto fv = walk_tree(p.ovf(), o);
    std::string d = diff_walks("kernel overlay", kv, "overlayfuse", fv);
    EXPECT_TRUE(d.empty()) << "the views after the script:\n" << d;

    // What the script must have left.
    const std::string m = p.ovf();
    EXPECT_EQ(read_file(m + "/tmp/new").value_or("-"), "hello\n");
    EXPECT_EQ(read_file(m + "/etc/config").value_or("-"), "key=value\nmore\n");
    EXPECT_FALSE(std::filesystem::exists(m + "/data/a"));
    EXPECT_FALSE(std::filesystem::exists(m + "/data/sub/x")) << "rm -rf + mkdir must give an opaque dir";
    EXPECT_EQ(read_file(m + "/data/sub/y").value_or("-"), "fresh\n");
    EXPECT_EQ(read_file(m + "/data/b2").value_or("-"), "b\n");
    EXPECT_EQ(read_file(m + "/data/c").value_or("-"), "new content\n");
    EXPECT_EQ(read_file(m + "/data/hardlink1").value_or("-"), "shared\nappended\n");
    EXPECT_EQ(read_file(m + "/data/hardlink2").value_or("-"), "shared\n") << "copy-up breaks the lower hard link";
    EXPECT_FALSE(std::filesystem::exists(m + "/etc/stuff/one"));
    EXPECT_TRUE(std::filesystem::exists(m + "/etc/stuff/again"));
    EXPECT_FALSE(std::filesystem::exists(m + "/emptydir"));
    EXPECT_FALSE(std::filesystem::is_symlink(m + "/bin/true"));
    EXPECT_EQ(read_file(m + "/tmp/found").value_or("-"), "/data/c.link\n");

    // The uppers: same entries, whiteouts and opaque markers.
    WalkOptions raw = o;
    raw.skip_xattr_prefixes = {"trusted.overlay.origin", "trusted.overlay.impure", "trusted.overlay.uuid"};
    raw.whiteout_identity = false;
    raw.dir_nlink = false;
    auto ku = walk_tree(p.kernel_upper(), raw);
    auto fu = walk_tree(p.ovf_upper(), raw);
    d = diff_walks("kernel's upper", ku, "overlayfuse's upper", fu);
    EXPECT_TRUE(d.empty()) << "the upper directories:\n" << d;

    // The kernel overlay over overlayfuse's upper shows the kernel's own result.
    p.unmount();
    std::string v = p.mount_kernel_over_ovf_upper();
    auto vv = walk_tree(v, o);
    d = diff_walks("kernel overlay", kv, "kernel overlay over overlayfuse's upper", vv);
    EXPECT_TRUE(d.empty()) << d;
}

}  // namespace
}  // namespace ovft::wr
