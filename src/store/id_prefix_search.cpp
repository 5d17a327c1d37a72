#include "id_prefix_search.hpp"

#include "image_config.hpp"
#include "metadata_file.hpp"

namespace ovf::store::detail {

std::vector<std::string> ids_with_prefix(const StorePaths& paths, const std::string& text) {
    std::string_view prefix = strip_sha256(text);
    std::vector<std::string> hits;
    if (!is_hex(prefix) || prefix.size() > 64) return hits;
    for (auto& id : list_image_ids(paths))
        if (std::string_view(id).substr(7, prefix.size()) == prefix) hits.push_back(std::move(id));
    return hits;
}

}  // namespace ovf::store::detail
