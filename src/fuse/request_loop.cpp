// One thread reads /dev/fuse and answers what it reads; after each answer it keeps asking
// for the next request (non-blocking) for a few tens of microseconds before it sleeps in
// poll(). A sequential caller (find, tar, a build step) sends its next request within that
// window, and the reader takes it without the kernel waking a thread on another CPU.
//
// libfuse's multi-threaded loop keeps every idle worker asleep in read(): each request then
// pays a cross-CPU wake-up. Here the other threads sleep on a condition variable and
// never see the device, so they cost nothing per request. One of them, the watcher, checks
// every kTakeOverNs whether the reader is stuck in one request (a copy-up of a big file, a
// layer on a slow disk); if so it takes over reading, and the old reader retires when its
// request is done. Nobody watches while the reader sleeps in poll(): the reader wakes the
// watcher when requests come again.
#include "request_loop.hpp"

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "overlayfuse/unique_fd.hpp"

namespace ovf::fuse {

namespace {

int64_t now_ns() {
    struct timespec t;
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1'000'000'000LL + t.tv_nsec;
}

// How long one request may hold the reader before the watcher takes over reading: far
// above a warm request (10-50 us), far below what a user notices.
constexpr int64_t kTakeOverNs = 2'000'000;

bool single_cpu() {
    cpu_set_t set;
    return ::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) < 2;
}

class Loop {
public:
    Loop(::fuse_session* se, const LoopOptions& o)
        : se_(se), fd_(fuse_session_fd(se)),
          // With one CPU the spinning reader would only keep the caller from running.
          spin_ns_(single_cpu() ? 0 : static_cast<int64_t>(o.spin_us) * 1000),
          max_threads_(o.max_threads < 1 ? 1 : o.max_threads) {}

    int run();

private:
    void thread_main();
    void lead(std::unique_lock<std::mutex>& lk, ::fuse_buf& buf);
    bool read_and_answer(uint64_t epoch, ::fuse_buf& buf);
    bool watch(std::unique_lock<std::mutex>& lk);
    void start_thread();  // under mu_

    ::fuse_session* const se_;
    const int fd_;
    const int64_t spin_ns_;
    const unsigned max_threads_;
    UniqueFd stop_;   // eventfd written by run(): the reader leaves poll()
    UniqueFd ended_;  // eventfd written by the reader that saw the unmount: run() returns

    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool have_reader_ = false;
    bool have_watcher_ = false;
    bool watcher_waits_for_traffic_ = false;
    unsigned waiting_ = 0;  // threads with no role, asleep on cv_
    std::vector<std::thread> threads_;

    std::atomic<uint64_t> epoch_{0};      // bumped by each new reader; the old one retires
    std::atomic<int64_t> busy_since_{0};  // when the reader's current request came; 0: none
    std::atomic<bool> reader_asleep_{false};
};

int Loop::run() {
    int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) != 0) return -errno;
    stop_.reset(::eventfd(0, EFD_CLOEXEC));
    ended_.reset(::eventfd(0, EFD_CLOEXEC));
    if (!stop_ || !ended_) return -errno;

    // Request threads inherit a full signal mask: SIGTERM and the like reach this thread
    // only, in ppoll() below, where libfuse's handlers mark the session exited.
    sigset_t all, old;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, &old);
    {
        std::lock_guard lk(mu_);
        start_thread();  // the reader
        start_thread();  // the watcher
    }
    while (!fuse_session_exited(se_)) {
        struct pollfd p{ended_.get(), POLLIN, 0};
        if (::ppoll(&p, 1, nullptr, &old) > 0) break;
    }
    std::vector<std::thread> threads;
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
        threads.swap(threads_);
    }
    cv_.notify_all();
    ::eventfd_write(stop_.get(), 1);
    for (auto& t : threads) t.join();
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::fcntl(fd_, F_SETFL, flags);
    return 0;
}

void Loop::start_thread() {
    if (stopping_ || threads_.size() >= max_threads_) return;
    threads_.emplace_back([this] { thread_main(); });
}

void Loop::thread_main() {
    ::fuse_buf buf{};
    std::unique_lock lk(mu_);
    while (!stopping_) {
        if (!have_reader_) {
            have_reader_ = true;
            lead(lk, buf);
        } else if (!have_watcher_) {
            have_watcher_ = true;
            bool take_over = watch(lk);
            have_watcher_ = false;
            if (take_over) {
                // Someone must watch the new reader: a sleeping thread, else a new one.
                if (waiting_ == 0) start_thread();
                cv_.notify_one();
                lead(lk, buf);
            }
        } else {
            ++waiting_;
            cv_.wait(lk);
            --waiting_;
        }
    }
    lk.unlock();
    std::free(buf.mem);
}

// Called with mu_ held and have_reader_ set by this thread; returns with mu_ held.
void Loop::lead(std::unique_lock<std::mutex>& lk, ::fuse_buf& buf) {
    uint64_t epoch = ++epoch_;
    busy_since_.store(0);
    lk.unlock();
    bool ended = read_and_answer(epoch, buf);
    lk.lock();
    if (ended) {
        stopping_ = true;
        ::eventfd_write(ended_.get(), 1);
    }
    // A reader that was taken over leaves the role to its successor.
    if (epoch_.load() == epoch) have_reader_ = false;
    cv_.notify_all();
}

// Reads and answers until another thread takes over (false), or the view is gone or the
// loop stops (true when this thread saw the view go).
bool Loop::read_and_answer(uint64_t epoch, ::fuse_buf& buf) {
    // Spin only while it pays: when the request before came within the window after the
    // answer before it. A caller that thinks between requests (or many callers at random)
    // then costs no CPU time, and a burst pays one or two wake-ups before spinning starts.
    int64_t answered = 0, spin_until = 0;
    while (epoch_.load(std::memory_order_relaxed) == epoch) {
        int res = fuse_session_receive_buf(se_, &buf);
        if (res == -EAGAIN) {
            if (now_ns() < spin_until) {
                ::sched_yield();  // the caller may be waiting for this CPU
                continue;
            }
            reader_asleep_.store(true);
            struct pollfd p[2] = {{fd_, POLLIN, 0}, {stop_.get(), POLLIN, 0}};
            int n = ::poll(p, 2, -1);
            reader_asleep_.store(false);
            if (n > 0 && p[1].revents) return false;
            {
                std::lock_guard lk(mu_);
                if (watcher_waits_for_traffic_) {
                    watcher_waits_for_traffic_ = false;
                    cv_.notify_all();
                }
            }
            continue;
        }
        if (res == -EINTR) continue;
        if (res <= 0 || fuse_session_exited(se_)) return true;
        int64_t came = now_ns();
        bool soon = came - answered < spin_ns_;
        busy_since_.store(came, std::memory_order_relaxed);
        fuse_session_process_buf(se_, &buf);
        if (epoch_.load(std::memory_order_relaxed) == epoch) busy_since_.store(0, std::memory_order_relaxed);
        answered = now_ns();
        spin_until = soon ? answered + spin_ns_ : 0;
    }
    return false;
}

// Called with mu_ held; true when the reader is stuck and this thread should take over.
bool Loop::watch(std::unique_lock<std::mutex>& lk) {
    while (!stopping_ && have_reader_) {
        if (reader_asleep_.load()) {
            watcher_waits_for_traffic_ = true;
            cv_.wait(lk, [&] { return stopping_ || !watcher_waits_for_traffic_ || !have_reader_; });
            watcher_waits_for_traffic_ = false;
            continue;
        }
        cv_.wait_for(lk, std::chrono::nanoseconds(kTakeOverNs));
        int64_t since = busy_since_.load();
        if (since != 0 && now_ns() - since >= kTakeOverNs && !stopping_) return true;
    }
    return false;
}

}  // namespace

int run_request_loop(::fuse_session* se, const LoopOptions& opts) { return Loop(se, opts).run(); }

}  // namespace ovf::fuse
