// overlayfuse: mount a container image (or plain layer directories) as one merged tree.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "overlayfuse/cli/commands.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/fuse/session.hpp"

namespace {

const char kUsage[] =
    "usage: overlayfuse COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  images  [--root DIR] [--format json]            list the images of a Docker store\n"
    "  inspect [--root DIR] [--format json] IMAGE      show an image's layers, bottom first\n"
    "  mount   [--root DIR] [-o OPTS] [-f] IMAGE MNT   mount an image read-only\n"
    "  mount   [-o OPTS] [-f] --lower TOP:...:BOTTOM MNT\n"
    "                                                  mount plain layer directories\n"
    "  umount  MNT                                     unmount a view\n"
    "\n"
    "Run 'overlayfuse COMMAND --help' for a command's options.\n";

int dispatch(const std::string& cmd, const std::vector<std::string>& args) {
    if (cmd == "images") return ovf::cli::run_images(args);
    if (cmd == "inspect") return ovf::cli::run_inspect(args);
    if (cmd == "mount") return ovf::cli::run_mount(args);
    if (cmd == "umount" || cmd == "unmount") return ovf::cli::run_umount(args);
    std::fprintf(stderr, "overlayfuse: unknown command '%s'\n%s", cmd.c_str(), kUsage);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    std::string cmd = argv[1];
    std::vector<std::string> args(argv + 2, argv + argc);
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (cmd == "--version") {
        std::printf("overlayfuse %s (%s)\n", OVERLAYFUSE_VERSION, ovf::fuse::library_summary().c_str());
        return 0;
    }
    // Every command reports failure by throwing: one line on stderr, and the exit code.
    try {
        return dispatch(cmd, args);
    } catch (const ovf::UserError& e) {
        std::fprintf(stderr, "overlayfuse: %s\n", e.what());
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "overlayfuse: %s: %s\n", cmd.c_str(), e.what());
        return 1;
    }
}
