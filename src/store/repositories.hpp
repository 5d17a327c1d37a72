#pragma once
// repositories.json: the reference store (reference/store.go). Maps "name:tag" and
// "name@digest" keys, grouped by familiar name, to image ids.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "overlayfuse/store/reference.hpp"

namespace ovf::store::detail {

class Repositories {
public:
    // Throws UserError naming PATH if it is missing, unreadable or not the expected JSON.
    static Repositories load(const std::filesystem::path& path);

    // The image id ("sha256:...") REF points to, looked up the way the daemon does.
    std::optional<std::string> lookup(const Reference& ref) const;

    // Every key that points to IMAGE_ID, sorted.
    std::vector<std::string> references_of(const std::string& image_id) const;

    // familiar name -> (key -> image id)
    const std::map<std::string, std::map<std::string, std::string>>& all() const { return repos_; }

private:
    std::map<std::string, std::map<std::string, std::string>> repos_;
};

}  // namespace ovf::store::detail
