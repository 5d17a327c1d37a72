#pragma once
// One background thread that runs jobs in the order they were posted, for work nobody waits
// for (read-ahead across files). post() never blocks the request that posts: when the queue
// is full the job is dropped, which is fine for hints.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace ovf {

class WorkQueue {
public:
    explicit WorkQueue(size_t limit = 64) : limit_(limit) {}
    WorkQueue(const WorkQueue&) = delete;
    WorkQueue& operator=(const WorkQueue&) = delete;
    // Drops the jobs still waiting, lets the running one finish, and joins the thread.
    ~WorkQueue();
    // Queues JOB (the thread starts on first use); false when LIMIT jobs already wait.
    bool post(std::function<void()> job);

private:
    void loop();
    const size_t limit_;
    std::mutex mu_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace ovf
