// What the kernel asks the daemon, counted in libfuse's request trace (-d). File data
// (-o data=, docs/data-path.md): in the default cache mode one OPEN and at most one FLUSH in
// the mount's life (both answered ENOSYS) and never a RELEASE; with data=daemon one OPEN per
// open(2); and READ replies spliced even when the daemon cannot grow pipes past
// /proc/sys/fs/pipe-max-size. Listings: a walk gets every entry's attributes with the listing.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/layer_model.hpp"
#include "support/mounts.hpp"

namespace ovft {
namespace {

class KernelRequests : public ::testing::Test {
protected:
    static constexpr int kMany = 1000;  // entries of many/: several READDIRPLUS replies
    static constexpr int kSeries = 30;  // files of series/ (read-ahead across files)
    static constexpr size_t kSeriesBytes = 16 << 10;

    void SetUp() override {
        if (!running_as_root()) GTEST_SKIP() << "these tests mount as root";
        if (impl_under_test() != Impl::Overlayfuse) GTEST_SKIP() << "tests overlayfuse's own requests";
        // Another test's drop_caches would turn cached entries into LOOKUPs mid-count.
        cache_lock_.emplace(CacheLock::Shared);
        LayerStack s;
        s.add_layer().file("low", "lower file\n");
        s.add_layer().file("d/high", "upper file\n");
        for (int i = 0; i < kMany; ++i) s.layers[i % 2].file("many/entry-with-a-longish-name-" + std::to_string(i), "");
        for (int i = 0; i < kSeries; ++i) s.layers[i % 2].file("series/f" + std::to_string(100 + i), std::string(kSeriesBytes, 'x'));
        big_.assign(32u << 20, '\0');
        for (size_t i = 0; i < big_.size(); i += 4096) big_[i] = static_cast<char>('a' + i / 4096 % 26);
        s.layers.front().file("big", big_);
        s.layers.front().file("warm-up", big_);
        layers_ = write_stack(s, kernel_encoding(), tmp_.sub("layers", false));
        lower_ = layers_[0] + ":" + layers_[1];
        mnt_ = tmp_.sub("mnt");
    }

    void TearDown() override {
        if (!mnt_.empty() && is_mount_point(mnt_)) detach_mounts_under(mnt_);
    }

    // Starts ARGV (which runs the daemon in the foreground, stderr to LOG) and waits for the
    // mount; the daemon is our child, so stop() can reap it.
    pid_t start(const std::vector<std::string>& argv, const std::string& log = "/dev/null") {
        pid_t pid = ::fork();
        if (pid == 0) {
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(fd, STDERR_FILENO);
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        for (int i = 0; i < 1000 && !is_mount_point(mnt_); ++i) ::usleep(10000);
        EXPECT_TRUE(is_mount_point(mnt_)) << "the daemon did not mount";
        return pid;
    }

    void stop(pid_t pid) {
        RunResult u = run({overlayfuse_bin(), "umount", mnt_});
        EXPECT_EQ(u.exit_code, 0) << u.describe();
        int status = 0;
        ::waitpid(pid, &status, 0);
    }

    // Runs the daemon with libfuse's request trace (-d) and DATA, lets BODY use the view,
    // unmounts and returns the trace.
    // EXTRA: more mount arguments (an upper, say).
    std::string traced(const std::string& data, const std::function<void()>& body,
                       const std::vector<std::string>& extra = {}) {
        std::string log = tmp_.path() + "/trace.log";
        std::vector<std::string> argv = {overlayfuse_bin(), "mount", "-d", "-o", data, "--lower", lower_};
        argv.insert(argv.end(), extra.begin(), extra.end());
        argv.push_back(mnt_);
        pid_t pid = start(argv, log);
        if (is_mount_point(mnt_)) body();
        stop(pid);
        std::ifstream in(log);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    static size_t count(const std::string& trace, const std::string& opcode) {
        size_t n = 0;
        std::string needle = "opcode: " + opcode + " ";
        for (size_t at = trace.find(needle); at != std::string::npos; at = trace.find(needle, at + 1)) ++n;
        return n;
    }

    std::string read_three_times(const std::string& rel) {
        std::string out;
        for (int i = 0; i < 3; ++i) {
            int fd = ::open((mnt_ + "/" + rel).c_str(), O_RDONLY);
            EXPECT_GE(fd, 0) << rel;
            if (fd < 0) continue;
            char buf[64] = {};
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n > 0) out.append(buf, static_cast<size_t>(n));
            ::close(fd);
        }
        return out;
    }

    // REL's first 11 bytes, read through a shared mapping ("" if that failed).
    std::string mapped(const std::string& rel) {
        std::string out;
        int fd = ::open((mnt_ + "/" + rel).c_str(), O_RDONLY);
        EXPECT_GE(fd, 0) << rel;
        if (fd < 0) return out;
        void* map = ::mmap(nullptr, 11, PROT_READ, MAP_SHARED, fd, 0);
        EXPECT_NE(map, MAP_FAILED) << rel;
        if (map != MAP_FAILED) {
            out.assign(static_cast<char*>(map), 11);
            ::munmap(map, 11);
        }
        ::close(fd);
        return out;
    }

    std::optional<CacheLock> cache_lock_;
    TempDir tmp_;
    std::vector<std::string> layers_;
    std::string lower_, mnt_, big_;
};

TEST_F(KernelRequests, CacheModeSendsOneOpenAndNoRelease) {
    std::string content;
    std::string trace = traced("data=cache", [&] {
        content = read_three_times("low") + read_three_times("d/high") + mapped("low");
    });
    EXPECT_EQ(content, "lower file\nlower file\nlower file\nupper file\nupper file\nupper file\nlower file\n");
    EXPECT_EQ(count(trace, "OPEN"), 1u) << "the kernel kept asking: " << trace.substr(0, 4000);
    EXPECT_LE(count(trace, "FLUSH"), 1u) << "FLUSH is answered ENOSYS once, then never sent again";
    EXPECT_EQ(count(trace, "RELEASE"), 0u);
    // Each file's page came from the daemon once, then from the kernel's cache.
    EXPECT_EQ(count(trace, "READ"), 2u);
}

// find, ls -l, tar and du list a directory to its end and only then stat its entries. The
// kernel's READDIRPLUS_AUTO would have sent every reply after the first as a plain READDIR,
// and then a LOOKUP per entry: 800 round trips more for this directory alone.
TEST_F(KernelRequests, WalkGetsAttributesWithEveryPartOfAListing) {
    size_t seen = 0;
    std::string trace = traced("data=cache", [&] {
        DIR* d = ::opendir((mnt_ + "/many").c_str());
        ASSERT_NE(d, nullptr);
        std::vector<std::string> names;
        while (struct dirent* e = ::readdir(d)) names.push_back(e->d_name);
        ::closedir(d);
        for (const auto& n : names) {
            struct stat st;
            if (::lstat((mnt_ + "/many/" + n).c_str(), &st) == 0) ++seen;
        }
    });
    EXPECT_EQ(seen, static_cast<size_t>(kMany) + 2);
    EXPECT_GE(count(trace, "READDIRPLUS"), 3u) << "many/ was meant to need several replies";
    EXPECT_EQ(count(trace, "READDIR"), 0u);
    EXPECT_LE(count(trace, "LOOKUP"), 1u) << "one for many/ itself; more: entries listed without attributes";
}

// Read-ahead across files: reading a directory's files in listing order makes the daemon
// fetch the next ones from the layers meanwhile (the kernel's read-ahead stops at the end of
// each file); a walk that only stats fetches nothing.
TEST_F(KernelRequests, ReadingFilesInOrderFetchesTheNextOnes) {
    auto lower_of = [&](const std::string& name) {
        for (const auto& l : layers_)
            if (::access((l + "/series/" + name).c_str(), F_OK) == 0) return l + "/series/" + name;
        return std::string();
    };
    auto resident = [&](const std::string& name) {
        int fd = ::open(lower_of(name).c_str(), O_RDONLY);
        void* p = ::mmap(nullptr, kSeriesBytes, PROT_READ, MAP_SHARED, fd, 0);
        ::close(fd);
        unsigned char vec[4] = {};
        bool all = p != MAP_FAILED && ::mincore(p, kSeriesBytes, vec) == 0 && vec[0] & vec[1] & vec[2] & vec[3] & 1;
        if (p != MAP_FAILED) ::munmap(p, kSeriesBytes);
        return all;
    };
    ::sync();
    for (int i = 0; i < kSeries; ++i) {
        int fd = ::open(lower_of("f" + std::to_string(100 + i)).c_str(), O_RDONLY);
        ASSERT_GE(fd, 0);
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
    if (resident("f100")) GTEST_SKIP() << "the layers' file system keeps its pages (tmpfs?)";
    std::vector<std::string> order;  // the view's listing order
    std::vector<std::string> fetched_by_walk, fetched_by_reads;
    traced("data=cache", [&] {
        DIR* d = ::opendir((mnt_ + "/series").c_str());
        ASSERT_NE(d, nullptr);
        while (struct dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') order.push_back(e->d_name);
        ::closedir(d);
        for (const auto& n : order) {
            struct stat st;
            EXPECT_EQ(::stat((mnt_ + "/series/" + n).c_str(), &st), 0) << n;
        }
        for (const auto& n : order)
            if (resident(n)) fetched_by_walk.push_back(n);
        char buf[64];
        for (int i = 0; i < 2; ++i) {
            int fd = ::open((mnt_ + "/series/" + order[i]).c_str(), O_RDONLY);
            ASSERT_GE(fd, 0);
            EXPECT_GT(::read(fd, buf, sizeof buf), 0);
            ::close(fd);
        }
        for (int wait = 0; wait < 200 && !resident(order[9]); ++wait) ::usleep(10000);
        for (const auto& n : order)
            if (resident(n)) fetched_by_reads.push_back(n);
    });
    ASSERT_EQ(order.size(), static_cast<size_t>(kSeries));
    EXPECT_TRUE(fetched_by_walk.empty()) << "a walk fetched " << fetched_by_walk.size() << " files, e.g. " << fetched_by_walk[0];
    EXPECT_TRUE(std::find(fetched_by_reads.begin(), fetched_by_reads.end(), order[9]) != fetched_by_reads.end())
        << order[9] << " (8 files after the second one read) was not fetched";
    EXPECT_TRUE(std::find(fetched_by_reads.begin(), fetched_by_reads.end(), order.back()) == fetched_by_reads.end())
        << order.back() << " was fetched: read-ahead went too far";
}

// A FUSE mount gets 128 KiB of read-ahead: a big file came in 128 KiB READs, one round
// trip each. The daemon (as root) raises it to what one READ carries, about 1 MiB.
TEST_F(KernelRequests, BigFilesComeInReadsOfAboutAMegabyte) {
    std::string setting;
    std::string trace = traced("data=daemon", [&] {
        struct stat st;
        ASSERT_EQ(::stat(mnt_.c_str(), &st), 0);
        std::ifstream in("/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" +
                         std::to_string(minor(st.st_dev)) + "/read_ahead_kb");
        std::getline(in, setting);
        int fd = ::open((mnt_ + "/big").c_str(), O_RDONLY);
        ASSERT_GE(fd, 0);
        std::vector<char> buf(1 << 20);
        size_t total = 0;
        for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) > 0;) total += static_cast<size_t>(n);
        ::close(fd);
        EXPECT_EQ(total, big_.size());
    });
    EXPECT_EQ(setting, "1024");
    EXPECT_LE(count(trace, "READ"), 64u) << "32 MiB in READs of 128 KiB would take 256";
}

TEST_F(KernelRequests, DaemonModeAnswersEveryOpen) {
    std::string content;
    std::string trace = traced("data=daemon", [&] { content = read_three_times("low"); });
    EXPECT_EQ(content, "lower file\nlower file\nlower file\n");
    EXPECT_EQ(count(trace, "OPEN"), 3u);
    EXPECT_EQ(count(trace, "RELEASE"), 3u);
}

// Opt-in FUSE passthrough: every open is answered (with a backing file), and when the daemon
// was built with it (see --version) the kernel reads the layer file itself: no READ at all.
TEST_F(KernelRequests, PassthroughModeLetsTheKernelRead) {
    std::string content;
    std::string trace = traced("data=passthrough", [&] {
        content = read_three_times("low") + mapped("d/high");
    });
    EXPECT_EQ(content, "lower file\nlower file\nlower file\nupper file\n");
    EXPECT_EQ(count(trace, "OPEN"), 4u);
    EXPECT_EQ(count(trace, "RELEASE"), 4u);
    RunResult v = run({overlayfuse_bin(), "--version"});
    bool built_with = v.out.find("no FUSE passthrough") == std::string::npos &&
                      v.out.find("FUSE passthrough") != std::string::npos;
    if (built_with) {
        EXPECT_EQ(count(trace, "READ"), 0u) << v.out;
    } else {
        EXPECT_GE(count(trace, "READ"), 1u) << "spliced by the daemon instead: " << v.out;
    }
}

// Regression: without CAP_SYS_RESOURCE no pipe grows past pipe-max-size (1 MiB), libfuse's
// request buffer (1 MiB + a page) could not be spliced, and its failed attempt left every
// pipe at 64 KiB: each READ reply was then copied through the daemon's memory. The pipe could
// also be sized for the wrong buffer by a worker that started while INIT was being answered.
TEST_F(KernelRequests, ReadsAreSplicedWithoutCapSysResource) {
    if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "needs setpriv (util-linux)";
    // Read-only in both modes that read through the daemon, and writable (where requests are
    // spliced in too, so libfuse also needs a pipe for its whole request buffer).
    std::string upper = tmp_.sub("upper"), work = tmp_.sub("work");
    const std::vector<std::vector<std::string>> setups = {
        {"-o", "data=cache"}, {"-o", "data=daemon"}, {"--upper", upper, "--work", work}};
    for (const auto& setup : setups) {
        SCOPED_TRACE(setup.front() + " " + setup.back());
        std::vector<std::string> argv = {"/usr/bin/setpriv", "--bounding-set", "-sys_resource",
                                         overlayfuse_bin(), "mount", "-f", "--lower", lower_};
        argv.insert(argv.end(), setup.begin(), setup.end());
        argv.push_back(mnt_);
        pid_t daemon = start(argv);
        ASSERT_TRUE(is_mount_point(mnt_));
        // Bytes the daemon read with read(2) and its kin: a spliced reply adds none.
        auto rchar = [&] {
            std::ifstream in("/proc/" + std::to_string(daemon) + "/io");
            for (std::string key; in >> key;) {
                long value = 0;
                in >> value;
                if (key == "rchar:") return value;
            }
            return -1L;
        };
        auto read_all = [&](const std::string& rel) {
            std::string got(big_.size(), '\0');
            int fd = ::open((mnt_ + "/" + rel).c_str(), O_RDONLY);
            EXPECT_GE(fd, 0) << rel;
            size_t done = 0;
            for (ssize_t n; fd >= 0 && done < got.size() && (n = ::read(fd, &got[done], got.size() - done)) > 0;)
                done += static_cast<size_t>(n);
            if (fd >= 0) ::close(fd);
            got.resize(done);
            return got;
        };
        // The same read first, so that the daemon's threads, stacks and heap are all there:
        // only what each reply costs is measured.
        EXPECT_TRUE(read_all("warm-up") == big_) << "wrong data";
        long before = rchar();
        EXPECT_TRUE(read_all("big") == big_) << "wrong data";
        long copied = rchar() - before;
        // Copying reads all 32 MiB into the daemon; splicing reads only the requests.
        EXPECT_LT(copied, 1L << 20) << "the daemon copied READ replies instead of splicing them";
        stop(daemon);
    }
}

}  // namespace
}  // namespace ovft
