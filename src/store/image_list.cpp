// `docker images` from the files: one row per tagged repository, untagged images only when
// nothing is built on them (the daemon's default, without -a).
#include <algorithm>
#include <cstdint>
#include <set>
#include <system_error>

#include "image_config.hpp"
#include "layer_chain.hpp"
#include "metadata_file.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/store/display.hpp"
#include "overlayfuse/store/docker_store.hpp"
#include "overlayfuse/store/reference.hpp"
#include "repositories.hpp"

namespace ovf::store {

namespace fs = std::filesystem;

namespace {

// Images that other images name as their parent (imagedb/metadata/sha256/<id>/parent):
// the intermediate images of local builds.
std::set<std::string> parent_ids(const detail::StorePaths& paths) {
    std::set<std::string> parents;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(paths.metadata_dir(), ec)) {
        auto parent = detail::read_file_if_exists(entry.path() / "parent");
        if (parent) parents.insert(detail::trimmed(*parent));
    }
    return parents;
}

}  // namespace

std::vector<ImageSummary> DockerStore::list_images() const {
    detail::StorePaths paths{root_};
    auto repos = detail::Repositories::load(paths.repositories_json());
    auto parents = parent_ids(paths);
    std::vector<ImageSummary> rows;
    for (const auto& id : detail::list_image_ids(paths)) {
        const std::string ctx = "image " + id.substr(7, 12);
        auto config = detail::load_image_config(paths, id, ctx);
        ImageSummary base;
        base.id = id;
        base.created = config.created;
        base.layers = config.diff_ids.size();
        base.size = detail::chain_size(paths, config.diff_ids, ctx);

        // Tags give a row each; a repository known only by digest gives one "<none>" row.
        std::set<std::string> tagged_repos;
        std::set<std::string> digest_repos;
        for (const auto& key : repos.references_of(id)) {
            Reference ref = parse_reference(key);
            if (ref.digest) {
                digest_repos.insert(ref.familiar_name);
                continue;
            }
            ImageSummary row = base;
            row.repository = ref.familiar_name;
            row.tag = *ref.tag;
            tagged_repos.insert(ref.familiar_name);
            rows.push_back(std::move(row));
        }
        for (const auto& repo : digest_repos) {
            if (tagged_repos.count(repo)) continue;
            ImageSummary row = base;
            row.repository = repo;
            row.tag = "<none>";
            rows.push_back(std::move(row));
        }
        if (tagged_repos.empty() && digest_repos.empty() && !parents.count(id)) {
            base.repository = "<none>";
            base.tag = "<none>";
            rows.push_back(std::move(base));
        }
    }
    // Newest first, like the daemon; an unparsable time sorts as the oldest.
    auto when = [](const ImageSummary& s) { return parse_rfc3339(s.created).value_or(INT64_MIN); };
    std::stable_sort(rows.begin(), rows.end(), [&](const ImageSummary& a, const ImageSummary& b) {
        if (when(a) != when(b)) return when(a) > when(b);
        if (a.repository != b.repository) return a.repository < b.repository;
        return a.tag < b.tag;
    });
    return rows;
}

}  // namespace ovf::store
