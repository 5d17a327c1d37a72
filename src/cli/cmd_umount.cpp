// `overlayfuse umount MNT`: unmounts a view; the daemon then exits by itself.
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>

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
    if (::geteuid() == 0) {
        if (::umount2(mnt.c_str(), 0) != 0) {
            if (errno == EBUSY) throw UserError(args[0] + " is busy: a process still uses it");
            throw UserError("cannot unmount " + args[0] + ": " + errno_text(errno));
        }
        return 0;
    }
    if (fusermount_unmount(mnt) != 0) throw UserError("cannot unmount " + args[0]);
    return 0;
}

}  // namespace

int run_umount(const std::vector<std::string>& args) { return umount_main(args); }

}  // namespace ovf::cli
