#include "overlayfuse/cli/mount_table.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "overlayfuse/error.hpp"
#include "overlayfuse/mountinfo.hpp"
#include "overlayfuse/sys.hpp"

namespace ovf::cli {

std::optional<std::string> mounted_type(const std::string& path) {
    auto m = mount_at(path);
    if (!m) return std::nullopt;
    return m->fstype;
}

std::string check_mount_point(const std::string& mnt) {
    struct stat st;
    if (::stat(mnt.c_str(), &st) != 0) {
        if (errno == ENOTCONN) throw UserError("mount point " + mnt + " is a dead FUSE mount; run 'overlayfuse umount " + mnt + "'");
        throw UserError("mount point " + mnt + ": " + errno_text(errno));
    }
    if (!S_ISDIR(st.st_mode)) throw UserError("mount point " + mnt + " is not a directory");
    char buf[PATH_MAX];
    if (!::realpath(mnt.c_str(), buf)) throw UserError("mount point " + mnt + ": " + errno_text(errno));
    std::string canon = buf;
    if (auto type = mounted_type(canon))
        throw UserError("mount point " + mnt + " is busy: already mounted (" + *type + ")");
    if (::geteuid() != 0 && ::access(canon.c_str(), W_OK) != 0)
        throw UserError("no permission to mount on " + mnt + ": " + errno_text(errno));
    return canon;
}

bool has_cap_sys_admin() {
    auto caps = sys::effective_caps(::getpid());
    return caps ? (*caps & (1ull << 21)) != 0 : ::geteuid() == 0;  // CAP_SYS_ADMIN
}

}  // namespace ovf::cli
