#include "image_config.hpp"

#include <algorithm>
#include <system_error>

#include "metadata_file.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/sha256.hpp"

namespace ovf::store::detail {

namespace fs = std::filesystem;

ImageConfig load_image_config(const StorePaths& paths, const std::string& image_id,
                              const std::string& context) {
    std::string hex(strip_sha256(image_id));
    fs::path file = paths.config_file(hex);
    std::string bytes = read_file(file, context + ": image config");
    auto corrupt = [&](const std::string& why) {
        return UserError(context + ": image config " + file.string() + ": " + why);
    };
    if (sha256_hex(bytes) != hex) throw corrupt("content does not match its sha256 name");
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(bytes);
    } catch (const nlohmann::json::parse_error& e) {
        throw corrupt("invalid JSON (at byte " + std::to_string(e.byte) + ")");
    }
    if (!doc.is_object()) throw corrupt("not a JSON object");

    ImageConfig cfg;
    cfg.id = "sha256:" + hex;
    if (doc.contains("created") && doc["created"].is_string())
        cfg.created = doc["created"].get<std::string>();
    if (!doc.contains("rootfs") || !doc["rootfs"].is_object()) throw corrupt("no \"rootfs\" object");
    const auto& rootfs = doc["rootfs"];
    if (!rootfs.contains("type") || rootfs["type"] != "layers")
        throw corrupt("rootfs.type is not \"layers\"");
    // Go omits an empty diff_ids list: an image without layers (FROM scratch + CMD).
    if (rootfs.contains("diff_ids") && !rootfs["diff_ids"].is_null()) {
        if (!rootfs["diff_ids"].is_array()) throw corrupt("rootfs.diff_ids is not a list");
        for (const auto& d : rootfs["diff_ids"]) {
            if (!d.is_string() || !is_sha256_digest(d.get<std::string>()))
                throw corrupt("rootfs.diff_ids holds something other than a sha256 digest");
            cfg.diff_ids.push_back(d.get<std::string>());
        }
    }
    return cfg;
}

bool config_exists(const StorePaths& paths, const std::string& image_id) {
    std::error_code ec;
    return fs::exists(paths.config_file(strip_sha256(image_id)), ec);
}

std::vector<std::string> list_image_ids(const StorePaths& paths) {
    std::vector<std::string> ids;
    std::error_code ec;
    fs::directory_iterator it(paths.content_dir(), ec);
    if (ec) {
        if (ec == std::errc::no_such_file_or_directory) return ids;  // a store with no images yet
        throw UserError(paths.content_dir().string() + ": " + ec.message());
    }
    for (const auto& entry : it) {
        std::string name = entry.path().filename().string();
        if (is_hex64(name)) ids.push_back("sha256:" + name);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

}  // namespace ovf::store::detail
