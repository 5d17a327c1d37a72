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
#include "overlayfuse/cli/store_args.hpp"
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

}  // namespace

int run_images(const std::vector<std::string>& args) {
    StoreArgs a = parse_store_args("images", args);
    if (a.help) {
        std::fputs(kImagesUsage, stdout);
        return 0;
    }
    if (!a.positional.empty()) store_usage_error("images", "unexpected argument '" + a.positional[0] + "'");

    store::DockerStore st(a.root_dir());
    auto images = st.list_images();
    if (a.json) {
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
