#include <cerrno>
#include <vector>

#include "ops.hpp"

namespace ovf::fuse::ops {

namespace {

// SIZE 0 asks for the length only; otherwise the value must fit in SIZE bytes.
template <typename Fetch>
void reply_sized(fuse_req_t req, size_t size, Fetch fetch) {
    if (size == 0) {
        ssize_t n = fetch(nullptr, 0);
        if (n < 0)
            fuse_reply_err(req, static_cast<int>(-n));
        else
            fuse_reply_xattr(req, static_cast<size_t>(n));
        return;
    }
    std::vector<char> buf(size);
    ssize_t n = fetch(buf.data(), buf.size());
    if (n < 0)
        fuse_reply_err(req, static_cast<int>(-n));
    else
        fuse_reply_buf(req, buf.data(), static_cast<size_t>(n));
}

}  // namespace

void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
    merge::Node& n = node(req, ino);
    reply_sized(req, size, [&](char* buf, size_t len) { return engine(req).getxattr(n, name, buf, len); });
}

void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    merge::Node& n = node(req, ino);
    reply_sized(req, size, [&](char* buf, size_t len) { return engine(req).listxattr(n, buf, len); });
}

}  // namespace ovf::fuse::ops
