#include "overlayfuse/mountinfo.hpp"

#include <fstream>
#include <sstream>

namespace ovf {

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

std::optional<MountEntry> mount_at(const std::string& path) {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    std::optional<MountEntry> found;
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
        found = MountEntry{devno, fstype};  // the last one listed is the one on top
    }
    return found;
}

}  // namespace ovf
