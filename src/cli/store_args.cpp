#include "overlayfuse/cli/store_args.hpp"

#include "overlayfuse/error.hpp"
#include "overlayfuse/store/docker_store.hpp"

namespace ovf::cli {

void store_usage_error(const std::string& command, const std::string& msg) {
    throw UserError(command + ": " + msg + " (see 'overlayfuse " + command + " --help')", 2);
}

std::filesystem::path StoreArgs::root_dir() const {
    return root ? std::filesystem::path(*root) : store::DockerStore::default_root();
}

StoreArgs parse_store_args(const std::string& command, const std::vector<std::string>& args) {
    StoreArgs out;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        // "--opt VALUE" or "--opt=VALUE"; nullopt when the value is missing.
        auto value = [&](const std::string& opt) -> std::optional<std::string> {
            if (a == opt) return i + 1 < args.size() ? std::optional(args[++i]) : std::nullopt;
            return a.substr(opt.size() + 1);
        };
        if (a == "-h" || a == "--help") {
            out.help = true;
        } else if (a == "--root" || a.rfind("--root=", 0) == 0) {
            out.root = value("--root");
            if (!out.root || out.root->empty()) store_usage_error(command, "--root needs a directory");
        } else if (a == "--format" || a.rfind("--format=", 0) == 0) {
            auto f = value("--format");
            if (!f || (*f != "json" && *f != "table")) store_usage_error(command, "--format takes 'json' or 'table'");
            out.json = *f == "json";
        } else if (a == "--") {
            out.positional.insert(out.positional.end(), args.begin() + static_cast<long>(i) + 1, args.end());
            break;
        } else if (!a.empty() && a[0] == '-') {
            store_usage_error(command, "unknown option '" + a + "'");
        } else {
            out.positional.push_back(a);
        }
    }
    return out;
}

}  // namespace ovf::cli
