// `overlayfuse images`: the images of a Docker store, like `docker images`, read from files.
#include <cstdio>
#include <ctime>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "overlayfuse/cli/commands.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/store/display.hpp"
#include "overlayfuse/store/docker_store.hpp"

namespace ovf::cli {

namespace {

const char kImagesUsage[] =
    "usage: overlayfuse images [--root DIR] [--format json]\n"
    "\n"
    "List the images of a Docker overlay2 store (read from its files; no daemon needed).\n"
    "\n"
    "  --root DIR       data root (default: data-root in /etc/docker/daemon.json, else\n"
    "                   ~/.local/share/docker for a non-root user who has it, else\n"
    "                   /var/lib/docker)\n"
    "  --format json    print a JSON list instead of a table\n"
    "  -h, --help       show this help\n";

int usage_error(const std::string& msg) {
    std::fprintf(stderr, "overlayfuse: images: %s (see 'overlayfuse images --help')\n", msg.c_str());
    return 2;
}

}  // namespace

int run_images(const std::vector<std::string>& args) {
    std::optional<std::string> root;
    bool json = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](const std::string& opt) -> std::optional<std::string> {
            if (a == opt) return i + 1 < args.size() ? std::optional(args[++i]) : std::nullopt;
            return a.substr(opt.size() + 1);  // --opt=value
        };
        if (a == "-h" || a == "--help") {
            std::fputs(kImagesUsage, stdout);
            return 0;
        } else if (a == "--root" || a.rfind("--root=", 0) == 0) {
            root = value("--root");
            if (!root || root->empty()) return usage_error("--root needs a directory");
        } else if (a == "--format" || a.rfind("--format=", 0) == 0) {
            auto f = value("--format");
            if (!f || (*f != "json" && *f != "table")) return usage_error("--format takes 'json' or 'table'");
            json = *f == "json";
        } else if (!a.empty() && a[0] == '-') {
            return usage_error("unknown option '" + a + "'");
        } else {
            return usage_error("unexpected argument '" + a + "'");
        }
    }

    store::DockerStore st(root ? std::filesystem::path(*root) : store::DockerStore::default_root());
    auto images = st.list_images();
    if (json) {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& im : images)
            out.push_back({{"repository", im.repository}, {"tag", im.tag}, {"id", im.id},
                           {"created", im.created}, {"layers", im.layers}, {"size", im.size}});
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows{
        {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "LAYERS", "SIZE"}};
    std::time_t now = std::time(nullptr);
    for (const auto& im : images)
        rows.push_back({im.repository, im.tag, store::short_id(im.id),
                        store::created_since(im.created, now), std::to_string(im.layers),
                        store::human_size(im.size)});
    std::cout << store::format_table(rows);
    return 0;
}

}  // namespace ovf::cli
