#pragma once
// The differential random-operations engine of the writable-view tests.
//
// A seeded generator draws file-system operations over a small namespace (names a..g, paths
// at most 4 deep) from the current state of the kernel overlay's merged tree. Each operation
// runs on the kernel overlay (the oracle) and then on overlayfuse, each over its own copy of
// the same lower layers, and the outcome of every call (return value, errno, data read back)
// must be the same. After every batch the merged trees are walked and compared; at the end the
// two upper directories are compared, and the kernel overlay is mounted over overlayfuse's
// upper (fresh lowers, fresh work dir) and must show the same tree as the oracle.
//
// The operations run in a child process chrooted into the test's temp dir, so that symlinks
// in the layers (absolute ones especially) can never reach the host's files.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/layer_model.hpp"

namespace ovft::wr {

enum class OpKind {
    CreateExcl, OpenTrunc, Append, WriteAt, Truncate, Fallocate, Mkdir, Mkfifo, Mknod, Symlink, Link,
    Unlink, Rmdir, Rename, Chmod, Chown, Utimens, SetXattr, RemoveXattr, GetXattr, ListXattr, ReadRdwr,
    ReadRo, Readdir, Stat, Readlink, HoldOpen, FdWrite, FdRead, FdStat, FdTruncate, FdClose, Fsync,
};

struct Op {
    OpKind kind = OpKind::Stat;
    std::string a;        // path (relative to the mount root), or symlink target
    std::string b;        // second path / xattr name
    int64_t x = 0;        // offset, length, uid, atime, ...
    int64_t y = 0;        // length, gid, mtime, ...
    int64_t flags = 0;    // open/rename/xattr/fallocate flags, slot
    uint32_t mode = 0;
    uint32_t dlen = 0;    // data written: dlen bytes of pattern dseed
    uint32_t dseed = 0;
};

std::string op_name(OpKind k);
// C-like: rename("a/b", "c", RENAME_NOREPLACE).
std::string describe(const Op& op);
// One line, and back (for OVF_OPS_FILE replays and the minimizer's output).
std::string serialize(const Op& op);
std::optional<Op> parse_op(const std::string& line);

// What reading FD to its end gave ("0 len=N hash=H", or the error), from offset 0 with
// pread or from the current offset with read. Stops after kReadAllCap bytes: a held
// character device may be 1:5, and /dev/zero has no end.
constexpr size_t kReadAllCap = 4 << 20;
std::string read_fd_all(int fd, bool from_zero);

struct DiffOptions {
    uint64_t seed = 1;
    int ops = 300;
    int batch = 25;               // compare the merged trees after this many operations
    bool held_fds = true;         // HoldOpen/Fd* operations
    bool ro_fds_across_copy_up = false;  // let held O_RDONLY fds see copy-ups (kernel: stale data)
    std::vector<std::string> overlayfuse_args;  // extra `overlayfuse mount` arguments
    std::string kernel_options;   // appended to the oracle's options (later ones win)
    bool prefer_dirs = false;     // rename directories more often (redirect_dir=on runs)
    // Compare the uppers without opaque markers (redirect_dir=on runs: the kernel marks new
    // directories in merged ones opaque as a lookup shortcut, also below redirected ones, where
    // the test cannot tell whether the marker matters; the kernel-over-upper check still does).
    bool upper_ignore_opaque = false;
    int timeout_seconds = 300;
    // The operations' umask; the daemon keeps the one the test runner mounted it with (022).
    mode_t umask = 022;
};

struct DiffOutcome {
    bool diverged = false;
    bool setup_failed = false;
    std::string report;           // what differed, with the seed and the op index
    std::string signature;        // "op:rename:kernel=0:ovf=-1 EXDEV", "tree", "upper", "kernel-over-upper", "hang"
    int first_bad_op = -1;        // index of the first operation whose outcome differed
    int ops_done = 0;
    int succeeded = 0;            // operations that returned success (on both sides)
    std::vector<Op> ops;          // what ran (generated or replayed)
};

// The lower layers of SEED: a fixed base layer with every feature the operations should meet
// (nested dirs, hard links, symlinks, a fifo, xattrs, a 300 KiB file) under a small stack from
// the support generator (whiteouts, opaque dirs, replaced kinds, odd modes and owners).
LayerStack differential_stack(uint64_t seed);

// Runs one sequence: generated from OPTIONS.seed, or REPLAY when given. Sets up everything
// below a fresh TempDir and tears it down (unmounts, daemon gone) before returning.
DiffOutcome run_differential(const DiffOptions& options, const std::optional<std::vector<Op>>& replay = std::nullopt);

// Delta-debugging of a diverging sequence: the smallest sub-sequence (within BUDGET_SECONDS)
// that still diverges with the same signature.
std::vector<Op> minimize(const DiffOptions& options, const std::vector<Op>& ops, const std::string& signature,
                         int budget_seconds);

// A full report for a minimized sequence: the lower layers (describe()) and the steps.
std::string reproduction(const DiffOptions& options, const std::vector<Op>& ops);
// The environment WritableDifferential.Replay needs besides the seed to run as OPTIONS did
// (" OVF_UMASK=027 OVF_REDIRECT_DIR=1 OVF_HELD_FDS=0", or ""), for the replay hints.
std::string replay_settings(const DiffOptions& options);

}  // namespace ovft::wr
