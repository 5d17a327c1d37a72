#pragma once
// The subcommands of the `overlayfuse` program. Each parses its own arguments (ARGS excludes
// the program and subcommand names) and returns the process exit code (README.md, "Exit
// codes"); a failure is thrown as ovf::UserError, which main() prints as one line.
#include <string>
#include <vector>

namespace ovf::cli {

int run_images(const std::vector<std::string>& args);
int run_inspect(const std::vector<std::string>& args);
int run_mount(const std::vector<std::string>& args);
int run_umount(const std::vector<std::string>& args);

}  // namespace ovf::cli
