#pragma once
// One extra thread that a request may share work with. A cold READDIRPLUS looks up a few
// hundred names, each an open and a stat of a layer inode, while the process that listed the
// directory waits and the other CPU idles: the helper takes half of them. It serves one
// caller at a time; a second caller meanwhile does its work alone.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>

namespace ovf {

class HelperThread {
public:
    HelperThread() = default;
    HelperThread(const HelperThread&) = delete;
    HelperThread& operator=(const HelperThread&) = delete;
    ~HelperThread();
    // Calls F(i) once for every i in [0, N), on this thread and on the helper at once, and
    // returns when all calls have returned.
    void parallel_for(size_t n, const std::function<void(size_t)>& f);

private:
    void loop();
    std::mutex in_use_;  // held by the caller using the helper
    std::mutex mu_;      // guards what follows
    std::condition_variable wake_, done_;
    std::thread thread_;  // started on first use
    bool stop_ = false;
    bool offered_ = false;  // a job is out
    bool claimed_ = false;  // the helper took part in it
    const std::function<void(size_t)>* job_ = nullptr;
    size_t n_ = 0;
    std::atomic<size_t> next_{0};
};

}  // namespace ovf
