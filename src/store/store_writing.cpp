#include "store_writing.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "overlayfuse/error.hpp"
#include "overlayfuse/unique_fd.hpp"

namespace ovf::store::detail {

namespace fs = std::filesystem;

void make_dir(const fs::path& dir, mode_t mode) {
    if (::mkdir(dir.c_str(), mode) == 0) {
        if (::chmod(dir.c_str(), mode) != 0)  // umask would have trimmed it
            throw UserError(dir.string() + ": chmod: " + errno_text(errno));
        return;
    }
    if (errno == EEXIST && fs::is_directory(dir)) return;
    if (errno == ENOENT && dir.has_parent_path() && dir.parent_path() != dir) {
        make_dir(dir.parent_path(), 0755);
        return make_dir(dir, mode);
    }
    throw UserError(dir.string() + ": mkdir: " + errno_text(errno));
}

void write_file(const fs::path& path, std::string_view content, mode_t mode) {
    fs::path tmp = path;
    tmp += ".tmp-ovf";
    {
        UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
        if (!fd) throw UserError(tmp.string() + ": " + errno_text(errno));
        for (size_t off = 0; off < content.size();) {
            ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw UserError(tmp.string() + ": " + errno_text(errno));
            off += static_cast<size_t>(n);
        }
        if (::fchmod(fd.get(), mode) != 0) throw UserError(tmp.string() + ": " + errno_text(errno));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        throw UserError(path.string() + ": " + errno_text(errno));
}

std::string rfc3339_now() {
    auto now = std::chrono::system_clock::now();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(ns % 1000000000));
    return buf;
}

std::string host_architecture() {
    struct utsname u;
    if (::uname(&u) != 0) return "amd64";
    std::string m = u.machine;
    if (m == "x86_64") return "amd64";
    if (m == "aarch64") return "arm64";
    if (m == "i386" || m == "i686") return "386";
    if (m.rfind("armv", 0) == 0) return "arm";
    return m;
}

}  // namespace ovf::store::detail
