// `overlayfuse inspect IMAGE`: how a reference resolves and where each layer lives, bottom
// layer first — the walk through the store that a mount performs.
#include <cstdio>
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

const char kInspectUsage[] =
    "usage: overlayfuse inspect [--root DIR] [--format json] IMAGE\n"
    "\n"
    "Show how IMAGE resolves in a Docker overlay2 store and, for each layer (bottom first),\n"
    "its diff id, chain id, cache id, diff directory, short link name and size. Every\n"
    "layer is checked as a mount would check it.\n"
    "\n"
    "IMAGE is NAME[:TAG], NAME@sha256:DIGEST, an image id (with or without 'sha256:'), or a\n"
    "unique prefix of one.\n"
    "\n"
    "  --root DIR       data root (default as for 'overlayfuse images')\n"
    "  --format json    print JSON instead of text\n"
    "  -h, --help       show this help\n";

nlohmann::ordered_json to_json(const store::ImageInfo& image, const std::filesystem::path& root) {
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (size_t i = 0; i < image.layers.size(); ++i) {
        const auto& l = image.layers[i];
        layers.push_back({{"index", i},
                          {"diff_id", l.diff_id},
                          {"chain_id", l.chain_id},
                          {"cache_id", l.cache_id},
                          {"diff_dir", l.diff_dir.string()},
                          {"link", l.link},
                          {"size", l.size ? nlohmann::ordered_json(*l.size) : nlohmann::ordered_json(nullptr)},
                          {"tar_split", l.tar_split.string()}});
    }
    return {{"id", image.id},          {"references", image.references},
            {"created", image.created}, {"root", root.string()},
            {"layers", layers}};
}

void print_text(const store::ImageInfo& image, const std::filesystem::path& root) {
    std::string refs;
    for (const auto& r : image.references) refs += (refs.empty() ? "" : ", ") + r;
    std::printf("ID:          %s\n", image.id.c_str());
    std::printf("References:  %s\n", refs.empty() ? "<none>" : refs.c_str());
    std::printf("Created:     %s\n", image.created.empty() ? "N/A" : image.created.c_str());
    std::printf("Store:       %s\n", root.c_str());
    std::printf("Layers:      %zu (bottom first)\n", image.layers.size());
    for (size_t i = 0; i < image.layers.size(); ++i) {
        const auto& l = image.layers[i];
        std::string size = l.size ? std::to_string(*l.size) + " (" + store::human_size(*l.size) + ")"
                                  : std::string("unknown");
        std::printf("\nLayer %zu\n", i);
        std::printf("  diff_id:   %s\n", l.diff_id.c_str());
        std::printf("  chain_id:  %s\n", l.chain_id.c_str());
        std::printf("  cache_id:  %s\n", l.cache_id.c_str());
        std::printf("  diff_dir:  %s\n", l.diff_dir.c_str());
        std::printf("  link:      %s\n", l.link.empty() ? "<none>" : l.link.c_str());
        std::printf("  size:      %s\n", size.c_str());
    }
}

}  // namespace

int run_inspect(const std::vector<std::string>& args) {
    StoreArgs a = parse_store_args("inspect", args);
    if (a.help) {
        std::fputs(kInspectUsage, stdout);
        return 0;
    }
    if (a.positional.empty()) store_usage_error("inspect", "missing IMAGE");
    if (a.positional.size() > 1) store_usage_error("inspect", "unexpected argument '" + a.positional[1] + "'");

    std::filesystem::path root_dir = a.root_dir();
    store::DockerStore st(root_dir);
    auto image = st.resolve_image(a.positional[0]);
    if (a.json)
        std::cout << to_json(image, root_dir).dump(2) << "\n";
    else
        print_text(image, root_dir);
    return 0;
}

}  // namespace ovf::cli
