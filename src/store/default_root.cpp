// Which data root to read when the user gives no --root: the same one the Docker daemon on
// this machine would use.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

#include "metadata_file.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/store/docker_store.hpp"

namespace ovf::store {

namespace fs = std::filesystem;

DataRootSources DataRootSources::current() {
    DataRootSources env;
    env.is_root = ::geteuid() == 0;
    if (const char* home = std::getenv("HOME"); home && *home) env.home = home;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) env.xdg_data_home = xdg;
    return env;
}

fs::path DockerStore::default_root() { return default_root(DataRootSources::current()); }

fs::path DockerStore::default_root(const DataRootSources& env) {
    std::optional<std::string> text;
    try {
        text = detail::read_file_if_exists(env.daemon_json);
    } catch (const UserError&) {
        // Unreadable for this user (0600 root): the daemon's setting is then unknowable, and
        // the user can only read a store they can reach anyway, so fall through.
    }
    if (text) {
        nlohmann::json cfg;
        try {
            cfg = nlohmann::json::parse(*text);
        } catch (const nlohmann::json::parse_error& e) {
            throw UserError(env.daemon_json.string() + ": invalid JSON (at byte " +
                            std::to_string(e.byte) + "); use --root DIR");
        }
        // "graph" is the pre-17.05 name of the same setting; 20.10 still honours it.
        for (const char* key : {"data-root", "graph"}) {
            if (!cfg.is_object() || !cfg.contains(key)) continue;
            const auto& v = cfg[key];
            if (!v.is_string() || v.get<std::string>().empty())
                throw UserError(env.daemon_json.string() + ": \"" + key +
                                "\" is not a non-empty string; use --root DIR");
            return fs::path(v.get<std::string>());
        }
    }
    if (!env.is_root) {
        // Rootless dockerd keeps its data in $XDG_DATA_HOME/docker (~/.local/share/docker).
        fs::path data_home = !env.xdg_data_home.empty() ? env.xdg_data_home
                             : !env.home.empty()       ? env.home / ".local/share"
                                                       : fs::path();
        std::error_code ec;
        if (!data_home.empty() && fs::is_directory(data_home / "docker", ec))
            return data_home / "docker";
    }
    return "/var/lib/docker";
}

}  // namespace ovf::store
