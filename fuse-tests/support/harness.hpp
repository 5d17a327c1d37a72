#pragma once
// Basic pieces every fuse-test uses: temporary directories, running a program and capturing
// its output, and the unprivileged test user. Mounts are in mounts.hpp, tree comparison in
// tree_compare.hpp, the layer generator in layer_model.hpp / layer_generator.hpp.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace ovft {

// Every temporary directory of the fuse-tests starts with this prefix (under /tmp), so that
// .ci/run can find and unmount whatever a crashed test left mounted.
inline constexpr const char* kTempPrefix = "/tmp/ovf-test.";

// Paths of the programs under test, baked in by CMake (see fuse-tests/CMakeLists.txt).
std::string overlayfuse_bin();
std::string treedump_bin();

// A user the tests can run programs as.
struct TestUser {
    std::string name;
    uid_t uid;
    gid_t gid;
};

// A fresh directory /tmp/ovf-test.XXXXXX. The destructor first detaches any mount left below
// it (a test that failed half-way), then deletes it recursively.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    // PATH/NAME, creating it as a directory when MKDIR.
    std::string sub(const std::string& name, bool mkdir = true) const;
    // Lets USER reach and use the directory (mode 0755, or owned by USER when OWN).
    void open_for(const TestUser& user, bool own = false) const;

private:
    std::string path_;
};

struct RunOptions {
    std::optional<TestUser> as_user;  // drop to this user (we must be root)
    std::string cwd;                  // empty: inherit
    int timeout_seconds = 120;        // then SIGKILL; a hung mount must not hang the suite
};

struct RunResult {
    int exit_code = -1;      // -1: killed by a signal or timed out
    bool timed_out = false;
    std::string out;
    std::string err;
    std::string command;     // for messages
    // "CMD exited 1; stderr: ..." for assertion messages.
    std::string describe() const;
};

RunResult run(const std::vector<std::string>& argv, const RunOptions& options = {});

// True when this process can mount (kernel overlay and FUSE as root).
bool running_as_root();

// The unprivileged user of the tests ("ovftest"), created with useradd when absent and we are
// root. Empty, with WHY set, when that is impossible.
std::optional<TestUser> test_user(std::string* why);

// Why the unprivileged FUSE tests cannot run here, or empty when they can (/dev/fuse must be
// usable by others, fusermount3 installed).
std::string unprivileged_fuse_unavailable_reason();

// The NUL-separated command line of process PID (a /proc entry name), "" if it is gone.
// Scans of /proc race with processes that exit (ctest -j runs other tests' daemons beside
// them): read(2) then fails with ESRCH, which a std::ifstream turns into an exception.
std::string proc_cmdline(const std::string& pid);

// The kernel's dentry, inode and page caches are shared by every test running at once
// (ctest -j). A test that drops them holds this lock exclusively while it does; a test
// whose checks count the kernel's requests or look at what it cached holds it shared, so a
// drop never lands in the middle of its counting. (A flock on a file in /tmp.)
class CacheLock {
public:
    enum Mode { Shared, Exclusive };
    explicit CacheLock(Mode mode);
    ~CacheLock();
    CacheLock(const CacheLock&) = delete;
    CacheLock& operator=(const CacheLock&) = delete;

private:
    int fd_ = -1;
};

// Writes "2" (dentries and inodes) or "3" (also the page cache) to /proc/sys/vm/drop_caches
// after a sync; the caller holds a CacheLock(Exclusive).
void drop_caches(const char* what = "2");

// Writes TEXT to FILE, throws on failure.
void write_file(const std::string& file, const std::string& text);

// A directory for files worth keeping after a failed test (full tree dumps):
// $OVF_TEST_ARTIFACTS or /tmp/ovf-artifacts. Returns the path of NAME inside it.
std::string artifact_path(const std::string& name);

}  // namespace ovft
