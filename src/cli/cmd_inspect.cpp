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

int usage_error(const std::string& msg) {
    std::fprintf(stderr, "overlayfuse: inspect: %s (see 'overlayfuse inspect --help')\n", msg.c_str());
    return 2;
}

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
    std::optional<std::string> root;
    std::optional<std::string> image_ref;
    bool json = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](const std::string& opt) -> std::optional<std::string> {
            if (a == opt) return i + 1 < args.size() ? std::optional(args[++i]) : std::nullopt;
            return a.substr(opt.size() + 1);
        };
        if (a == "-h" || a == "--help") {
            std::fputs(kInspectUsage, stdout);
            return 0;
        } else if (a == "--root" || a.rfind("--root=", 0) == 0) {
            root = value("--root");
            if (!root || root->empty()) return usage_error("--root needs a directory");
        } else if (a == "--format" || a.rfind("--format=", 0) == 0) {
            auto f = value("--format");
            if (!f || (*f != "json" && *f != "table")) return usage_error("--format takes 'json' or 'table'");
            json = *f == "json";
        } else if (a == "--") {
            if (i + 2 != args.size() || image_ref) return usage_error("expected one IMAGE");
            image_ref = args[++i];
        } else if (!a.empty() && a[0] == '-') {
            return usage_error("unknown option '" + a + "'");
        } else if (image_ref) {
            return usage_error("unexpected argument '" + a + "'");
        } else {
            image_ref = a;
        }
    }
    if (!image_ref) return usage_error("missing IMAGE");

    std::filesystem::path root_dir =
        root ? std::filesystem::path(*root) : store::DockerStore::default_root();
    store::DockerStore st(root_dir);
    auto image = st.resolve_image(*image_ref);
    if (json)
        std::cout << to_json(image, root_dir).dump(2) << "\n";
    else
        print_text(image, root_dir);
    return 0;
}

}  // namespace ovf::cli
