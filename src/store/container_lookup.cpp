// A container's layers: its read-write layer (layerdb/mounts/<id>/mount-id) and init layer
// on top of its image (daemon/container.go GetByName, GetContainer).
#include <algorithm>
#include <system_error>

#include "id_prefix_search.hpp"
#include "layer_chain.hpp"
#include "metadata_file.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/store/docker_store.hpp"

namespace ovf::store {

namespace fs = std::filesystem;
using detail::in_quotes;

namespace {

struct ContainerConfig {
    std::string id;
    std::string name;   // without the leading "/"
    std::string image;  // "sha256:<hex>"
};

ContainerConfig read_container_config(const detail::StorePaths& paths, const std::string& id) {
    fs::path file = paths.containers_dir() / id / "config.v2.json";
    const std::string ctx = "container " + id.substr(0, 12);
    auto doc = detail::read_json(file, ctx);
    ContainerConfig cfg;
    cfg.id = id;
    if (doc.is_object() && doc.contains("Name") && doc["Name"].is_string())
        cfg.name = doc["Name"].get<std::string>();
    if (!cfg.name.empty() && cfg.name.front() == '/') cfg.name.erase(0, 1);
    if (doc.is_object() && doc.contains("Image") && doc["Image"].is_string())
        cfg.image = doc["Image"].get<std::string>();
    if (!detail::is_sha256_digest(cfg.image))
        throw UserError(ctx + ": " + file.string() + ": \"Image\" is not a sha256 image id");
    return cfg;
}

std::vector<std::string> container_ids(const detail::StorePaths& paths) {
    std::vector<std::string> ids;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(paths.containers_dir(), ec)) {
        std::string name = e.path().filename().string();
        if (detail::is_hex64(name)) ids.push_back(name);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

std::string read_plain_name(const fs::path& file, const std::string& ctx) {
    std::string v = detail::trimmed(detail::read_file(file, ctx));
    if (!detail::is_plain_name(v))
        throw UserError(ctx + ": " + file.string() + ": '" + v + "' is not a plain name");
    return v;
}

}  // namespace

std::optional<ContainerInfo> DockerStore::find_container(const std::string& name_or_id) const {
    detail::StorePaths paths{root_};
    auto ids = container_ids(paths);
    std::string wanted = name_or_id;
    if (!wanted.empty() && wanted.front() == '/') wanted.erase(0, 1);
    if (wanted.empty()) return std::nullopt;

    // Same order as the daemon: full id, then name, then unique id prefix.
    std::optional<ContainerConfig> found;
    if (std::binary_search(ids.begin(), ids.end(), wanted)) found = read_container_config(paths, wanted);
    if (!found) {
        for (const auto& id : ids) {
            auto cfg = read_container_config(paths, id);
            if (cfg.name == wanted) {
                found = std::move(cfg);
                break;
            }
        }
    }
    if (!found && detail::is_hex(wanted)) {
        std::vector<std::string> hits;
        for (const auto& id : ids)
            if (id.compare(0, wanted.size(), wanted) == 0) hits.push_back(id);
        if (hits.size() > 1) {
            std::string list;
            for (size_t i = 0; i < hits.size() && i < 5; ++i)
                list += (i ? ", " : "") + hits[i].substr(0, 12);
            throw UserError("container " + in_quotes(name_or_id) + ": ambiguous id prefix, matches " +
                            list + (hits.size() > 5 ? " and more" : ""));
        }
        if (hits.size() == 1) found = read_container_config(paths, hits.front());
    }
    if (!found) return std::nullopt;

    const std::string ctx = "container " + in_quotes(name_or_id);
    ContainerInfo info;
    info.id = found->id;
    info.name = found->name;
    info.image_id = found->image;
    info.image = resolve_image(found->image);

    fs::path mount_meta = paths.mounts_dir() / info.id;
    std::error_code ec;
    if (!fs::is_directory(mount_meta, ec))
        throw UserError(ctx + ": missing layerdb entry " + mount_meta.string());
    std::string mount_id = read_plain_name(mount_meta / "mount-id", ctx);
    std::string init_id = mount_id + "-init";
    if (detail::read_file_if_exists(mount_meta / "init-id"))
        init_id = read_plain_name(mount_meta / "init-id", ctx);
    if (auto parent = detail::read_file_if_exists(mount_meta / "parent")) {
        std::string top = info.image.layers.empty() ? "" : info.image.layers.back().chain_id;
        if (detail::trimmed(*parent) != top)
            throw UserError(ctx + ": " + (mount_meta / "parent").string() +
                            " does not name the top layer of image " + info.image_id);
    }

    info.rw_diff_dir = paths.driver_dir(mount_id) / "diff";
    if (!fs::is_directory(info.rw_diff_dir, ec))
        throw UserError(ctx + ": missing layer directory " + info.rw_diff_dir.string());
    info.init_diff_dir = paths.driver_dir(init_id) / "diff";

    // The kernel mount stacks what `lower` names: it must be init + the image's layers.
    auto rw = detail::read_driver_links(paths, mount_id, ctx);
    if (rw.has_lower_file && fs::is_directory(info.init_diff_dir, ec)) {
        auto init = detail::read_driver_links(paths, init_id, ctx);
        std::vector<std::string> want;
        want.push_back(init.link);
        for (auto it = info.image.layers.rbegin(); it != info.image.layers.rend(); ++it)
            want.push_back(it->link);
        bool known = std::none_of(want.begin(), want.end(), [](auto& l) { return l.empty(); });
        if (known && rw.lower != want)
            throw UserError(ctx + ": " + (paths.driver_dir(mount_id) / "lower").string() +
                            " does not list the init layer and the image's layers");
    }
    return info;
}

}  // namespace ovf::store
