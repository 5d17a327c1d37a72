#include "layer_chain.hpp"

#include <unistd.h>

#include <charconv>
#include <system_error>

#include "metadata_file.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/store/reference.hpp"

namespace ovf::store::detail {

namespace fs = std::filesystem;

namespace {

std::string join_links(const std::vector<std::string>& links) {
    std::string out;
    for (const auto& l : links) out += (out.empty() ? "l/" : ":l/") + l;
    return out;
}

std::optional<int64_t> parse_size(const std::string& text) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < 0) return std::nullopt;
    return v;
}

// The l/<link> symlink must point back at this layer; if it named another layer, the kernel
// mount Docker makes from `lower` would stack different content than layerdb describes.
void check_link_symlink(const StorePaths& paths, const std::string& link,
                        const std::string& cache_id, const std::string& context) {
    fs::path sym = paths.link_symlink(link);
    std::error_code ec;
    fs::path target = fs::read_symlink(sym, ec);
    if (ec) return;  // absent or not a symlink: we never follow it, so it cannot mislead us
    if (target != fs::path("..") / cache_id / "diff")
        throw UserError(context + ": " + sym.string() + " points to " + target.string() +
                        ", expected ../" + cache_id + "/diff");
}

}  // namespace

DriverLinks read_driver_links(const StorePaths& paths, const std::string& cache_id,
                              const std::string& context) {
    DriverLinks out;
    fs::path dir = paths.driver_dir(cache_id);
    if (auto link = read_file_if_exists(dir / "link")) {
        out.link = trimmed(*link);
        if (!is_plain_name(out.link))
            throw UserError(context + ": " + (dir / "link").string() + ": '" + out.link +
                            "' is not a plain name");
        check_link_symlink(paths, out.link, cache_id, context);
    }
    if (auto lower = read_file_if_exists(dir / "lower")) {
        auto links = parse_lower(trimmed(*lower));
        if (!links)
            throw UserError(context + ": " + (dir / "lower").string() +
                            ": not a list of l/NAME entries joined by ':'");
        out.lower = std::move(*links);
        out.has_lower_file = true;
    }
    return out;
}

std::vector<LayerInfo> load_layer_chain(const StorePaths& paths,
                                        const std::vector<std::string>& diff_ids,
                                        const std::string& context) {
    std::vector<LayerInfo> layers;
    std::vector<std::string> below;  // links of the layers so far, nearest first
    bool links_complete = true;      // every layer so far had a link file
    for (size_t i = 0; i < diff_ids.size(); ++i) {
        LayerInfo layer;
        layer.diff_id = diff_ids[i];
        layer.chain_id = chain_id(i == 0 ? std::string() : layers.back().chain_id, layer.diff_id);
        const std::string where = context + ": layer " + std::to_string(i) + " (" +
                                  layer.diff_id.substr(7, 12) + ")";
        fs::path meta = paths.layer_meta(strip_sha256(layer.chain_id));
        std::error_code ec;
        if (!fs::is_directory(meta, ec))
            throw UserError(where + ": missing layerdb entry " + meta.string());

        layer.cache_id = trimmed(read_file(meta / "cache-id", where));
        if (!is_plain_name(layer.cache_id))
            throw UserError(where + ": " + (meta / "cache-id").string() + ": '" + layer.cache_id +
                            "' is not a plain name");
        std::string diff = trimmed(read_file(meta / "diff", where));
        if (diff != layer.diff_id)
            throw UserError(where + ": " + (meta / "diff").string() + " holds " + diff +
                            ", but the image config says " + layer.diff_id);
        auto parent = read_file_if_exists(meta / "parent");
        std::string want_parent = i == 0 ? std::string() : layers.back().chain_id;
        if (parent.has_value() != (i > 0) || (parent && trimmed(*parent) != want_parent))
            throw UserError(where + ": " + (meta / "parent").string() +
                            (i == 0 ? " exists for a base layer"
                                    : " does not name the layer below (" + want_parent + ")"));
        if (auto size = read_file_if_exists(meta / "size")) {
            layer.size = parse_size(trimmed(*size));
            if (!layer.size)
                throw UserError(where + ": " + (meta / "size").string() + ": not a byte count");
        }
        layer.tar_split = meta / "tar-split.json.gz";

        layer.diff_dir = paths.driver_dir(layer.cache_id) / "diff";
        if (!fs::is_directory(layer.diff_dir, ec))
            throw UserError(where + ": missing layer directory " + layer.diff_dir.string());

        DriverLinks links = read_driver_links(paths, layer.cache_id, where);
        layer.link = links.link;
        // Docker mounts what `lower` names, so it must be the layerdb chain below this one.
        fs::path lower_file = paths.driver_dir(layer.cache_id) / "lower";
        if (links.has_lower_file && i == 0)
            throw UserError(where + ": " + lower_file.string() + " exists for a base layer");
        if (links.has_lower_file && links_complete && links.lower != below)
            throw UserError(where + ": " + lower_file.string() + " is '" +
                            join_links(links.lower) + "', but layerdb says '" +
                            join_links(below) + "'");
        if (layer.link.empty()) links_complete = false;
        below.insert(below.begin(), layer.link);
        layers.push_back(std::move(layer));
    }
    return layers;
}

int64_t chain_size(const StorePaths& paths, const std::vector<std::string>& diff_ids,
                   const std::string& context) {
    int64_t total = 0;
    std::string chain;
    for (size_t i = 0; i < diff_ids.size(); ++i) {
        chain = chain_id(chain, diff_ids[i]);
        fs::path meta = paths.layer_meta(strip_sha256(chain));
        std::error_code ec;
        if (!fs::is_directory(meta, ec))
            throw UserError(context + ": layer " + std::to_string(i) +
                            ": missing layerdb entry " + meta.string());
        if (auto size = read_file_if_exists(meta / "size")) {
            auto v = parse_size(trimmed(*size));
            if (!v) throw UserError(context + ": " + (meta / "size").string() + ": not a byte count");
            total += *v;
        }
    }
    return total;
}

}  // namespace ovf::store::detail
