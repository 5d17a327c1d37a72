#include "overlayfuse/store/store_builder.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <nlohmann/json.hpp>

#include "layer_copy.hpp"
#include "layer_tar_recorder.hpp"
#include "metadata_file.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/sha256.hpp"
#include "overlayfuse/store/reference.hpp"
#include "random_names.hpp"
#include "repositories.hpp"
#include "store_paths.hpp"
#include "store_writing.hpp"

namespace ovf::store {

namespace fs = std::filesystem;
using detail::make_dir;
using detail::write_file;

StoreBuilder::StoreBuilder(fs::path root, StoreBuilderOptions options)
    : root_(std::move(root)), options_(std::move(options)) {
    detail::StorePaths p{root_};
    // Modes as Docker 20.10 leaves them.
    make_dir(root_, 0710);
    make_dir(root_ / "image", 0700);
    make_dir(p.image_dir(), 0700);
    make_dir(p.image_dir() / "imagedb", 0700);
    make_dir(p.image_dir() / "imagedb/content", 0700);
    make_dir(p.content_dir(), 0700);
    make_dir(p.image_dir() / "imagedb/metadata", 0700);
    make_dir(p.metadata_dir(), 0700);
    make_dir(p.image_dir() / "layerdb", 0700);
    make_dir(p.layerdb_dir(), 0755);
    make_dir(p.image_dir() / "layerdb/tmp", 0755);
    make_dir(p.mounts_dir(), 0755);
    make_dir(p.overlay_dir(), 0710);
    make_dir(p.overlay_dir() / "l", 0700);
    make_dir(p.containers_dir(), 0710);

    std::error_code ec;
    if (fs::exists(p.repositories_json(), ec)) repositories_ = detail::Repositories::load(p.repositories_json()).all();
    else save_repositories();

    form_ = options_.markers;
    if (form_ == MarkerForm::automatic)
        form_ = detail::can_write_kernel_markers(p.overlay_dir()) ? MarkerForm::kernel
                                                                  : MarkerForm::aufs_files;
}

void StoreBuilder::save_repositories() const {
    nlohmann::json doc;
    doc["Repositories"] = nlohmann::json::object();
    for (const auto& [name, keys] : repositories_)
        for (const auto& [key, id] : keys) doc["Repositories"][name][key] = id;
    write_file(detail::StorePaths{root_}.repositories_json(), doc.dump(), 0600);
}

void StoreBuilder::add_reference(const std::string& reference, const std::string& image_id) {
    Reference ref = parse_reference(reference);
    if (ref.image_id) throw UserError("cannot tag with an image id: " + reference);
    repositories_[ref.familiar_name][ref.familiar_string()] = image_id;
    save_repositories();
}

StoreBuilder::LayerLinks StoreBuilder::links_of(const std::string& chain_id) const {
    detail::StorePaths p{root_};
    fs::path meta = p.layer_meta(detail::strip_sha256(chain_id));
    LayerLinks links;
    links.cache_id = detail::trimmed(detail::read_file(meta / "cache-id", "layer " + chain_id));
    fs::path dir = p.driver_dir(links.cache_id);
    links.link = detail::trimmed(detail::read_file(dir / "link", "layer " + chain_id));
    if (auto lower = detail::read_file_if_exists(dir / "lower")) links.lower = detail::trimmed(*lower);
    return links;
}

BuiltLayer StoreBuilder::add_layer(const fs::path& dir, const std::string& parent_chain,
                                   const LayerLinks* parent) {
    detail::StorePaths p{root_};
    // Like the daemon's layer store, stage the layerdb entry in layerdb/tmp until the chain
    // id (which needs the whole tar) is known.
    fs::path tmp = p.image_dir() / "layerdb/tmp" / ("write-" + detail::random_hex_id().substr(0, 16));
    make_dir(tmp, 0700);
    struct TmpGuard {
        fs::path dir;
        ~TmpGuard() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } guard{tmp};

    fs::path tar_copy;
    if (!options_.keep_tars.empty()) {
        make_dir(options_.keep_tars, 0755);
        tar_copy = options_.keep_tars / ("writing-" + tmp.filename().string() + ".tar");
    }
    detail::LayerTarRecorder recorder(tmp / "tar-split.json.gz", tar_copy);
    write_layer_tar(dir, recorder);

    BuiltLayer layer;
    layer.diff_id = recorder.finish();
    layer.chain_id = chain_id(parent_chain, layer.diff_id);
    if (!tar_copy.empty())
        fs::rename(tar_copy, options_.keep_tars / (layer.diff_id.substr(7) + ".tar"));

    fs::path meta = p.layer_meta(detail::strip_sha256(layer.chain_id));
    std::error_code ec;
    if (fs::exists(meta, ec)) {
        // The same stack of layers is already registered: share it, as Docker does.
        LayerLinks existing = links_of(layer.chain_id);
        layer.cache_id = existing.cache_id;
        layer.link = existing.link;
        auto size = detail::read_file_if_exists(meta / "size");
        layer.size = size ? std::stoll(*size) : 0;
        layer.reused = true;
        return layer;
    }

    layer.cache_id = detail::random_hex_id();
    layer.link = detail::random_link_id();
    fs::path driver = p.driver_dir(layer.cache_id);
    make_dir(driver, 0710);
    make_dir(driver / "diff", 0755);
    write_file(driver / "link", layer.link, 0644);
    if (parent) {
        std::string lower = "l/" + parent->link + (parent->lower.empty() ? "" : ":" + parent->lower);
        write_file(driver / "lower", lower, 0644);
        make_dir(driver / "work", 0700);
        write_file(p.driver_dir(parent->cache_id) / "committed", "", 0600);
    }
    fs::create_directory_symlink(fs::path("..") / layer.cache_id / "diff", p.link_symlink(layer.link));
    detail::copy_layer_dir(dir, driver / "diff", form_, notes_);
    layer.size = detail::layer_size(driver / "diff");

    write_file(tmp / "cache-id", layer.cache_id, 0644);
    write_file(tmp / "diff", layer.diff_id, 0644);
    if (!parent_chain.empty()) write_file(tmp / "parent", parent_chain, 0644);
    write_file(tmp / "size", std::to_string(layer.size), 0644);
    fs::rename(tmp, meta);
    return layer;
}

BuiltImage StoreBuilder::add_image(const ImageSpec& spec) {
    BuiltImage image;
    std::string parent_chain;
    std::optional<LayerLinks> parent;
    for (const auto& dir : spec.layers) {
        BuiltLayer layer = add_layer(dir, parent_chain, parent ? &*parent : nullptr);
        parent_chain = layer.chain_id;
        parent = links_of(layer.chain_id);
        image.layers.push_back(std::move(layer));
    }

    std::string created = spec.created.empty() ? detail::rfc3339_now() : spec.created;
    nlohmann::ordered_json cfg;
    cfg["architecture"] = detail::host_architecture();
    cfg["config"] = {{"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
                     {"Cmd", {"/bin/sh"}}};
    cfg["created"] = created;
    cfg["history"] = nlohmann::ordered_json::array();
    nlohmann::ordered_json diff_ids = nlohmann::ordered_json::array();
    for (size_t i = 0; i < image.layers.size(); ++i) {
        std::string by = i < spec.created_by.size() && !spec.created_by[i].empty()
                             ? spec.created_by[i]
                             : "overlayfuse store builder: layer " + std::to_string(i);
        cfg["history"].push_back({{"created", created}, {"created_by", by}});
        diff_ids.push_back(image.layers[i].diff_id);
    }
    cfg["os"] = "linux";
    cfg["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
    std::string bytes = cfg.dump();
    image.id = "sha256:" + sha256_hex(bytes);

    detail::StorePaths p{root_};
    write_file(p.config_file(image.id.substr(7)), bytes, 0600);
    if (!spec.parent_id.empty()) {
        fs::path meta = p.metadata_dir() / image.id.substr(7);
        make_dir(meta, 0700);
        write_file(meta / "parent", spec.parent_id, 0600);
    }
    for (const auto& ref : spec.references) add_reference(ref, image.id);
    return image;
}

}  // namespace ovf::store
