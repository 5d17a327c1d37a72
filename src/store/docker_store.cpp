#include "overlayfuse/store/docker_store.hpp"

#include <unistd.h>

#include <system_error>

#include "id_prefix_search.hpp"
#include "image_config.hpp"
#include "layer_chain.hpp"
#include "metadata_file.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/store/reference.hpp"
#include "overlayfuse/store/tar_split.hpp"
#include "repositories.hpp"

namespace ovf::store {

namespace fs = std::filesystem;
using detail::in_quotes;

namespace {

constexpr size_t kCandidatesShown = 5;

std::string describe_candidates(const std::vector<std::string>& ids, size_t prefix_len,
                                const detail::Repositories& repos) {
    // 12 digits like `docker images`, unless the user already typed that many.
    size_t digits = prefix_len < 12 ? 12 : 64;
    std::string out;
    for (size_t i = 0; i < ids.size() && i < kCandidatesShown; ++i) {
        out += (i ? ", " : "") + ids[i].substr(7, digits);
        auto refs = repos.references_of(ids[i]);
        if (!refs.empty()) out += " (" + refs.front() + ")";
    }
    if (ids.size() > kCandidatesShown)
        out += " and " + std::to_string(ids.size() - kCandidatesShown) + " more";
    return out;
}

}  // namespace

DockerStore::DockerStore(fs::path root) : root_(std::move(root)) {
    std::error_code ec;
    if (!fs::is_directory(root_, ec))
        throw UserError("data root " + root_.string() + ": no such directory (use --root DIR)");
    detail::StorePaths paths{root_};
    fs::path image_dir = paths.image_dir();
    if (!fs::exists(image_dir, ec)) {
        // A root of another storage driver has image/<driver> instead: name it.
        fs::directory_iterator drivers(root_ / "image", ec);
        if (!ec && drivers != fs::directory_iterator())
            throw UserError(root_.string() + ": the store uses the '" +
                            drivers->path().filename().string() +
                            "' storage driver; only overlay2 is supported");
        if (::access(root_.c_str(), X_OK) != 0)
            throw UserError(root_.string() + ": " + errno_text(errno) +
                            " (run as root, or use --root on a readable copy)");
        throw UserError(root_.string() + ": not a Docker overlay2 store (no image/overlay2)");
    }
    if (::access(image_dir.c_str(), R_OK | X_OK) != 0)
        throw UserError(image_dir.string() + ": " + errno_text(errno) +
                        " (run as root, or use --root on a readable copy)");
}

ImageInfo DockerStore::resolve_image(const std::string& text) const {
    detail::StorePaths paths{root_};
    const std::string ctx = "image " + in_quotes(text);
    Reference ref = parse_reference(text);
    auto repos = detail::Repositories::load(paths.repositories_json());

    std::string id;
    if (ref.image_id) {
        id = *ref.image_id;
        if (!detail::config_exists(paths, id))
            throw NoSuchImage("no such image " + in_quotes(text) + " in " + root_.string());
    } else if (auto hit = repos.lookup(ref)) {
        id = *hit;
        if (!detail::config_exists(paths, id))
            throw UserError(ctx + ": " + paths.repositories_json().string() + " maps it to " + id +
                            ", whose config " +
                            paths.config_file(detail::strip_sha256(id)).string() + " is missing");
    } else {
        auto hits = detail::ids_with_prefix(paths, text);
        if (hits.empty()) throw NoSuchImage("no such image " + in_quotes(text) + " in " + root_.string());
        if (hits.size() > 1)
            throw UserError(ctx + ": ambiguous id prefix, matches " +
                            describe_candidates(hits, detail::strip_sha256(text).size(), repos));
        id = hits.front();
    }

    auto config = detail::load_image_config(paths, id, ctx);
    ImageInfo info;
    info.id = config.id;
    info.created = config.created;
    info.references = repos.references_of(info.id);
    info.layers = detail::load_layer_chain(paths, config.diff_ids, ctx);
    return info;
}

std::optional<LayerMarkers> DockerStore::read_markers(const LayerInfo& layer) {
    std::error_code ec;
    if (layer.tar_split.empty() || !fs::exists(layer.tar_split, ec)) return std::nullopt;
    return markers_from_tar_split(layer.tar_split);
}

}  // namespace ovf::store
