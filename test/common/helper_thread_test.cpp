#include "overlayfuse/helper_thread.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace ovf {
namespace {

TEST(HelperThread, CallsEveryIndexExactlyOnce) {
    HelperThread h;
    for (size_t n : {0u, 1u, 2u, 17u, 1000u}) {
        std::vector<std::atomic<int>> calls(n);
        h.parallel_for(n, [&](size_t i) { calls[i].fetch_add(1); });
        for (size_t i = 0; i < n; ++i) EXPECT_EQ(calls[i].load(), 1) << "n=" << n << " i=" << i;
    }
}

TEST(HelperThread, ReturnsOnlyWhenEveryCallHasReturned) {
    HelperThread h;
    std::atomic<int> running{0}, done{0};
    h.parallel_for(64, [&](size_t) {
        running.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        done.fetch_add(1);
    });
    EXPECT_EQ(done.load(), 64);
    EXPECT_EQ(running.load(), 64);
}

TEST(HelperThread, UsesASecondThread) {
    HelperThread h;
    const auto caller = std::this_thread::get_id();
    std::atomic<bool> helped{false};
    // The caller's call waits (10 s at most) until another thread has made the other one.
    h.parallel_for(2, [&](size_t) {
        if (std::this_thread::get_id() != caller) {
            helped = true;
            return;
        }
        for (int i = 0; i < 10000 && !helped; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    EXPECT_TRUE(helped.load());
}

TEST(HelperThread, ConcurrentCallersEachGetAllTheirCalls) {
    HelperThread h;
    constexpr int kCallers = 4, kRounds = 200;
    std::atomic<long> total{0};
    std::vector<std::thread> callers;
    for (int c = 0; c < kCallers; ++c)
        callers.emplace_back([&] {
            for (int r = 0; r < kRounds; ++r) {
                std::vector<std::atomic<int>> calls(32);
                h.parallel_for(calls.size(), [&](size_t i) { calls[i].fetch_add(1); });
                for (auto& x : calls) total += x.load() == 1 ? 1 : 1000000;
            }
        });
    for (auto& t : callers) t.join();
    EXPECT_EQ(total.load(), long{kCallers} * kRounds * 32);
}

}  // namespace
}  // namespace ovf
