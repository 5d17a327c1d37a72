#pragma once
// The command line of the commands that read a store without mounting (images, inspect):
// [--root DIR] [--format json|table] [-h] and positional arguments.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ovf::cli {

struct StoreArgs {
    std::optional<std::string> root;
    bool json = false;
    bool help = false;
    std::vector<std::string> positional;  // everything after "--" counts as positional too

    // --root, else the default data root (DockerStore::default_root()).
    std::filesystem::path root_dir() const;
};

// Throws UserError (exit code 2) naming COMMAND for an unknown option or a bad value.
StoreArgs parse_store_args(const std::string& command, const std::vector<std::string>& args);

// The usage error of COMMAND, as parse_store_args throws it, for checks of the positionals.
[[noreturn]] void store_usage_error(const std::string& command, const std::string& msg);

}  // namespace ovf::cli
