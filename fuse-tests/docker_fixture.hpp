#pragma once
// Shared pieces of the Docker tests (fuse-tests/docker_*.cpp): the real Docker engine builds the
// test images (fuse-tests/docker-images/), and each test compares overlayfuse's view of an image
// with what Docker itself exports and with the kernel overlay mounted over the same layer
// directories. See docs/testing-docker.md.
#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/harness.hpp"

namespace ovfd {

// Runs `docker ARGS...` (killed after TIMEOUT seconds).
ovft::RunResult docker(const std::vector<std::string>& args, int timeout = 300);
// The same, throwing when docker fails; returns its stdout.
std::string must_docker(const std::vector<std::string>& args);

// Paths that Docker's init layer (daemon/initlayer/setup_unix.go, one "<mount-id>-init" layer per
// container) adds to every container, so they show in `docker export` but are not part of the
// image. Checked against reality by DockerExport.InitLayerIsExactlyTheIgnoredPaths, which lists
// the init layer of a created container: Docker 20.10 writes exactly these, and /etc and /dev
// (copied up, so only their mtime changes). The image's own /etc/hostname and /etc/hosts are
// replaced by the empty init files, so these paths are ignored entirely in the export
// comparison; the kernel-overlay comparison covers the image's own versions.
inline const std::vector<std::string> kInitLayerPaths = {
    "/.dockerenv",       // empty file, mode 0755
    "/etc/hostname",     // empty file (bind-mounted from containers/ID/hostname while running)
    "/etc/hosts",        // empty file (same)
    "/etc/resolv.conf",  // empty file (same)
    "/etc/mtab",         // symlink -> /proc/mounts
    "/dev/console",      // empty file, mode 0755
    "/dev/pts",          // directory
    "/dev/shm",          // directory
    "/proc",             // directory
    "/sys",              // directory
};
// Directories whose mtime (only) differs in the export: the init layer copies /etc and /dev up
// and writes into them. "/" is the directory `tar -x` extracts into (docker export has no entry
// for "." and so carries no attributes of the root; its mode and owner are set to the image
// root's 0755 root:root before extracting, which Docker always uses for a layer root).
inline const std::set<std::string> kInitLayerMtimeOnly = {"/", "/etc", "/dev"};

// The test images, all built by fuse-tests/docker-images/build-images.sh.
struct TestImage {
    std::string name;     // short name used in test names
    std::string ref;      // ovf-test/NAME:1
};
const std::vector<TestImage>& test_images();
// For GoogleTest's messages and test listings: the reference, not the object's bytes.
inline void PrintTo(const TestImage& image, std::ostream* os) { *os << image.ref; }

// Empty when Docker can be used (docker info answers and we are root, which the kernel overlay
// and `docker export | tar -x --same-owner` need), else why not; computed once.
const std::string& docker_unavailable_reason();
// Builds (or finds cached) every test image, once per process. Empty on success, else the
// build's output.
const std::string& ensure_test_images();

// What `docker image inspect` says about an image.
struct DockerImage {
    std::string id;                             // sha256:HEX
    std::vector<std::string> diff_ids;          // bottom first
    std::vector<std::string> layer_dirs_top_first;  // overlay2/CACHEID/diff, top first
};
DockerImage docker_image(const std::string& ref);

// A container created (never started) from an image; removed in the destructor.
class Container {
public:
    explicit Container(const std::string& image);
    ~Container();
    Container(const Container&) = delete;
    Container& operator=(const Container&) = delete;
    const std::string& id() const { return id_; }
    // The container's init layer directory (overlay2/MOUNTID-init/diff).
    std::string init_layer_dir() const;

private:
    std::string id_;
};

// `docker create IMAGE` + `docker export CID | tar -x` into DIR (root: numeric owners, modes,
// xattrs, devices); the container is removed afterwards.
// Extracts the `docker export` tar TARFILE into DIR as root (owners, modes, devices,
// security.capability), then deletes TARFILE.
void extract_export(const std::string& tarfile, const std::string& dir);
void export_image(const std::string& image, const std::string& dir);

// One parsed ovf-treedump output.
struct Dump {
    std::map<std::string, std::map<std::string, std::string>> entries;  // path -> field -> value
    std::vector<std::string> order;                                    // paths as printed
    std::vector<std::string> problems;                                 // "! ..." lines
    std::string raw;
};
// Runs ovf-treedump ARGS DIR (as USER when given) and parses it. Throws when it fails.
Dump tree_dump(const std::string& dir, const std::vector<std::string>& args,
               const std::optional<ovft::TestUser>& user = std::nullopt);

// Options for `ovf-treedump` in the export comparison. Fields left out, and why:
//  - nlink: docker export writes a tar; after extraction a file's link count is the number of
//    names that survived in the image. Overlay (and so overlayfuse) reports the lower inode's
//    st_nlink, which still counts names that a higher layer whited out or copied up
//    (/data/hl/rm_a: 3 in the mount, 2 in the export). Directories: overlay reports 1 for a
//    merged directory. Link counts are compared with the kernel overlay instead (all fields).
//  - user.* xattrs: docker's tar writer only carries security.capability (LAYOUT.md section 5),
//    so the export has no user.* xattrs at all; security.* xattrs are compared.
// Inode identity (which names are one hard-linked inode) IS compared: export keeps hard links
// of the merged view as tar hard-link entries.
std::vector<std::string> export_dump_args();

// Field-by-field comparison of two dumps. IGNORE_MTIME: paths whose mtime is not compared.
// Returns one line per difference: "PATH: FIELD A=... B=...", "only in A: PATH", problem lines.
std::vector<std::string> compare_dumps(const Dump& a, const std::string& a_name, const Dump& b,
                                       const std::string& b_name,
                                       const std::set<std::string>& ignore_mtime = {});
// The first LIMIT differences as one message, plus where the full dumps were saved.
std::string describe_differences(const std::vector<std::string>& diffs, const Dump& a,
                                 const Dump& b, const std::string& artifact_stem,
                                 size_t limit = 40);

// {"--root", DIR} when dockerd's data root is not /var/lib/docker (overlayfuse's default), else
// nothing: the tests then also exercise overlayfuse's own data-root discovery.
std::vector<std::string> root_args();
// dockerd's data root (`docker info` DockerRootDir).
std::string docker_root();

// `overlayfuse ARGS...` with a timeout.
ovft::RunResult overlayfuse(const std::vector<std::string>& args,
                            const std::optional<ovft::TestUser>& user = std::nullopt);

// Splits S at SEP.
std::vector<std::string> split(const std::string& s, char sep);
// Non-empty lines of S.
std::vector<std::string> lines(const std::string& s);
std::string trim(const std::string& s);

// `cp -a ARGS...`, throwing on failure: as root it keeps owners, modes, hard links and every
// xattr, trusted.* included (the tests that copy a store elsewhere).
void copy_preserving(const std::vector<std::string>& args);
// A stderr that is exactly one non-empty line.
::testing::AssertionResult one_line(const std::string& err);

}  // namespace ovfd

// Skips the current test when Docker cannot be used here, fails it when the images cannot be
// built. For the start of every Docker test body.
#define OVFD_REQUIRE_DOCKER()                                                   \
    do {                                                                        \
        if (!::ovfd::docker_unavailable_reason().empty())                       \
            GTEST_SKIP() << ::ovfd::docker_unavailable_reason();                \
        const std::string& ovfd_build_error = ::ovfd::ensure_test_images();     \
        ASSERT_TRUE(ovfd_build_error.empty())                                   \
            << "building the Docker test images failed:\n" << ovfd_build_error; \
    } while (0)
