// `overlayfuse umount MNT`: unmounts a view and returns once its daemon has exited, as the
// kernel overlay's umount returns with the upper quiet: the daemon still holds the work
// directory's lock and tidies WORK/work when the kernel lets the mount go, so a mount over
// the same work directory started at once would otherwise find it in use.
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "overlayfuse/cli/commands.hpp"
#include "overlayfuse/cli/mount_table.hpp"
#include "overlayfuse/error.hpp"

namespace ovf::cli {

namespace {

int fusermount_unmount(const std::string& mnt) {
    pid_t pid = ::fork();
    if (pid < 0) throw UserError("cannot fork: " + errno_text(errno));
    if (pid == 0) {
        ::execlp("fusermount3", "fusermount3", "-u", "-q", "--", mnt.c_str(), nullptr);
        std::fprintf(stderr, "overlayfuse: cannot run fusermount3: %s\n", errno_text(errno).c_str());
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

// The process serving FUSE connection CONN (a FUSE mount's st_dev): the one holding
// /dev/fuse open on it, found by the fuse_connection line the kernel shows in the fd's
// fdinfo (recent kernels: 6.18 has it). Only processes called overlayfuse are looked at; 0 if none
// (an older kernel, or another user's daemon).
pid_t daemon_of(dev_t conn) {
    DIR* proc = ::opendir("/proc");
    if (!proc) return 0;
    pid_t found = 0;
    const std::string want = "fuse_connection:\t" + std::to_string(conn);
    while (dirent* e = ::readdir(proc)) {
        if (found || e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        std::string dir = std::string("/proc/") + e->d_name;
        std::string comm;
        std::getline(std::ifstream(dir + "/comm"), comm);
        if (comm != "overlayfuse") continue;
        DIR* fds = ::opendir((dir + "/fd").c_str());
        if (!fds) continue;
        while (dirent* f = ::readdir(fds)) {
            char target[32];
            std::string link = dir + "/fd/" + f->d_name;
            ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
            if (n != 9 || std::memcmp(target, "/dev/fuse", 9) != 0) continue;
            std::ifstream info(dir + "/fdinfo/" + f->d_name);
            for (std::string line; std::getline(info, line);)
                if (line == want) found = static_cast<pid_t>(std::atol(e->d_name));
            if (found) break;
        }
        ::closedir(fds);
    }
    ::closedir(proc);
    return found;
}

// Waits until PID has exited (gone, or a zombie: its descriptors, the work directory's lock
// among them, are closed), at most 30 s: a daemon that takes longer is left to finish.
void wait_for_exit(pid_t pid) {
    std::string stat_path = "/proc/" + std::to_string(pid) + "/stat";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        std::string line;
        if (!std::getline(std::ifstream(stat_path), line)) return;
        size_t paren = line.rfind(')');
        if (paren == std::string::npos || paren + 2 >= line.size()) return;
        char state = line[paren + 2];
        if (state == 'Z' || state == 'X') return;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

int umount_main(const std::vector<std::string>& args) {
    if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
        std::puts("usage: overlayfuse umount MNT\n\nUnmounts a view made by 'overlayfuse mount'.");
        return 0;
    }
    if (args.size() != 1) throw UserError("usage: overlayfuse umount MNT", 2);
    char buf[PATH_MAX];
    // A dead FUSE mount fails to resolve (ENOTCONN): use the path as given then.
    std::string mnt = ::realpath(args[0].c_str(), buf) ? std::string(buf) : args[0];
    auto type = mounted_type(mnt);
    if (!type) throw UserError(args[0] + " is not mounted");
    if (*type != "fuse.overlayfuse" && *type != "fuse")
        throw UserError(args[0] + " is not an overlayfuse mount (" + *type + ")");
    struct stat st;
    pid_t daemon = ::stat(mnt.c_str(), &st) == 0 ? daemon_of(st.st_dev) : 0;
    if (::geteuid() == 0) {
        if (::umount2(mnt.c_str(), 0) != 0) {
            if (errno == EBUSY) throw UserError(args[0] + " is busy: a process still uses it");
            throw UserError("cannot unmount " + args[0] + ": " + errno_text(errno));
        }
    } else if (fusermount_unmount(mnt) != 0) {
        throw UserError("cannot unmount " + args[0]);
    }
    if (daemon > 0) wait_for_exit(daemon);
    return 0;
}

}  // namespace

int run_umount(const std::vector<std::string>& args) { return umount_main(args); }

}  // namespace ovf::cli
