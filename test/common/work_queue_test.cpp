#include "overlayfuse/work_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace ovf {
namespace {

TEST(WorkQueue, RunsJobsInTheOrderPosted) {
    std::vector<int> order;
    std::promise<void> last;
    {
        WorkQueue q;
        for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.post([&order, i] { order.push_back(i); }));
        ASSERT_TRUE(q.post([&last] { last.set_value(); }));
        last.get_future().wait();
    }
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(WorkQueue, DropsJobsBeyondItsLimitInsteadOfBlocking) {
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    std::promise<void> started;
    std::atomic<int> ran{0};
    WorkQueue q(2);
    ASSERT_TRUE(q.post([&] {
        started.set_value();
        gate.wait();
    }));
    started.get_future().wait();  // the first job runs and holds the thread
    EXPECT_TRUE(q.post([&] { ran.fetch_add(1); }));
    EXPECT_TRUE(q.post([&] { ran.fetch_add(1); }));
    EXPECT_FALSE(q.post([&] { ran.fetch_add(1); })) << "two jobs already wait";
    release.set_value();
    std::promise<void> done;
    while (!q.post([&done] { done.set_value(); })) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    done.get_future().wait();
    EXPECT_EQ(ran.load(), 2);
}

TEST(WorkQueue, DestructionDropsWaitingJobsAndJoins) {
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    std::promise<void> started;
    std::atomic<int> ran{0};
    std::thread releaser;
    {
        WorkQueue q;
        ASSERT_TRUE(q.post([&] {
            started.set_value();
            gate.wait();
            ran.fetch_add(1);
        }));
        started.get_future().wait();
        ASSERT_TRUE(q.post([&] { ran.fetch_add(10); }));
        releaser = std::thread([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            release.set_value();
        });
    }  // waits for the running job; the waiting one never runs
    releaser.join();
    EXPECT_EQ(ran.load(), 1);
}

}  // namespace
}  // namespace ovf
