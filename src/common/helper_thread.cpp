#include "overlayfuse/helper_thread.hpp"

namespace ovf {

HelperThread::~HelperThread() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void HelperThread::parallel_for(size_t n, const std::function<void(size_t)>& f) {
    std::unique_lock owner(in_use_, std::try_to_lock);
    if (!owner || n < 2) {  // another caller has it: do it all here
        for (size_t i = 0; i < n; ++i) f(i);
        return;
    }
    {
        std::lock_guard lock(mu_);
        if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
        job_ = &f;
        n_ = n;
        next_.store(0);
        offered_ = true;
        claimed_ = false;
    }
    wake_.notify_one();
    for (size_t i; (i = next_.fetch_add(1)) < n;) f(i);
    std::unique_lock lock(mu_);
    // Not picked up yet: take the offer back rather than wait for the helper to wake.
    if (!claimed_) {
        offered_ = false;
        return;
    }
    done_.wait(lock, [&] { return !offered_; });
}

void HelperThread::loop() {
    std::unique_lock lock(mu_);
    for (;;) {
        wake_.wait(lock, [&] { return stop_ || (offered_ && !claimed_); });
        if (stop_) return;
        claimed_ = true;
        const auto* job = job_;
        size_t n = n_;
        lock.unlock();
        for (size_t i; (i = next_.fetch_add(1)) < n;) (*job)(i);
        lock.lock();
        offered_ = false;
        done_.notify_one();
    }
}

}  // namespace ovf
