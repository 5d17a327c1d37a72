// Read-ahead across files (Engine::plan_read_ahead / read_ahead): which files a reader's
// first reads make the engine fetch, and that the fetch reaches the layers' page cache.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "layer_fixture.hpp"

namespace ovf::test {
namespace {

class ReadAhead : public LayerFixture {
protected:
    // d/ holds 30 files over two layers and two directories among them; returns its entries
    // in listing (slot) order.
    std::vector<std::pair<size_t, merge::DirEntry>> make_dir(size_t bytes = 1) {
        for (int i = 0; i < 30; ++i) file(i % 2, "d/f" + std::to_string(100 + i), std::string(bytes, 'x'));
        dir(1, "d/sub-a");
        dir(0, "d/sub-b");
        engine();
        merge::Node* d = resolve("d");
        EXPECT_NE(d, nullptr);
        std::shared_ptr<const merge::Listing> l;
        EXPECT_EQ(engine_->listing(*d, &l), 0);
        return l->slice(0, SIZE_MAX);
    }
    merge::Node& node(const merge::DirEntry& e) {
        merge::Node* n = resolve("d/" + e.name);
        EXPECT_NE(n, nullptr) << e.name;
        return *n;
    }
    std::vector<size_t> file_positions(const std::vector<std::pair<size_t, merge::DirEntry>>& list) {
        std::vector<size_t> out;
        for (size_t i = 0; i < list.size(); ++i)
            if (list[i].second.type == DT_REG) out.push_back(i);
        return out;
    }
};

TEST_F(ReadAhead, FilesReadInListingOrderFetchTheNextOnesOnce) {
    auto list = make_dir();
    auto files = file_positions(list);
    ASSERT_GE(files.size(), 12u);
    merge::Engine::ReadAhead job;
    EXPECT_FALSE(engine_->plan_read_ahead(node(list[files[0]].second), &job)) << "one read is no order yet";
    const auto& second = list[files[1]];
    ASSERT_TRUE(engine_->plan_read_ahead(node(second.second), &job));
    EXPECT_EQ(job.from, second.first + 1);
    EXPECT_EQ(job.to, second.first + 9);
    size_t regular = 0;
    for (const auto& [slot, e] : list)
        if (slot >= job.from && slot < job.to && e.type == DT_REG) ++regular;
    EXPECT_EQ(engine_->read_ahead(job), regular) << "directories in the range are skipped";
    // The next file in order asks only for the one slot not fetched yet.
    const auto& third = list[files[2]];
    uint32_t until = job.to;
    ASSERT_TRUE(engine_->plan_read_ahead(node(third.second), &job));
    EXPECT_EQ(job.from, until);
    EXPECT_EQ(job.to, third.first + 9);
}

TEST_F(ReadAhead, ReadersOutOfOrderFetchNothing) {
    auto list = make_dir();
    auto files = file_positions(list);
    merge::Engine::ReadAhead job;
    EXPECT_FALSE(engine_->plan_read_ahead(node(list[files[5]].second), &job));
    EXPECT_FALSE(engine_->plan_read_ahead(node(list[files[2]].second), &job)) << "backwards";
    EXPECT_FALSE(engine_->plan_read_ahead(node(list[files.back()].second), &job)) << "a jump of more than 16 slots";
    merge::Node* sub = resolve("d/sub-a");
    ASSERT_NE(sub, nullptr);
    EXPECT_FALSE(engine_->plan_read_ahead(*sub, &job)) << "directories are not read";
}

// The fetch is real: the next files' pages are in the page cache afterwards, the ones
// beyond the range are not.
TEST_F(ReadAhead, FetchedFilesAreInThePageCache) {
    const size_t bytes = 16 << 10;
    auto list = make_dir(bytes);
    auto files = file_positions(list);
    auto lower = [&](const merge::DirEntry& e) { return layer(e.layer) / "d" / e.name; };
    auto resident = [&](const merge::DirEntry& e) {
        int fd = ::open(lower(e).c_str(), O_RDONLY);
        void* p = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
        ::close(fd);
        unsigned char vec[4] = {};
        bool all = p != MAP_FAILED && ::mincore(p, bytes, vec) == 0 && vec[0] & vec[1] & vec[2] & vec[3] & 1;
        if (p != MAP_FAILED) ::munmap(p, bytes);
        return all;
    };
    ::sync();
    for (const auto& [slot, e] : list) {
        if (e.type != DT_REG) continue;
        int fd = ::open(lower(e).c_str(), O_RDONLY);
        ASSERT_GE(fd, 0);
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
    if (resident(list[files.back()].second)) GTEST_SKIP() << "this file system keeps its pages (tmpfs?)";
    merge::Engine::ReadAhead job;
    engine_->plan_read_ahead(node(list[files[0]].second), &job);
    ASSERT_TRUE(engine_->plan_read_ahead(node(list[files[1]].second), &job));
    ASSERT_GT(engine_->read_ahead(job), 0u);
    bool fetched = false;
    for (int i = 0; i < 200 && !fetched; ++i) {
        fetched = resident(list[files[2]].second);
        if (!fetched) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(fetched) << list[files[2]].second.name << " was not read ahead";
    EXPECT_FALSE(resident(list[files.back()].second)) << "fetched beyond the range";
}

}  // namespace
}  // namespace ovf::test
