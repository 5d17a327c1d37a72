#pragma once
// An image's config file (imagedb/content/sha256/<id>): the only part of it the reader
// needs is rootfs.diff_ids, plus "created" for listings.
#include <string>
#include <vector>

#include "store_paths.hpp"

namespace ovf::store::detail {

struct ImageConfig {
    std::string id;                     // "sha256:<hex>"
    std::string created;                // "" when absent
    std::vector<std::string> diff_ids;  // bottom first
};

// Loads and checks the config of IMAGE_ID ("sha256:<hex>"): the file's digest must equal its
// name, as the daemon re-checks on every read. CONTEXT names the image in messages.
// A missing file throws UserError too; use config_exists() to test first.
ImageConfig load_image_config(const StorePaths& paths, const std::string& image_id,
                              const std::string& context);

bool config_exists(const StorePaths& paths, const std::string& image_id);

// Every image id in imagedb/content ("sha256:<hex>"), sorted. Skips the daemon's temporary
// files, whose names are not 64 hex.
std::vector<std::string> list_image_ids(const StorePaths& paths);

}  // namespace ovf::store::detail
