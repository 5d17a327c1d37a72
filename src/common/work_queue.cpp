#include "overlayfuse/work_queue.hpp"

namespace ovf {

WorkQueue::~WorkQueue() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
        jobs_.clear();
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool WorkQueue::post(std::function<void()> job) {
    {
        std::lock_guard lock(mu_);
        if (stop_ || jobs_.size() >= limit_) return false;
        jobs_.push_back(std::move(job));
        if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
    }
    wake_.notify_one();
    return true;
}

void WorkQueue::loop() {
    std::unique_lock lock(mu_);
    for (;;) {
        wake_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
        if (stop_) return;
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        job();
        lock.lock();
    }
}

}  // namespace ovf
