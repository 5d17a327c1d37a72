#include "random_names.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "overlayfuse/error.hpp"
#include "overlayfuse/unique_fd.hpp"

namespace ovf::store::detail {

namespace {

std::string random_bytes(size_t n) {
    UniqueFd fd(::open("/dev/urandom", O_RDONLY | O_CLOEXEC));
    if (!fd) throw UserError(std::string("/dev/urandom: ") + errno_text(errno));
    std::string out(n, '\0');
    for (size_t got = 0; got < n;) {
        ssize_t r = ::read(fd.get(), out.data() + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) throw UserError(std::string("/dev/urandom: ") + errno_text(r < 0 ? errno : EIO));
        got += static_cast<size_t>(r);
    }
    return out;
}

}  // namespace

std::string random_hex_id() {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : random_bytes(32)) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

std::string random_link_id() {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string out;
    for (unsigned char c : random_bytes(26)) out.push_back(alphabet[c & 31]);
    return out;
}

}  // namespace ovf::store::detail
