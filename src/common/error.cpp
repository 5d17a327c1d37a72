#include "overlayfuse/error.hpp"

#include <cstring>

namespace ovf {

std::string errno_text(int err) {
    if (err < 0) err = -err;
    return std::strerror(err);
}

}  // namespace ovf
