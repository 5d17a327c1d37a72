#pragma once
// From an image's diff ids to its layer directories: chain ids -> layerdb -> overlay2.
#include <string>
#include <vector>

#include "overlayfuse/store/docker_store.hpp"
#include "store_paths.hpp"

namespace ovf::store::detail {

// Walks DIFF_IDS (bottom first) and checks every step: the layerdb entry exists, its diff
// matches, its parent is the layer below, cache-id/link/lower are plain names, the diff
// directory exists, and the overlay2 lower chain agrees with layerdb. CONTEXT names the
// image in messages.
std::vector<LayerInfo> load_layer_chain(const StorePaths& paths,
                                        const std::vector<std::string>& diff_ids,
                                        const std::string& context);

// The same walk, reading only layerdb sizes: for listings, which must stay cheap.
int64_t chain_size(const StorePaths& paths, const std::vector<std::string>& diff_ids,
                   const std::string& context);

// The links of the overlay2 layer dir CACHE_ID: its own ("" if no link file) and its lower
// chain (empty for a base layer). Throws UserError for values that are not plain names.
struct DriverLinks {
    std::string link;
    std::vector<std::string> lower;
    bool has_lower_file = false;
};
DriverLinks read_driver_links(const StorePaths& paths, const std::string& cache_id,
                              const std::string& context);

}  // namespace ovf::store::detail
