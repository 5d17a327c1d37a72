#pragma once
// Helpers of the writable-view tests (ovf_writable_tests): read-write kernel overlay and
// overlayfuse mounts with an upper directory (RAII, the daemon waited for or killed at the
// end), an lstat walk of a tree that compares what the kernel overlay promises, and a small PRNG.
//
// Everything here is used by fuse-tests/writable_*_test.cpp only; the read-only helpers are in
// support/.
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/harness.hpp"
#include "support/rng.hpp"
#include "support/layer_model.hpp"
#include "support/mounts.hpp"

namespace ovft::wr {

using ovft::Rng;

// Lower-case hex of S: xattr values and names in logs, dumps and op files.
std::string hex(const std::string& s);

// "ENOENT" for 2, "E123" for unknown numbers.
std::string errno_name(int err);

// The options the oracle is mounted with: what Docker uses and what overlayfuse does by
// default (this kernel defaults to redirect_dir=on, which would let lower directories be
// renamed in place).
inline constexpr const char* kOracleFlags = "redirect_dir=off,index=off,metacopy=off";

// `mount -t overlay -o lowerdir=...,upperdir=U,workdir=W,<kOracleFlags>[,EXTRA] MNT`.
class KernelRW : public Mounted {
public:
    KernelRW(const std::vector<std::string>& lowers_top_first, const std::string& upper,
             const std::string& work, const std::string& mnt, const std::string& extra_options = "");
    ~KernelRW() override;
    std::string what() const override { return "kernel overlay"; }
    void unmount();

private:
    bool mounted_ = false;
};

// `overlayfuse mount --lower ... --upper U --work W [EXTRA...] MNT` (as AS_USER when given).
// Knows its daemon's pid; unmount() waits until the daemon has exited (SIGKILL after 20 s),
// so that the upper is complete and no daemon outlives the test.
class OvfRW : public Mounted {
public:
    OvfRW(const std::vector<std::string>& lowers_top_first, const std::string& upper,
          const std::string& work, const std::string& mnt, const std::vector<std::string>& extra_args = {},
          std::optional<TestUser> as_user = std::nullopt);
    // Any argv that mounts on MNT (e.g. with an IMAGE, or --writable); throws when it fails.
    OvfRW(const std::vector<std::string>& argv, const std::string& mnt,
          std::optional<TestUser> as_user = std::nullopt);
    ~OvfRW() override;
    std::string what() const override { return "overlayfuse"; }
    pid_t daemon_pid() const { return pid_; }
    // Unmounts (lazily when busy) and waits for the daemon to exit.
    void unmount();
    // The daemon was killed from outside: detach the dead mount, reap nothing.
    void forget_daemon() { pid_ = -1; }

private:
    void start(const std::vector<std::string>& argv, std::optional<TestUser> as_user);
    bool mounted_ = false;
    pid_t pid_ = -1;
};

// The pid of the overlayfuse daemon serving MNT (a process whose command line is
// `... overlayfuse mount ... MNT`), or -1.
pid_t find_daemon_pid(const std::string& mnt);
// Waits up to TIMEOUT_MS for PID to exit; true when it has.
bool wait_for_exit(pid_t pid, int timeout_ms);

// The same lowers (STACK, kernel encoding) under a kernel overlay and under overlayfuse, each
// over its own copy, each with its own upper and work dir, below one TempDir.
class MountPair {
public:
    explicit MountPair(const LayerStack& stack, const std::vector<std::string>& overlayfuse_args = {},
                       const std::string& kernel_options = "");
    const std::string& kernel() const { return kernel_->path(); }
    const std::string& ovf() const { return ovf_->path(); }
    std::string kernel_upper() const { return t_.path() + "/k/upper"; }
    std::string ovf_upper() const { return t_.path() + "/f/upper"; }
    std::string ovf_work() const { return t_.path() + "/f/work"; }
    const std::vector<std::string>& lowers() const { return src_; }
    // The copies of the lowers each side mounts (an upper's overlay.origin handles name
    // objects of its own side's copies).
    const std::vector<std::string>& kernel_lowers() const { return kernel_lowers_; }
    const std::vector<std::string>& ovf_lowers() const { return ovf_lowers_; }
    const TempDir& temp() const { return t_; }
    // Unmounts both (the daemon has exited when this returns).
    void unmount();
    // Unmounts both and mounts each again over its own lowers, upper and work directory.
    void remount();
    // After unmount(): the kernel overlay over the lowers and upper overlayfuse had, with a
    // work directory of its own, on a fresh mount point; returns its path.
    std::string mount_kernel_over_ovf_upper();

private:
    TempDir t_;
    std::vector<std::string> src_;
    std::vector<std::string> kernel_lowers_, ovf_lowers_;
    std::vector<std::string> overlayfuse_args_;
    std::unique_ptr<KernelRW> kernel_;
    std::unique_ptr<OvfRW> ovf_;
    std::unique_ptr<KernelRW> check_;
    std::string kernel_options_;
};

// `cp -a SRC DST` (DST must not exist): an identical copy, xattrs, hard links and devices
// included. Throws on failure.
void copy_tree(const std::string& src, const std::string& dst);

// Writes STACK (kernel encoding) below DIR/layers and returns the layer paths top first.
std::vector<std::string> write_lowers(const LayerStack& stack, const std::string& dir);
// Copies the layer dirs LOWERS (top first, all inside one parent P) to DST_PARENT, returning
// the new paths top first.
std::vector<std::string> copy_lowers(const std::vector<std::string>& lowers, const std::string& dst_parent);

// ---------------------------------------------------------------------------------------------
// The tree walk

struct WalkOptions {
    // mtimes at or after this (seconds) print as "now": operations happen at slightly different
    // instants on the two sides. Earlier mtimes (layers, explicit utimensat) must be equal.
    int64_t recent_after = 0;
    bool xattrs = true;
    // xattr names starting with one of these are not shown (e.g. "trusted.overlay.origin").
    std::vector<std::string> skip_xattr_prefixes;
    bool dir_nlink = true;
    bool nlink = true;
    bool mtime = true;
    bool dir_mtime = true;
    bool ino_classes = true;      // hard-link identity: "ino=self" or the first path seen
    // Raw upper dirs: the kernel hard-links its whiteouts to one shared inode (a detail of its
    // implementation); do not show nlink and identity of char 0/0 devices.
    bool whiteout_identity = true;
    std::vector<std::string> exclude;  // relative paths ("work") skipped with everything below
};

// One line per entry ("/a/b type=file mode=0644 uid=0 gid=0 size=3 hash=... nlink=1
// ino=self mtime=now xattrs=user.a:6869"), sorted by path; the root is "/". Entries that
// readdir lists but lstat cannot find (the kernel shows whiteout names in some directories)
// are skipped. Never follows symlinks.
std::map<std::string, std::string> walk_tree(const std::string& root, const WalkOptions& options);
std::string walk_text(const std::map<std::string, std::string>& walk);

// Empty when equal; else up to MAX_SHOWN lines "path: only in A: ..." / "path: A=... B=...".
std::string diff_walks(const std::string& label_a, const std::map<std::string, std::string>& a,
                       const std::string& label_b, const std::map<std::string, std::string>& b,
                       size_t max_shown = 20);

// Seconds since the epoch, now.
int64_t now_seconds();

// Content of a whole file, or nullopt.
std::optional<std::string> read_file(const std::string& path);
// The names in DIR (without . and ..), sorted; nullopt when it cannot be read (errno set).
std::optional<std::vector<std::string>> sorted_names(const std::string& dir);
// Count of entries in DIR (without . and ..), -1 when unreadable.
int count_entries(const std::string& dir);
// Entries of a live view's WORK/work other than the whiteout device that whiteouts are
// linked to (the kernel overlay keeps one there too): what a crash or a failure left.
int count_work_leftovers(const std::string& work_work);

}  // namespace ovft::wr
