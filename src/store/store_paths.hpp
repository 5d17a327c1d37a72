#pragma once
// Where each piece of an overlay2 store lives, relative to the data root. Only plain names
// (checked by the caller) are ever appended, so every path stays inside the root.
#include <filesystem>
#include <string>
#include <string_view>

namespace ovf::store::detail {

struct StorePaths {
    std::filesystem::path root;

    std::filesystem::path image_dir() const { return root / "image" / "overlay2"; }
    std::filesystem::path repositories_json() const { return image_dir() / "repositories.json"; }
    std::filesystem::path content_dir() const { return image_dir() / "imagedb/content/sha256"; }
    std::filesystem::path metadata_dir() const { return image_dir() / "imagedb/metadata/sha256"; }
    std::filesystem::path layerdb_dir() const { return image_dir() / "layerdb/sha256"; }
    std::filesystem::path mounts_dir() const { return image_dir() / "layerdb/mounts"; }
    std::filesystem::path overlay_dir() const { return root / "overlay2"; }
    std::filesystem::path containers_dir() const { return root / "containers"; }

    // HEX arguments are 64 hex digits without "sha256:".
    std::filesystem::path config_file(std::string_view hex) const { return content_dir() / hex; }
    std::filesystem::path layer_meta(std::string_view hex) const { return layerdb_dir() / hex; }
    std::filesystem::path driver_dir(std::string_view cache_id) const {
        return overlay_dir() / cache_id;
    }
    std::filesystem::path link_symlink(std::string_view link) const {
        return overlay_dir() / "l" / link;
    }
};

}  // namespace ovf::store::detail
