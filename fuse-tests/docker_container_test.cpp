// overlayfuse's view of Docker containers (issue 3, item 5): `overlayfuse mount CONTAINER MNT`
// stacks the container's own layer (overlay2/MOUNTID/diff, written by the kernel overlay, so in
// the kernel's upper format), its init layer (MOUNTID-init/diff), then the image's layers
// (LAYOUT.md section 7). Each container is made by the real engine from the test images
// (fuse-tests/docker-images/), changed by a shell script in the container or by `docker cp`,
// and stopped; its view is then compared with
//  (1) `docker export CONTAINER`, extracted (mtimes at second granularity: see below), and
//  (2) the kernel overlay mounted read-only over the same directories
//      (lowerdir=own:init:image layers...), all fields.
// Also: mounting by name, full id and unique id prefix gives one and the same tree; a writable
// view (--upper) never touches the container's own layer; unknown containers and a container
// whose layer directory is missing fail with one line. See docs/testing-docker.md, "Containers".
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "docker_fixture.hpp"
#include "support/harness.hpp"
#include "support/mounts.hpp"

namespace fs = std::filesystem;

namespace {

using ovfd::Dump;

using ovfd::docker;
using ovfd::must_docker;

std::string read_small(const fs::path& p) {
    std::ifstream in(p);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return ovfd::trim(s);
}

// A container this test made, by a name unique to this process. The destructor removes it
// (`docker rm -f -v`), also when an assertion or an exception ends the test early, but only if
// this object created it (a container of that name that existed before is left alone). The
// label finds leftovers of a crashed run: `docker ps -a -f label=ovf-test=1`.
class TestContainer {
public:
    explicit TestContainer(std::string name) : name_(std::move(name)) {}
    ~TestContainer() {
        if (owned_) docker({"rm", "-f", "-v", name_}, 60);
    }
    TestContainer(const TestContainer&) = delete;
    TestContainer& operator=(const TestContainer&) = delete;

    // `docker run` (no -d): the script runs to its end and the container stops.
    void run(const std::string& image, const std::string& script) {
        claim_name();
        ovft::RunResult r = docker({"run", "--name", name_, "--label", "ovf-test=1", "--network",
                                    "none", image, "sh", "-c", script});
        if (r.exit_code != 0) throw std::runtime_error("the container's script failed: " + r.describe());
    }
    // `docker create`: never started; its own layer stays empty until `docker cp`.
    void create(const std::string& image) {
        claim_name();
        must_docker({"create", "--name", name_, "--label", "ovf-test=1", "--network", "none",
                     image, "/bin/sh"});
    }
    void cp_in(const std::string& src, const std::string& dest) {
        must_docker({"cp", src, name_ + ":" + dest});
    }

    const std::string& name() const { return name_; }
    std::string id() const {
        if (id_.empty()) id_ = ovfd::trim(must_docker({"inspect", "-f", "{{.Id}}", name_}));
        return id_;
    }
    // layerdb/mounts/ID/mount-id: the directory name of its own layer under overlay2/.
    std::string mount_id() const {
        return read_small(ovfd::docker_root() + "/image/overlay2/layerdb/mounts/" + id() + "/mount-id");
    }
    std::string own_layer() const { return ovfd::docker_root() + "/overlay2/" + mount_id() + "/diff"; }
    std::string init_layer() const {
        return ovfd::docker_root() + "/overlay2/" + mount_id() + "-init/diff";
    }
    // What Docker's own kernel mount of the container stacks, top first: UpperDir, then LowerDir
    // (init layer, then the image's layers).
    std::vector<std::string> layers_top_first() const {
        std::vector<std::string> l = ovfd::split(
            must_docker({"inspect", "-f",
                         "{{.GraphDriver.Data.UpperDir}}\n{{.GraphDriver.Data.LowerDir}}", name_}),
            '\n');
        if (l.size() < 2) throw std::runtime_error("unexpected docker inspect output");
        std::vector<std::string> out = {ovfd::trim(l[0])};
        for (const auto& d : ovfd::split(ovfd::trim(l[1]), ':')) {
            if (!d.empty()) out.push_back(d);
        }
        return out;
    }

private:
    void claim_name() {
        if (docker({"inspect", "--type", "container", name_}).exit_code == 0) {
            throw std::runtime_error("a container named " + name_ + " exists already");
        }
        owned_ = true;
    }
    std::string name_;
    bool owned_ = false;
    mutable std::string id_;
};

std::string unique_name(const std::string& what) {
    return "ovf-ctr-" + what + "-" + std::to_string(::getpid());
}

std::vector<std::string> hex_ids(const std::vector<std::string>& list_cmd) {
    std::vector<std::string> ids;
    for (const auto& l : ovfd::lines(must_docker(list_cmd))) {
        std::string id = ovfd::trim(l);
        if (id.rfind("sha256:", 0) == 0) id = id.substr(7);
        ids.push_back(id);
    }
    return ids;
}

// The shortest prefix of ID, at least 12 characters (what `docker ps` shows), that names no
// other container and starts no image id: overlayfuse tries images first, so a prefix that an
// image id shares would name the image.
std::string container_prefix(const std::string& id) {
    auto containers = hex_ids({"ps", "-a", "-q", "--no-trunc"});
    auto images = hex_ids({"images", "-a", "-q", "--no-trunc"});
    auto starts = [](const std::vector<std::string>& v, const std::string& p, size_t max) {
        return static_cast<size_t>(std::count_if(v.begin(), v.end(), [&](const std::string& x) {
                   return x.rfind(p, 0) == 0;
               })) > max;
    };
    for (size_t n = 12; n < id.size(); ++n) {
        std::string p = id.substr(0, n);
        if (!starts(containers, p, 1) && !starts(images, p, 0)) return p;
    }
    return id;
}

// `overlayfuse mount [--root R] [EXTRA...] NAME MNT` as a guard.
std::unique_ptr<ovft::FuseView> mount_name(const std::string& name, const std::string& mnt,
                                           const std::vector<std::string>& extra = {},
                                           const std::vector<std::string>& root = ovfd::root_args()) {
    std::vector<std::string> argv = {ovft::overlayfuse_bin(), "mount"};
    argv.insert(argv.end(), root.begin(), root.end());
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(name);
    argv.push_back(mnt);
    return std::make_unique<ovft::FuseView>(argv, mnt, "overlayfuse mount " + name);
}

// The daemons serving MNT (their command line names it), so that a test can wait for them to
// exit after unmounting before it looks at what they may have written.
std::vector<pid_t> daemons_of(const std::string& mnt) {
    std::vector<pid_t> out;
    for (const auto& e : fs::directory_iterator("/proc")) {
        std::string n = e.path().filename().string();
        if (n.empty() || !std::all_of(n.begin(), n.end(), ::isdigit)) continue;
        std::string cmd = ovft::proc_cmdline(n);
        std::vector<std::string> args = ovfd::split(cmd, '\0');
        if (!args.empty() && args[0] == ovft::overlayfuse_bin() &&
            std::find(args.begin(), args.end(), mnt) != args.end()) {
            out.push_back(static_cast<pid_t>(std::stol(n)));
        }
    }
    return out;
}

void wait_gone(const std::vector<pid_t>& pids, int seconds = 20) {
    for (int i = 0; i < seconds * 20; ++i) {
        bool alive = std::any_of(pids.begin(), pids.end(), [](pid_t p) { return ::kill(p, 0) == 0; });
        if (!alive) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

// docker export writes mtimes truncated to whole seconds (pkg/archive FileInfoHeaderNoLookups:
// ModTime.Truncate(time.Second)); the files a container writes have nanosecond mtimes. For the
// export comparison every mtime is cut to its seconds (floor, as Truncate does for times after
// 1970); the kernel comparison keeps nanoseconds.
Dump seconds_only(Dump d) {
    for (auto& [path, fields] : d.entries) {
        auto it = fields.find("mtime");
        if (it != fields.end()) it->second = it->second.substr(0, it->second.find('.'));
    }
    return d;
}

// Fields for the export comparison. Unlike an image's (ovfd::export_dump_args), a container's
// export and view both hold the init layer, so nothing is excluded: /.dockerenv, the empty
// /etc/hosts, /etc/hostname, /etc/resolv.conf (stopped containers: no bind mounts), /proc ...
// are compared too. Left out, as for images: nlink and user.* xattrs (docker_fixture.hpp).
std::vector<std::string> container_export_args() { return {"--no-nlink", "--skip-xattr", "user."}; }

// The same reduction applied to a full dump (one ovf-treedump run per view instead of two):
// no nlink, no user.* xattrs, mtimes in seconds.
Dump export_fields(Dump d) {
    for (auto& [path, fields] : d.entries) {
        fields.erase("nlink");
        auto x = fields.find("xattrs");
        if (x != fields.end()) {
            std::string kept;
            for (const auto& item : ovfd::split(x->second, ',')) {
                if (item.rfind("user.", 0) == 0) continue;
                kept += (kept.empty() ? "" : ",") + item;
            }
            if (kept.empty()) fields.erase(x);
            else x->second = kept;
        }
    }
    return seconds_only(std::move(d));
}

// `docker export CONTAINER | tar -x` as root, dumped (seconds only).
Dump export_dump(const std::string& container, const ovft::TempDir& tmp) {
    std::string dir = tmp.sub("export");
    // docker export has no entry for "/": its attributes are the extraction directory's; only
    // its mtime is ignored in the comparison, mode and owner are Docker's 0755 root:root.
    if (::chown(dir.c_str(), 0, 0) != 0 || ::chmod(dir.c_str(), 0755) != 0) {
        throw std::runtime_error("cannot prepare " + dir);
    }
    std::string tarfile = tmp.sub("export.tar", false);
    must_docker({"export", "-o", tarfile, container});
    ovfd::extract_export(tarfile, dir);
    return seconds_only(ovfd::tree_dump(dir, container_export_args()));
}

std::string xattr(const std::string& path, const std::string& name) {
    char buf[256];
    ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), buf, sizeof buf);
    return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

bool is_whiteout(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

bool is_regular(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

// ---------------------------------------------------------------------------------------------
// The containers. Every script runs with `set -e`, so a wrong assumption about an image fails
// the test instead of silently testing less.

struct CopyIn {
    std::string local;  // relative to the test's "cp-src" directory (make_cp_sources)
    std::string dest;   // path in the container
};

struct ContainerCase {
    std::string name;
    std::string image;
    std::string script;           // docker run ... sh -c SCRIPT; empty: docker create only
    std::vector<CopyIn> copies;   // docker cp into the (stopped or never started) container
    std::vector<std::string> present, absent;  // in the merged view (and the export)
    // The own layer must hold these, in the kernel's upper format: the premise of the case.
    std::vector<std::string> own_opaque, own_whiteouts, own_regular;
    std::vector<std::string> own_plain_dirs;  // directories WITHOUT an opaque marker
};
void PrintTo(const ContainerCase& c, std::ostream* os) { *os << c.name << " (" << c.image << ")"; }

// On ovf-test/base:1: every kind of change a container makes to its image.
const char* const kBaseScript = R"SH(set -e
# deletes: lower files, a fifo, a symlink, one name of a hard-link group, a lower directory
rm /etc/motd /data/plain.txt /data/hl/rm_a /data/fifo /data/link-abs
rm -r /data/tree/x
# a directory deleted and created again: the kernel marks it opaque
rm -r /usr/share/doc/pkg-a
mkdir -p /usr/share/doc/pkg-a/examples
echo fresh > /usr/share/doc/pkg-a/fresh
# a file replaced by a directory (opaque as well), a directory by a file, a directory by a symlink
rm /data/file2dir && mkdir /data/file2dir && echo inner > /data/file2dir/inner
rm -r /data/dir2file && echo now-a-file > /data/dir2file
rm -r /data/dir2link && ln -s tree /data/dir2link
# copy-ups: append, truncate, chmod, chown, touch; xattrs survive the kernel's copy-up, a chown
# drops security.capability
echo appended >> /etc/passwd
echo short > /data/big.txt
chmod 0600 /data/modes/file-0644
chmod 0750 /data/tree
chown 1000:1000 /data/owners/owned-1-1
chown 1:1 /data/caps/cap1
chmod 0640 /data/xattrs/file
touch -d '2001-02-03 04:05:06' /data/empty-file
# hard links: to a lower file (copied up first), to one of a lower group, among new files
ln /data/tree/top /data/tree/top-link
ln /data/hl/keep_a /data/keep-link
echo new > /data/newfile
ln /data/newfile /data/newfile-link
mkdir /data/newdir
ln /data/newfile /data/newdir/newfile-link3
# names that are AUFS markers in an image layer and ordinary files in a container's layer
echo wh > /data/.wh.foo
echo wh > /etc/.wh.os-release
mkdir /data/.wh.tree && echo y > /data/.wh.tree/f
echo opq > /usr/share/doc/pkg-b/.wh..wh..opq
mkdir /data/whdir && echo opq > /data/whdir/.wh..wh..opq
# new special files and symlinks
mknod /data/mydev c 1 3
mkfifo /data/myfifo
ln -s /nowhere /data/emptydir/newlink
# renames; a lower directory cannot be renamed without redirect_dir (EXDEV): mv copies it
mv /data/link-rel /data/link-rel-moved
mv /data/opq /data/opq-moved
)SH";

const std::vector<ContainerCase>& container_cases() {
    static const std::vector<ContainerCase> cases = {
        {"base", "ovf-test/base:1", kBaseScript, {},
         {"/data/.wh.foo", "/etc/.wh.os-release", "/etc/os-release", "/data/.wh.tree/f",
          "/usr/share/doc/pkg-b/.wh..wh..opq", "/usr/share/doc/pkg-b/README",
          "/usr/share/doc/pkg-b/examples/ex1", "/data/whdir/.wh..wh..opq", "/data/file2dir/inner",
          "/usr/share/doc/pkg-a/fresh", "/data/tree/top-link", "/data/opq-moved/keep/k",
          "/data/mydev", "/data/myfifo", "/data/dir2file", "/data/keep-link", "/data/hl/keep_b",
          "/.dockerenv", "/proc"},
         {"/etc/motd", "/data/plain.txt", "/data/hl/rm_a", "/data/fifo", "/data/tree/x/y",
          "/usr/share/doc/pkg-a/README", "/usr/share/doc/pkg-a/examples/ex1",
          "/data/dir2file/sub", "/data/dir2link/f", "/data/opq", "/data/link-rel"},
         {"/usr/share/doc/pkg-a", "/data/file2dir"},
         {"/etc/motd", "/data/plain.txt", "/data/tree/x", "/data/opq"},
         {"/data/.wh.foo", "/etc/.wh.os-release", "/usr/share/doc/pkg-b/.wh..wh..opq",
          "/data/whdir/.wh..wh..opq", "/data/.wh.tree/f"},
         {}},
        // Created, never started: docker cp writes through a kernel mount of the container.
        {"cp", "ovf-test/base:1", "",
         // Directories copied onto existing ones merge into them, and docker cp also sets the
         // existing directories' mode, owner and mtime from the copied ones (copy-ups).
         {{"data", "/"},   // data/copied: new file; data/tree/a/b/c/leaf: deep, over a lower file
          {"etc", "/"},    // etc/motd over a lower file; etc/.wh.passwd: a marker name, plain
          {"dir", "/usr/share/doc/pkg-a/"}},   // a tree with .wh..wh..opq, hard links, a symlink
         {"/data/copied", "/etc/passwd", "/etc/.wh.passwd", "/usr/share/doc/pkg-a/README",
          "/usr/share/doc/pkg-a/dir/.wh..wh..opq", "/usr/share/doc/pkg-a/dir/sub/s2",
          "/usr/share/doc/pkg-a/dir/lnk", "/data/tree/a/b/c/leaf"},
         {},
         {},
         {},
         {"/etc/.wh.passwd", "/usr/share/doc/pkg-a/dir/.wh..wh..opq"},
         {}},
        // Created and left alone: an empty own layer.
        {"created", "ovf-test/meta:1", "", {}, {"/.dockerenv", "/data/hl/mod_a"}, {}, {}, {}, {}, {}},
        // On an image whose layers hold AUFS markers made by RUN (whiteouts, an opaque dir).
        {"whfiles", "ovf-test/whfiles:1", R"SH(set -e
echo recreated > /etc/group             # the image whited it out (a .wh.group marker)
echo plain > /etc/.wh.group             # in a container's layer: an ordinary file
echo more > /usr/share/doc/pkg-d/NEW2   # into the image's opaque directory
mkdir /data/tree/x && echo r > /data/tree/x/re   # over an image-layer whiteout: a plain dir
echo g > /data/fresh/ghost              # a name an image marker whited out without a target
echo m > /data/fresh/.wh.real           # a marker name beside the file it would name
)SH",
         {},
         {"/etc/group", "/etc/.wh.group", "/usr/share/doc/pkg-d/NEW2", "/usr/share/doc/pkg-d/NEW",
          "/data/tree/x/re", "/data/fresh/ghost", "/data/fresh/real", "/data/fresh/.wh.real"},
         {"/usr/share/doc/pkg-d/README", "/data/tree/x/y"},
         // /data/tree/x is NOT opaque in the own layer: the kernel needs no opaque marker over
         // a whiteout of a lower layer (the whiteout stops the lookup); the view must stop too.
         {},
         {},
         {"/etc/.wh.group", "/data/fresh/.wh.real"},
         {"/data/tree/x"}},
        // On an image with deletes, splits of hard-link groups and image-level opaque dirs.
        {"deletes", "ovf-test/deletes:1", R"SH(set -e
mkdir -p /data/tree/x && echo x > /data/tree/x/new   # below a dir an image layer re-created
echo again > /etc/motd                  # a file the image deleted
rm -r /usr/share/doc/pkg-c && mkdir /usr/share/doc/pkg-c && echo c > /usr/share/doc/pkg-c/only
rm /data/hl/rm_c                        # another name of a group the image split
rm -r /etc/skel                         # a directory the image emptied
)SH",
         {},
         {"/data/tree/x/new", "/data/tree/a/again", "/etc/motd", "/usr/share/doc/pkg-c/only",
          "/data/hl/rm_a"},
         {"/usr/share/doc/pkg-c/examples", "/etc/skel", "/data/hl/rm_c", "/data/tree/x/y"},
         {"/usr/share/doc/pkg-c"},
         {"/data/hl/rm_c", "/etc/skel"},
         {},
         {}},
        // 99 image layers + init + own: 101 layers.
        {"many", "ovf-test/many:1", R"SH(set -e
rm /many/merged/f100
echo more >> /many/merged/f3
rm -r /many/d && mkdir /many/d && echo z > /many/d/z
)SH",
         {},
         {"/many/merged/f3", "/many/d/z", "/many/merged/f99"},
         {"/many/merged/f100", "/many/d/f100"},
         {"/many/d"},
         {"/many/merged/f100"},
         {},
         {}},
        // On the loaded image (a foreign layer with .wh. entries, an empty layer).
        {"loaded", "ovf-test/loaded:1", R"SH(set -e
echo x >> /data/loaded/hl2
rm -r /usr/share/doc/pkg-e && mkdir /usr/share/doc/pkg-e && echo e > /usr/share/doc/pkg-e/e
)SH",
         {},
         {"/data/loaded/hl1", "/data/loaded/hl2", "/usr/share/doc/pkg-e/e"},
         {"/usr/share/doc/pkg-e/new"},
         {"/usr/share/doc/pkg-e"},
         {},
         {},
         {}},
    };
    return cases;
}

// The local files the "cp" case copies in.
void make_cp_sources(const std::string& dir) {
    fs::create_directories(dir + "/dir/sub");
    fs::create_directories(dir + "/data/tree/a/b/c");
    fs::create_directories(dir + "/etc");
    ovft::write_file(dir + "/data/copied", "copied in by docker cp\n");
    ovft::write_file(dir + "/data/tree/a/b/c/leaf", "a new leaf\n");
    ovft::write_file(dir + "/etc/motd", "a new motd\n");
    ovft::write_file(dir + "/etc/.wh.passwd", "not a whiteout\n");
    ovft::write_file(dir + "/dir/.wh..wh..opq", "not an opaque marker\n");
    ovft::write_file(dir + "/dir/sub/s", "hard-linked\n");
    fs::create_hard_link(dir + "/dir/sub/s", dir + "/dir/sub/s2");
    fs::create_symlink("sub/s", dir + "/dir/lnk");
}

// Makes the container of case C (running its script or the docker cp steps).
void make_container(TestContainer& ctr, const ContainerCase& c, const ovft::TempDir& tmp) {
    if (c.script.empty()) {
        ctr.create(c.image);
    } else {
        ctr.run(c.image, c.script);
    }
    if (!c.copies.empty()) {
        std::string src = tmp.sub("cp-src");
        make_cp_sources(src);
        for (const auto& cp : c.copies) ctr.cp_in(src + "/" + cp.local, cp.dest);
    }
}

class DockerContainer : public ::testing::TestWithParam<ContainerCase> {};

TEST_P(DockerContainer, ViewEqualsDockerExportAndKernelOverlay) {
    OVFD_REQUIRE_DOCKER();
    const ContainerCase& c = GetParam();
    ovft::TempDir tmp;
    // Mixed case for one container: not a valid image reference, so overlayfuse goes straight
    // to the container lookup; the others are valid references no image has (fall through).
    TestContainer ctr(c.name == "cp" ? "OVF_ctr_Cp_" + std::to_string(::getpid())
                                     : unique_name(c.name));
    make_container(ctr, c, tmp);
    const std::string id = ctr.id();
    const std::string own = ctr.own_layer();
    auto layers = ctr.layers_top_first();

    // The premise: Docker's own stack is own layer, init layer, image layers, as LAYOUT.md says,
    // and the own layer is in the kernel's upper format.
    ASSERT_GE(layers.size(), 3u);
    EXPECT_EQ(layers[0], own);
    EXPECT_EQ(layers[1], ctr.init_layer());
    for (const auto& p : c.own_opaque) {
        EXPECT_EQ(xattr(own + p, "trusted.overlay.opaque"), "y") << p << " is not opaque in " << own;
    }
    for (const auto& p : c.own_plain_dirs) {
        EXPECT_TRUE(fs::is_directory(own + p) && xattr(own + p, "trusted.overlay.opaque").empty())
            << p << " is not a plain directory in " << own;
    }
    for (const auto& p : c.own_whiteouts) {
        EXPECT_TRUE(is_whiteout(own + p)) << p << " is not a char 0/0 whiteout in " << own;
    }
    for (const auto& p : c.own_regular) {
        EXPECT_TRUE(is_regular(own + p)) << p << " is not a regular file in " << own;
    }
    if (c.script.empty() && c.copies.empty()) {
        EXPECT_TRUE(fs::is_empty(own)) << "a created container's own layer is not empty: " << own;
    }

    Dump exported = export_dump(ctr.name(), tmp);

    // The kernel's view of the same directories.
    ovft::KernelOverlay kernel(layers, tmp.sub("kernel"));
    Dump k = ovfd::tree_dump(kernel.path(), {});
    {
        Dump ke = export_fields(k);
        auto diffs = ovfd::compare_dumps(exported, "docker-export", ke, "kernel-overlay", {"/"});
        EXPECT_TRUE(diffs.empty()) << c.name << ": the two oracles disagree\n"
                                   << ovfd::describe_differences(diffs, exported, ke,
                                                                 "ctr-export-vs-kernel-" + c.name);
    }

    // By name: compared with both oracles. By full id and by unique id prefix: the same tree as
    // by name (content hashes left out there: reading every file three times through FUSE
    // costs seconds, and the same names, types, sizes, mtimes and inode identities already
    // prove it is the same stack of layers).
    const std::string prefix = container_prefix(id);
    std::string mnt = tmp.sub("mnt");
    std::unique_ptr<ovft::FuseView> view = mount_name(ctr.name(), mnt);
    Dump o = ovfd::tree_dump(view->path(), {});
    auto kd = ovfd::compare_dumps(k, "kernel-overlay", o, "overlayfuse");
    EXPECT_TRUE(kd.empty()) << c.name << ": overlayfuse differs from the kernel overlay\n"
                            << ovfd::describe_differences(kd, k, o, "ctr-kernel-" + c.name);
    Dump oe = export_fields(o);
    auto xd = ovfd::compare_dumps(exported, "docker-export", oe, "overlayfuse", {"/"});
    EXPECT_TRUE(xd.empty()) << c.name << ": overlayfuse differs from docker export\n"
                            << ovfd::describe_differences(xd, exported, oe, "ctr-export-" + c.name);
    for (const auto& p : c.present) {
        EXPECT_TRUE(exists(view->path() + p)) << p << " should be in the view";
        EXPECT_TRUE(exported.entries.count(p)) << p << " should be in the export";
    }
    for (const auto& p : c.absent) {
        EXPECT_FALSE(exists(view->path() + p)) << p << " should not be in the view";
        EXPECT_FALSE(exported.entries.count(p)) << p << " should not be in the export";
    }
    view.reset();

    Dump o_nohash = o;
    for (auto& [p, f] : o_nohash.entries) f.erase("sha256");
    for (const std::string& ref : {id, prefix}) {
        SCOPED_TRACE("mounted as '" + ref + "'");
        std::unique_ptr<ovft::FuseView> v;
        try {
            v = mount_name(ref, mnt);
        } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
            continue;
        }
        Dump r = ovfd::tree_dump(v->path(), {"--no-hash"});
        auto rd = ovfd::compare_dumps(o_nohash, "by-name", r, "by-" + ref);
        EXPECT_TRUE(rd.empty()) << ovfd::describe_differences(rd, o_nohash, r, "ctr-ref-" + c.name);
    }
}

INSTANTIATE_TEST_SUITE_P(Containers, DockerContainer, ::testing::ValuesIn(container_cases()),
                         [](const ::testing::TestParamInfo<ContainerCase>& info) {
                             return info.param.name;
                         });

// ---------------------------------------------------------------------------------------------
// Writable views of a container.

// Everything lstat says about every entry below DIR (DIR included), ctime and inode number
// included: any write, chmod, xattr change, rename or link in DIR changes some line.
std::map<std::string, std::string> stat_snapshot(const std::string& dir) {
    std::map<std::string, std::string> out;
    auto add = [&](const fs::path& p) {
        struct stat st;
        if (::lstat(p.c_str(), &st) != 0) {
            out[p.string()] = std::string("lstat: ") + std::strerror(errno);
            return;
        }
        std::ostringstream s;
        s << "ino=" << st.st_ino << " mode=" << std::oct << st.st_mode << std::dec
          << " nlink=" << st.st_nlink << " uid=" << st.st_uid << " gid=" << st.st_gid
          << " size=" << st.st_size << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec
          << " ctime=" << st.st_ctim.tv_sec << "." << st.st_ctim.tv_nsec;
        out[p.string()] = s.str();
    };
    add(dir);
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
         ++it) {
        add(it->path());
    }
    return out;
}

std::vector<std::string> snapshot_diffs(const std::map<std::string, std::string>& a,
                                        const std::map<std::string, std::string>& b) {
    std::vector<std::string> d;
    for (const auto& [p, v] : a) {
        auto it = b.find(p);
        if (it == b.end()) d.push_back("gone: " + p);
        else if (it->second != v) d.push_back(p + ": " + v + " -> " + it->second);
    }
    for (const auto& [p, v] : b) {
        if (!a.count(p)) d.push_back("new: " + p);
    }
    return d;
}

// The kernel overlay, read-only, with an upper directory over the container's layers.
class KernelWithUpper {
public:
    KernelWithUpper(const std::vector<std::string>& lowers, const std::string& upper,
                    const std::string& work, const std::string& mnt)
        : mnt_(mnt) {
        std::string opts = "lowerdir=";
        for (size_t i = 0; i < lowers.size(); ++i) opts += (i ? ":" : "") + lowers[i];
        opts += ",upperdir=" + upper + ",workdir=" + work;
        if (::mount("overlay", mnt.c_str(), "overlay", MS_RDONLY, opts.c_str()) != 0) {
            throw std::runtime_error("mount -t overlay -o " + opts + " " + mnt + ": " +
                                     std::strerror(errno));
        }
    }
    ~KernelWithUpper() { ::umount2(mnt_.c_str(), MNT_DETACH); }
    const std::string& path() const { return mnt_; }

private:
    std::string mnt_;
};

// What the writable view does, through the mount (cwd = the view's root): changes to entries
// of the container's own layer above all, plus init-layer and image-layer entries.
const char* const kWritableOps = R"SH(set -e
echo more >> etc/passwd                 # a file of the own layer
echo x >> data/newfile                  # own layer, hard-linked there (newfile-link, newdir/...)
ln data/newfile-link data/newfile-link2
rm data/.wh.foo                         # own layer: an ordinary file with a marker's name
rm -r data/whdir                        # own layer: a directory holding .wh..wh..opq
rm -r usr/share/doc/pkg-a               # opaque in the own layer ...
mkdir usr/share/doc/pkg-a && echo again > usr/share/doc/pkg-a/again   # ... and in the upper
chmod 0700 data/file2dir                # an own-layer (opaque) directory
truncate -s 3 data/file2dir/inner
touch -d '2002-03-04 05:06:07' data/tree/top-link
mv data/dir2file data/dir2file-moved
setfattr -n user.ovf -v 1 data/newdir
echo hi > data/.wh.bar
rm etc/hostname .dockerenv              # init layer
rm data/setuid-file                     # image layer
echo brand-new > data/brand-new
)SH";

TEST(DockerContainerWritable, UpperLeavesTheContainersLayersUntouched) {
    OVFD_REQUIRE_DOCKER();
    ovft::TempDir tmp;
    TestContainer ctr(unique_name("writable"));
    ctr.run("ovf-test/base:1", kBaseScript);
    auto layers = ctr.layers_top_first();
    // The whole overlay2/MOUNTID and MOUNTID-init directories (diff, work, link, lower).
    const std::string own_dir = fs::path(ctr.own_layer()).parent_path().string();
    const std::string init_dir = fs::path(ctr.init_layer()).parent_path().string();
    const Dump own_before = ovfd::tree_dump(own_dir, {});
    const Dump init_before = ovfd::tree_dump(init_dir, {});
    const auto own_stat_before = stat_snapshot(own_dir);
    const auto init_stat_before = stat_snapshot(init_dir);

    std::string upper = tmp.sub("upper"), work = tmp.sub("work"), mnt = tmp.sub("mnt");
    Dump view_dump;
    {
        auto view = mount_name(ctr.name(), mnt, {"--upper", upper, "--work", work});
        auto pids = daemons_of(mnt);
        ovft::RunOptions o;
        o.cwd = view->path();
        ovft::RunResult r = ovft::run({"sh", "-c", kWritableOps}, o);
        ASSERT_EQ(r.exit_code, 0) << r.describe();
        // The view shows the writes.
        EXPECT_FALSE(exists(mnt + "/data/.wh.foo"));
        EXPECT_FALSE(exists(mnt + "/etc/hostname"));
        EXPECT_TRUE(exists(mnt + "/data/brand-new"));
        EXPECT_TRUE(exists(mnt + "/usr/share/doc/pkg-a/again"));
        EXPECT_FALSE(exists(mnt + "/usr/share/doc/pkg-a/fresh"));
        view_dump = ovfd::tree_dump(view->path(), {});
        EXPECT_TRUE(view_dump.problems.empty())
            << "readdir and lstat disagree in the view:\n" << ovfd::describe_differences(
                   view_dump.problems, view_dump, view_dump, "ctr-writable-view");
        view.reset();  // unmount
        wait_gone(pids);
    }
    EXPECT_FALSE(ovft::is_mount_point(mnt));

    // The container's own layer and its init layer: not one byte, inode or ctime changed.
    Dump own_after = ovfd::tree_dump(own_dir, {});
    auto od = ovfd::compare_dumps(own_before, "before", own_after, "after");
    EXPECT_TRUE(od.empty()) << "the writable view changed the container's own layer " << own_dir
                            << "\n" << ovfd::describe_differences(od, own_before, own_after,
                                                                  "ctr-own-layer");
    auto os = snapshot_diffs(own_stat_before, stat_snapshot(own_dir));
    EXPECT_TRUE(os.empty()) << "lstat changed in " << own_dir << ":\n" << ::testing::PrintToString(os);
    Dump init_after = ovfd::tree_dump(init_dir, {});
    auto idf = ovfd::compare_dumps(init_before, "before", init_after, "after");
    EXPECT_TRUE(idf.empty()) << ovfd::describe_differences(idf, init_before, init_after, "ctr-init-layer");
    auto is = snapshot_diffs(init_stat_before, stat_snapshot(init_dir));
    EXPECT_TRUE(is.empty()) << "lstat changed in " << init_dir << ":\n" << ::testing::PrintToString(is);

    // The changes are in the upper, in the kernel's format.
    EXPECT_TRUE(is_whiteout(upper + "/data/.wh.foo"));
    EXPECT_TRUE(is_whiteout(upper + "/etc/hostname"));
    EXPECT_TRUE(is_whiteout(upper + "/.dockerenv"));
    EXPECT_TRUE(is_regular(upper + "/data/.wh.bar"));
    EXPECT_EQ(xattr(upper + "/usr/share/doc/pkg-a", "trusted.overlay.opaque"), "y");
    EXPECT_TRUE(is_regular(upper + "/etc/passwd"));

    // The kernel overlay over the container's layers and (a copy of) that upper must show what
    // overlayfuse shows over them. d_ino is left out on the kernel side: overlayfuse does not
    // mark directories holding copied-up entries trusted.overlay.impure, and without it the
    // kernel's readdir gives such an upper directory's own inode number while lstat gives the
    // lower one (a divergence of the upper's format, not specific to containers).
    std::string upper_copy = tmp.sub("upper-copy", false);
    ovft::RunResult cp = ovft::run({"cp", "-a", upper, upper_copy});
    ASSERT_EQ(cp.exit_code, 0) << cp.describe();
    KernelWithUpper kernel(layers, upper_copy, tmp.sub("kwork"), tmp.sub("kernel"));
    Dump k = ovfd::tree_dump(kernel.path(), {"--no-dino-check"});
    // (a) A fresh mount of the container with that upper: every field.
    {
        auto view = mount_name(ctr.name(), tmp.sub("mnt-again"), {"--upper", upper, "--work", work});
        Dump again = ovfd::tree_dump(view->path(), {});
        EXPECT_TRUE(again.problems.empty()) << ::testing::PrintToString(again.problems);
        again.problems.clear();
        auto kd = ovfd::compare_dumps(k, "kernel-overlay", again, "overlayfuse");
        EXPECT_TRUE(kd.empty()) << "the kernel overlay reads overlayfuse's upper differently\n"
                                << ovfd::describe_differences(kd, k, again, "ctr-writable-kernel");
        auto pids = daemons_of(view->path());
        view.reset();
        wait_gone(pids);
    }
    // (b) The view as it was while writing, without hard-link identity and link counts: a live
    // view keeps the lower inode number (and link count) for a copied-up name of a lower
    // hard-link group (known: WritableRegression.CopyUpOfOneHardLink*; in a container's own
    // layer every `ln` the container ran makes such a group).
    auto without_links = [](Dump d) {
        for (auto& [p, f] : d.entries) {
            f.erase("ino");
            f.erase("nlink");
        }
        d.problems.clear();
        return d;
    };
    Dump kl = without_links(k), vl = without_links(view_dump);
    auto ld = ovfd::compare_dumps(kl, "kernel-overlay", vl, "overlayfuse-live");
    EXPECT_TRUE(ld.empty()) << "the live writable view differs from the kernel over its upper\n"
                            << ovfd::describe_differences(ld, kl, vl, "ctr-writable-live");
    // The second mount must not have touched the container's own layer either.
    EXPECT_TRUE(snapshot_diffs(own_stat_before, stat_snapshot(own_dir)).empty());
}

// ---------------------------------------------------------------------------------------------
// Errors.

TEST(DockerContainerErrors, UnknownContainerFailsWithOneLine) {
    OVFD_REQUIRE_DOCKER();
    for (const std::string& name : {unique_name("does-not-exist"), std::string("No_Such_Container"),
                                   std::string(64, 'e')}) {
        SCOPED_TRACE(name);
        ASSERT_NE(docker({"inspect", name}).exit_code, 0) << name << " exists";
        ovft::TempDir tmp;
        std::string mnt = tmp.sub("mnt");
        std::vector<std::string> args = {"mount"};
        for (const auto& a : ovfd::root_args()) args.push_back(a);
        args.push_back(name);
        args.push_back(mnt);
        ovft::RunResult r = ovfd::overlayfuse(args);
        EXPECT_NE(r.exit_code, 0) << r.describe();
        EXPECT_TRUE(ovfd::one_line(r.err)) << r.describe();
        EXPECT_NE(r.err.find("'" + name + "'"), std::string::npos) << "does not name it: " << r.err;
        EXPECT_FALSE(ovft::is_mount_point(mnt));
    }
}

// A copy of what one container needs from the store (image/overlay2 metadata, containers/ID,
// the overlay2 directories of its own, init and image layers and their l/ links), made with
// `cp -a` as root (owners, devices, hard-linked whiteouts, trusted.* xattrs kept), so that a
// test can break it without touching dockerd's store.
class ContainerStoreCopy {
public:
    explicit ContainerStoreCopy(const TestContainer& ctr) {
        root_ = tmp_.sub("root");
        std::string src = ovfd::docker_root();
        fs::create_directories(root_ + "/image");
        fs::create_directories(root_ + "/overlay2/l");
        fs::create_directories(root_ + "/containers");
        ovfd::copy_preserving({src + "/image/overlay2", root_ + "/image/"});
        ovfd::copy_preserving({src + "/containers/" + ctr.id(), root_ + "/containers/"});
        for (const auto& diff : ctr.layers_top_first()) {
            fs::path layer = fs::path(diff).parent_path();
            ovfd::copy_preserving({layer.string(), root_ + "/overlay2/"});
            ovfd::copy_preserving({src + "/overlay2/l/" + read_small(layer / "link"), root_ + "/overlay2/l/"});
        }
    }
    const std::string& root() const { return root_; }
    const ovft::TempDir& tmp() const { return tmp_; }

private:
    ovft::TempDir tmp_;
    std::string root_;
};

// A small container for the store-copy tests: one own-layer file to recognise it by.
void make_small_container(TestContainer& ctr) {
    ctr.run("ovf-test/base:1", "set -e; echo mine > /data/mine; rm /etc/motd");
}

TEST(DockerContainerErrors, MissingOwnLayerIsAOneLineErrorNamingThePath) {
    OVFD_REQUIRE_DOCKER();
    TestContainer ctr(unique_name("nolayer"));
    make_small_container(ctr);
    ContainerStoreCopy copy(ctr);
    const std::vector<std::string> root = {"--root", copy.root()};
    const std::string mount_id = ctr.mount_id();
    // The copy is complete: it mounts, and shows the container's own file.
    {
        auto view = mount_name(ctr.name(), copy.tmp().sub("ok"), {}, root);
        EXPECT_TRUE(exists(view->path() + "/data/mine"));
        EXPECT_FALSE(exists(view->path() + "/etc/motd"));
    }
    const std::string own = copy.root() + "/overlay2/" + mount_id;
    fs::remove_all(own);
    for (const std::string& ref : {ctr.name(), ctr.id(), ctr.id().substr(0, 12)}) {
        SCOPED_TRACE(ref);
        std::string mnt = copy.tmp().sub("mnt");
        std::vector<std::string> args = {"mount", "--root", copy.root(), ref, mnt};
        ovft::RunResult r = ovfd::overlayfuse(args);
        EXPECT_NE(r.exit_code, 0) << r.describe();
        EXPECT_TRUE(ovfd::one_line(r.err)) << r.describe();
        EXPECT_NE(r.err.find(own), std::string::npos) << "does not name " << own << ": " << r.err;
        EXPECT_FALSE(ovft::is_mount_point(mnt));
    }
    // The layerdb entry (layerdb/mounts/ID, which names the mount id) missing: the same.
    const std::string meta = copy.root() + "/image/overlay2/layerdb/mounts/" + ctr.id();
    fs::remove_all(meta);
    std::string mnt = copy.tmp().sub("mnt2");
    ovft::RunResult r = ovfd::overlayfuse({"mount", "--root", copy.root(), ctr.name(), mnt});
    EXPECT_NE(r.exit_code, 0) << r.describe();
    EXPECT_TRUE(ovfd::one_line(r.err)) << r.describe();
    EXPECT_NE(r.err.find(meta), std::string::npos) << "does not name " << meta << ": " << r.err;
    EXPECT_FALSE(ovft::is_mount_point(mnt));
}

// Docker cannot mount a container whose init layer is gone (its overlay2/MOUNTID/lower names
// l/<init link>, which then dangles: `docker start` and `docker export` fail). overlayfuse
// mounts it without the init layer instead: the view silently lacks /.dockerenv, /proc, /sys,
// /dev/console and shows the image's own /etc/hostname and /etc/hosts. Disabled: a known
// divergence, reported to the lead; enable once a missing init layer is an error.
TEST(DockerContainerErrors, MissingInitLayerIsAnError) {
    OVFD_REQUIRE_DOCKER();
    TestContainer ctr(unique_name("noinit"));
    make_small_container(ctr);
    ContainerStoreCopy copy(ctr);
    const std::string init = copy.root() + "/overlay2/" + ctr.mount_id() + "-init";
    fs::remove_all(init);
    std::string mnt = copy.tmp().sub("mnt");
    ovft::RunResult r = ovfd::overlayfuse({"mount", "--root", copy.root(), ctr.name(), mnt});
    if (ovft::is_mount_point(mnt)) ::umount2(mnt.c_str(), MNT_DETACH);
    EXPECT_NE(r.exit_code, 0) << "mounted without the init layer";
    EXPECT_TRUE(ovfd::one_line(r.err)) << r.describe();
    EXPECT_NE(r.err.find(init), std::string::npos) << "does not name " << init << ": " << r.err;
}

// Precedence, as documented for the CLI: NAME is an image first and a container only when no
// image has that name. Docker's own container commands (docker export, docker inspect) take
// the container in this case; overlayfuse takes the image.
TEST(DockerContainerNames, ImageNameWinsOverAContainerOfTheSameName) {
    OVFD_REQUIRE_DOCKER();
    const std::string name = "ovftestplain";  // an image without '/': also a valid container name
    if (docker({"inspect", "--type", "container", name}).exit_code == 0) {
        GTEST_SKIP() << "a container named " << name << " exists already; not ours to use";
    }
    TestContainer ctr(name);
    ctr.run("ovf-test/base:1", "echo container > /data/only-in-the-container");
    ovft::TempDir tmp;
    auto view = mount_name(name, tmp.sub("mnt"));
    EXPECT_TRUE(exists(view->path() + "/data/file2dir/inner")) << "not the image ovftestplain";
    EXPECT_FALSE(exists(view->path() + "/data/only-in-the-container"));
    // The container is still reachable by its id.
    auto by_id = mount_name(ctr.id(), tmp.sub("mnt-id"));
    EXPECT_TRUE(exists(by_id->path() + "/data/only-in-the-container"));
}

}  // namespace
