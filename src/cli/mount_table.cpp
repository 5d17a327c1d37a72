#include "overlayfuse/cli/mount_table.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "overlayfuse/error.hpp"

namespace ovf::cli {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
    auto octal = [](char c) { return c >= '0' && c <= '7'; };
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) &&
            octal(s[i + 3])) {
            out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 +
                                            (s[i + 3] - '0')));
            i += 3;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

}  // namespace

std::optional<std::string> mounted_type(const std::string& path) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    std::optional<std::string> found;
    while (std::getline(in, line)) {
        // id parent major:minor root mountpoint options [optional...] - fstype source super
        std::istringstream ls(line);
        std::string id, parent, devno, root, point;
        ls >> id >> parent >> devno >> root >> point;
        if (unescape(point) != path) continue;
        std::string field;
        while (ls >> field && field != "-") {}
        std::string fstype;
        ls >> fstype;
        found = fstype;  // the last one listed is the one on top
    }
    return found;
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
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("CapEff:", 0) != 0) continue;
        unsigned long long caps = std::strtoull(line.c_str() + 7, nullptr, 16);
        return caps & (1ull << 21);  // CAP_SYS_ADMIN
    }
    return ::geteuid() == 0;
}

}  // namespace ovf::cli
