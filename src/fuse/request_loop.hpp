#pragma once
// The loop that reads requests from /dev/fuse and answers them (in place of libfuse's
// fuse_session_loop_mt). See request_loop.cpp and docs/data-path.md ("Request loop").
#include <cstdint>

struct fuse_session;

namespace ovf::fuse {

struct LoopOptions {
    // After answering a request, the reading thread keeps asking for the next one for this
    // long before it sleeps: a request that comes meanwhile is taken without waking a thread
    // (the kernel's wake-up of a sleeping reader on another CPU is ~4 us of the ~15 us round
    // trip on these VMs). 0 turns spinning off; so does a daemon allowed on one CPU only.
    unsigned spin_us = 50;
    // Threads answering requests at most (one reads; the others take over reading when the
    // reader is held up by a slow request). With 1, nobody does: one request at a time.
    unsigned max_threads = 10;
};

// Serves SE until it is unmounted or a signal (libfuse's handlers) ends it. The calling
// thread only waits; the request threads run with signals blocked. Returns 0, or -errno
// when the loop could not start.
int run_request_loop(::fuse_session* se, const LoopOptions& opts);

}  // namespace ovf::fuse
