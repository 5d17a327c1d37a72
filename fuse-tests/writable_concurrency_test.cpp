// Several processes create, rename and delete in the same directories of one writable
// overlayfuse view at once. Each worker has its own names with a known end state; on top of
// that all of them contend for shared names (O_EXCL creates, renames onto one target, unlinks
// of the same lower files, mkdir/rmdir of one directory), whose end state is checked by
// invariants. Afterwards the kernel overlay mounted over the resulting upper must show the
// same tree as overlayfuse did.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "writable_support.hpp"

namespace ovft::wr {
namespace {

constexpr int kWorkers = 6;
constexpr int kRounds = 120;
constexpr int kLowerFiles = 40;

// Counters shared by the workers (an anonymous shared mapping).
struct Shared {
    std::atomic<int> lower_unlinks{0};       // successful unlinks of lower files
    std::atomic<int> excl_wins[kRounds];     // successful O_EXCL creates of "excl.N"
    std::atomic<int> errors{0};              // unexpected errno on own names
    char first_error[256];
};

std::string payload(int worker, int round) {
    return "worker " + std::to_string(worker) + " round " + std::to_string(round) + " " + std::string(1000 + worker * 10, 'x') + "\n";
}

bool write_whole(const std::string& path, const std::string& data, int flags) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
    if (fd < 0) return false;
    bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
    return ::close(fd) == 0 && ok;
}

void note_error(Shared* s, const std::string& what) {
    if (s->errors.fetch_add(1) == 0) {
        std::snprintf(s->first_error, sizeof s->first_error, "%s: %s", what.c_str(), std::strerror(errno));
    }
}

// Worker W: own names w<W>.<r> in shared/, renamed to shared/sub/w<W>.<r>.done or deleted
// (r % 3 == 0), plus contention on common names.
void worker(const std::string& m, int w, Shared* s) {
    std::string me = "w" + std::to_string(w);
    for (int r = 0; r < kRounds; ++r) {
        std::string own = m + "/shared/" + me + "." + std::to_string(r);
        if (!write_whole(own + ".tmp", payload(w, r), O_EXCL)) note_error(s, "create " + own + ".tmp");
        if (::rename((own + ".tmp").c_str(), own.c_str()) != 0) note_error(s, "rename " + own);
        if (r % 3 == 0) {
            if (::unlink(own.c_str()) != 0) note_error(s, "unlink " + own);
        } else if (::rename(own.c_str(), (m + "/shared/sub/" + me + "." + std::to_string(r) + ".done").c_str()) != 0) {
            note_error(s, "rename to sub " + own);
        }
        // Contention: exactly one O_EXCL create per round wins.
        if (write_whole(m + "/shared/excl." + std::to_string(r), payload(w, r), O_EXCL)) s->excl_wins[r]++;
        else if (errno != EEXIST) note_error(s, "O_EXCL create excl." + std::to_string(r));
        // Contention: everyone renames a private file onto the same target; the last wins.
        std::string mine = m + "/shared/target." + me;
        if (!write_whole(mine, payload(w, r), O_TRUNC)) note_error(s, "create " + mine);
        if (::rename(mine.c_str(), (m + "/shared/target").c_str()) != 0) note_error(s, "rename onto target");
        // Contention: every worker tries to delete every lower file; each goes exactly once.
        int victim = (r + w * 7) % kLowerFiles;
        if (::unlink((m + "/shared/lower." + std::to_string(victim)).c_str()) == 0) s->lower_unlinks++;
        else if (errno != ENOENT) note_error(s, "unlink lower." + std::to_string(victim));
        // Contention: one directory made and removed by all.
        if (::mkdir((m + "/shared/lockdir").c_str(), 0755) == 0) {
            if (::rmdir((m + "/shared/lockdir").c_str()) != 0) note_error(s, "rmdir lockdir");
        } else if (errno != EEXIST) {
            note_error(s, "mkdir lockdir");
        }
    }
    // Leftover lower files: sweep them all (ENOENT when another worker was first).
    for (int i = 0; i < kLowerFiles; ++i) {
        if (::unlink((m + "/shared/lower." + std::to_string(i)).c_str()) == 0) s->lower_unlinks++;
        else if (errno != ENOENT) note_error(s, "sweep lower." + std::to_string(i));
    }
}

TEST(WritableConcurrency, ParallelWritersEndInTheExpectedStateAndTheKernelReadsIt) {
    if (!running_as_root()) GTEST_SKIP() << "needs root (kernel overlay)";
    TempDir t;
    LayerStack stack;
    Layer& l = stack.add_layer();
    for (int i = 0; i < kLowerFiles; ++i) l.file("shared/lower." + std::to_string(i), "lower " + std::to_string(i) + "\n");
    l.dir("shared/sub");
    l.file("shared/sub/keep", "keep\n");
    auto lowers = write_lowers(stack, t.sub("src"));
    auto fl = copy_lowers(lowers, t.sub("f/lowers"));
    std::string upper = t.sub("f/upper"), work = t.sub("f/work"), mnt = t.sub("f/mnt");

    auto* shared = static_cast<Shared*>(::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(shared, MAP_FAILED);
    new (shared) Shared();

    std::map<std::string, std::string> view;
    {
        OvfRW m(fl, upper, work, mnt);
        std::vector<pid_t> pids;
        for (int w = 0; w < kWorkers; ++w) {
            pid_t p = ::fork();
            if (p == 0) {
                worker(mnt, w, shared);
                ::_exit(0);
            }
            pids.push_back(p);
        }
        for (pid_t p : pids) {
            if (!wait_for_exit(p, 120000)) {
                ::kill(p, SIGKILL);
                ADD_FAILURE() << "worker " << p << " hung (over 120 s)";
            }
            int status;
            ::waitpid(p, &status, 0);
        }
        EXPECT_EQ(shared->errors.load(), 0) << "first unexpected error: " << shared->first_error;
        EXPECT_EQ(shared->lower_unlinks.load(), kLowerFiles) << "each lower file must be deleted exactly once";
        for (int r = 0; r < kRounds; ++r) EXPECT_EQ(shared->excl_wins[r].load(), 1) << "O_EXCL winners of excl." << r;

        // The end state every worker's own names must have.
        std::set<std::string> names;
        for (const auto& e : std::filesystem::directory_iterator(mnt + "/shared")) names.insert(e.path().filename());
        std::set<std::string> expected = {"sub", "target"};
        for (int r = 0; r < kRounds; ++r) expected.insert("excl." + std::to_string(r));
        EXPECT_EQ(names, expected) << "entries of shared/";
        std::set<std::string> sub;
        for (const auto& e : std::filesystem::directory_iterator(mnt + "/shared/sub")) sub.insert(e.path().filename());
        std::set<std::string> sub_expected = {"keep"};
        for (int w = 0; w < kWorkers; ++w) {
            for (int r = 0; r < kRounds; ++r) {
                if (r % 3) sub_expected.insert("w" + std::to_string(w) + "." + std::to_string(r) + ".done");
            }
        }
        EXPECT_EQ(sub, sub_expected) << "entries of shared/sub/";
        for (int w = 0; w < kWorkers; ++w) {
            for (int r = 1; r < kRounds; r += 17) {
                if (r % 3 == 0) continue;
                auto content = read_file(mnt + "/shared/sub/w" + std::to_string(w) + "." + std::to_string(r) + ".done");
                EXPECT_EQ(content.value_or("(missing)"), payload(w, r));
            }
        }
        // The target is one worker's complete payload of its last round.
        auto target = read_file(mnt + "/shared/target").value_or("(missing)");
        bool whole = false;
        for (int w = 0; w < kWorkers; ++w) whole |= target == payload(w, kRounds - 1);
        EXPECT_TRUE(whole) << "shared/target is not a whole last-round payload: " << target.substr(0, 60);
        WalkOptions o;
        o.dir_nlink = false;  // the kernel says 1 for merged directories
        view = walk_tree(mnt, o);
    }  // unmounted, daemon gone
    EXPECT_EQ(count_entries(work + "/work"), 0) << "WORK/work after unmount";
    ::munmap(shared, sizeof(Shared));

    // The kernel overlay over that upper shows the same tree.
    auto kl = copy_lowers(lowers, t.sub("k/lowers"));
    KernelRW k(kl, upper, t.sub("k/work"), t.sub("k/mnt"));
    WalkOptions o;
    o.dir_nlink = false;
    auto kview = walk_tree(k.path(), o);
    std::string d = diff_walks("overlayfuse", view, "kernel overlay over overlayfuse's upper", kview);
    EXPECT_TRUE(d.empty()) << d;
}

}  // namespace
}  // namespace ovft::wr
