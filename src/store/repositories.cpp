#include "repositories.hpp"

#include <algorithm>

#include "metadata_file.hpp"
#include "overlayfuse/error.hpp"

namespace ovf::store::detail {

Repositories Repositories::load(const std::filesystem::path& path) {
    const std::string ctx = "reference store";
    nlohmann::json doc = read_json(path, ctx);
    auto corrupt = [&](const std::string& why) {
        return UserError(ctx + ": " + path.string() + ": " + why);
    };
    if (!doc.is_object() || !doc.contains("Repositories"))
        throw corrupt("no \"Repositories\" object");
    Repositories out;
    const auto& repos = doc["Repositories"];
    if (repos.is_null()) return out;  // Go writes a nil map as null
    if (!repos.is_object()) throw corrupt("\"Repositories\" is not an object");
    for (const auto& [name, keys] : repos.items()) {
        if (keys.is_null()) continue;
        if (!keys.is_object()) throw corrupt("entry \"" + name + "\" is not an object");
        for (const auto& [key, id] : keys.items()) {
            // Keys are what lookups and listings parse, so a bad one must name this file.
            try {
                Reference ref = parse_reference(key);
                if (ref.image_id || ref.familiar_name != name) throw UserError(key);
            } catch (const UserError&) {
                throw corrupt("\"" + key + "\" is not a reference to repository \"" + name + "\"");
            }
            if (!id.is_string() || !is_sha256_digest(id.get<std::string>()))
                throw corrupt("\"" + key + "\" does not map to a sha256 image id");
            out.repos_[name][key] = id.get<std::string>();
        }
    }
    return out;
}

std::optional<std::string> Repositories::lookup(const Reference& ref) const {
    auto repo = repos_.find(ref.familiar_name);
    if (repo == repos_.end()) return std::nullopt;
    // familiar_string() drops the tag when a digest is present: the daemon looks up
    // name:tag@digest by digest alone.
    auto hit = repo->second.find(ref.familiar_string());
    if (hit == repo->second.end()) return std::nullopt;
    return hit->second;
}

std::vector<std::string> Repositories::references_of(const std::string& image_id) const {
    std::vector<std::string> out;
    for (const auto& [name, keys] : repos_)
        for (const auto& [key, id] : keys)
            if (id == image_id) out.push_back(key);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace ovf::store::detail
