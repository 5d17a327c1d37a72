// Differential random-operations test: the same seeded sequence of file-system calls on the
// kernel overlay (the oracle, redirect_dir=off,index=off,metacopy=off) and on a writable
// overlayfuse mount, each over its own copy of the same lowers. Every call's outcome must be
// the same, the merged trees must be the same after every batch, the two uppers must be the
// same, and the kernel overlay mounted over overlayfuse's upper must show the oracle's tree.
// See docs/testing-writable.md.
//
// Environment:
//   OVF_SEED=N        run only seed N (in every test of the suite that takes seeds)
//   OVF_SEED_BASE=N   first seed of the CI batches (default 1)
//   OVF_OPS=N         operations per seed (default 300)
//   OVF_UMASK=OCTAL   the operations' umask in WritableDifferential.Replay (default 022)
//   OVF_OPS_FILE=F    WritableDifferential.Replay runs the operations of F (lines as printed by
//                     a failure or the minimizer) over the lowers of OVF_SEED
//   OVF_MINIMIZE=1    on a divergence, shrink the sequence and print a minimal reproduction
//                     (OVF_MINIMIZE_SECONDS, default 300)
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "support/harness.hpp"
#include "writable_ops.hpp"

namespace ovft::wr {
namespace {

constexpr int kSeedsPerBatch = 5;
constexpr int kBatches = 4;
constexpr int kDefaultOps = 300;

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}

std::vector<uint64_t> seeds_of_batch(int batch) {
    if (const char* one = std::getenv("OVF_SEED")) return {std::strtoull(one, nullptr, 10)};
    uint64_t base = static_cast<uint64_t>(env_int("OVF_SEED_BASE", 1));
    std::vector<uint64_t> seeds;
    for (int i = 0; i < kSeedsPerBatch; ++i) seeds.push_back(base + static_cast<uint64_t>(batch * kSeedsPerBatch + i));
    return seeds;
}

// Runs OPTIONS; on a divergence, a failure with the report (and, with OVF_MINIMIZE=1, a
// minimal reproduction).
void check(const DiffOptions& options, const std::optional<std::vector<Op>>& replay = std::nullopt) {
    DiffOutcome r = run_differential(options, replay);
    if (!r.diverged) {
        std::printf("seed %llu: %d operations (%d succeeded) matched the kernel overlay\n",
                    static_cast<unsigned long long>(options.seed), r.ops_done, r.succeeded);
        return;
    }
    std::string extra;
    if (std::getenv("OVF_MINIMIZE") && !r.setup_failed && !r.ops.empty()) {
        std::vector<Op> ops = r.ops;
        if (r.first_bad_op >= 0 && static_cast<size_t>(r.first_bad_op) < ops.size()) ops.resize(r.first_bad_op + 1);
        auto small = minimize(options, ops, r.signature, env_int("OVF_MINIMIZE_SECONDS", 300));
        DiffOutcome again = run_differential(options, small);
        extra = "\nminimized to " + std::to_string(small.size()) + " operation(s):\n" + reproduction(options, small) +
                "its outcome:\n" + again.report;
        std::string file = artifact_path("writable-seed" + std::to_string(options.seed) + ".ops");
        std::ofstream(file) << [&] {
            std::string s;
            for (auto& op : small) s += serialize(op) + "\n";
            return s;
        }();
        extra += "saved as " + file + " (replay: OVF_SEED=" + std::to_string(options.seed) + " OVF_OPS_FILE=" + file +
                 replay_settings(options) + " ovf_writable_tests --gtest_filter=WritableDifferential.Replay)\n";
    }
    ADD_FAILURE() << "overlayfuse diverged from the kernel overlay, seed " << options.seed << " ["
                  << r.signature << "]\n" << r.report << extra;
}

void require_root() {
    if (!running_as_root()) GTEST_SKIP() << "mounting the kernel overlay needs root";
}

class WritableDifferential : public ::testing::TestWithParam<int> {};

TEST_P(WritableDifferential, RandomOpsMatchKernel) {
    require_root();
    for (uint64_t seed : seeds_of_batch(GetParam())) {
        DiffOptions o;
        o.seed = seed;
        o.ops = env_int("OVF_OPS", kDefaultOps);
        check(o);
    }
}

INSTANTIATE_TEST_SUITE_P(Seeds, WritableDifferential, ::testing::Range(0, kBatches),
                         [](const auto& info) { return "batch" + std::to_string(info.param); });

// Without held file descriptors: the path-based calls alone (a divergence in the fd
// operations then cannot hide everything else).
TEST(WritableDifferentialPaths, RandomPathOpsMatchKernel) {
    require_root();
    for (uint64_t seed : seeds_of_batch(0)) {
        DiffOptions o;
        o.seed = seed + 100000;
        o.ops = env_int("OVF_OPS", kDefaultOps);
        o.held_fds = false;
        check(o);
    }
}

// Callers with another umask than the daemon's (0 and 027, a seed each in turn): the modes
// of new objects must come from the caller's alone.
TEST(WritableDifferentialUmask, RandomOpsUnderAnotherUmaskMatchKernel) {
    require_root();
    for (uint64_t seed : seeds_of_batch(0)) {
        DiffOptions o;
        o.seed = seed + 300000;
        o.ops = env_int("OVF_OPS", kDefaultOps);
        o.umask = seed % 2 ? 0 : 027;
        check(o);
    }
}

// redirect_dir=on on both sides: lower and merged directories are renamed in place and the
// upper records trusted.overlay.redirect, which the kernel must read back from overlayfuse's
// upper.
TEST(WritableDifferentialRedirect, RandomOpsWithRedirectDirMatchKernel) {
    require_root();
    for (uint64_t seed : seeds_of_batch(0)) {
        DiffOptions o;
        o.seed = seed + 200000;
        o.ops = env_int("OVF_OPS", kDefaultOps);
        o.overlayfuse_args = {"-o", "redirect_dir=on"};
        o.kernel_options = "redirect_dir=on";
        o.prefer_dirs = true;
        o.upper_ignore_opaque = true;
        check(o);
    }
}

// A divergence prints the command that replays it: it must carry every setting the seed ran
// with (a redirect_dir=on seed replayed without OVF_REDIRECT_DIR=1 matched the kernel).
TEST(WritableDifferentialHarness, ReplayHintNamesEverySetting) {
    DiffOptions plain;
    EXPECT_EQ(replay_settings(plain), "");
    DiffOptions all;
    all.umask = 027;
    all.kernel_options = "redirect_dir=on";
    all.held_fds = false;
    EXPECT_EQ(replay_settings(all), " OVF_UMASK=027 OVF_REDIRECT_DIR=1 OVF_HELD_FDS=0");
}

// The lowers may hold a copy of /dev/zero (1:5), which the operations may open and read "to
// the end": the read must stop (seed 10131 with redirect_dir=on read until std::bad_alloc).
TEST(WritableDifferentialHarness, ReadingAnEndlessDeviceStopsAtTheCap) {
    int fd = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    std::string whole = read_fd_all(fd, true);
    std::string streamed = read_fd_all(fd, false);
    ::close(fd);
    std::string len = "0 len=" + std::to_string(kReadAllCap) + " ";
    EXPECT_EQ(whole.rfind(len, 0), 0u) << whole;
    EXPECT_NE(whole.find("(stopped there)"), std::string::npos) << whole;
    EXPECT_EQ(streamed, whole);
}

// Replays OVF_SEED (with OVF_OPS operations), or the operations of OVF_OPS_FILE over the
// lowers of OVF_SEED. Skipped when neither is set.
TEST(WritableDifferential, Replay) {
    require_root();
    const char* seed = std::getenv("OVF_SEED");
    const char* file = std::getenv("OVF_OPS_FILE");
    if (!seed && !file) GTEST_SKIP() << "set OVF_SEED (and OVF_OPS) or OVF_OPS_FILE";
    DiffOptions o;
    o.seed = seed ? std::strtoull(seed, nullptr, 10) : 1;
    o.ops = env_int("OVF_OPS", kDefaultOps);
    o.held_fds = env_int("OVF_HELD_FDS", 1) != 0;
    o.timeout_seconds = env_int("OVF_TIMEOUT_SECONDS", o.timeout_seconds);
    o.ro_fds_across_copy_up = env_int("OVF_RO_FDS", 0) != 0;
    if (const char* mask = std::getenv("OVF_UMASK")) o.umask = static_cast<mode_t>(std::strtoul(mask, nullptr, 8));
    if (env_int("OVF_REDIRECT_DIR", 0)) {
        o.overlayfuse_args = {"-o", "redirect_dir=on"};
        o.kernel_options = "redirect_dir=on";
        o.prefer_dirs = true;
        o.upper_ignore_opaque = true;
    }
    if (file) {
        std::ifstream in(file);
        ASSERT_TRUE(in) << "cannot read " << file;
        std::vector<Op> ops;
        std::string line;
        while (std::getline(in, line)) {
            if (auto op = parse_op(line)) ops.push_back(*op);
        }
        check(o, ops);
    } else {
        check(o);
    }
}

}  // namespace
}  // namespace ovft::wr
