#pragma once
// Reader for tar-split.json.gz (github.com/vbatts/tar-split): one JSON object per line;
// type 1 entries name each file of the original layer tar.
#include <filesystem>
#include <functional>
#include <string>

#include "overlayfuse/layer_markers.hpp"

namespace ovf::store {

// Calls FN with the name of every file entry, in tar order. Throws UserError naming PATH
// if the file is not valid gzip or a line is not valid JSON.
void for_each_tar_split_name(const std::filesystem::path& path,
                             const std::function<void(const std::string&)>& fn);

// Collects ".wh..wh..opq" and ".wh.NAME" entries into markers.
LayerMarkers markers_from_tar_split(const std::filesystem::path& path);

}  // namespace ovf::store
