// tar-split's storage format (github.com/vbatts/tar-split/tar/storage): one JSON object per
// line, {"type":1,"name":...} for each tar entry and {"type":2,"payload":...} for the raw
// header and padding bytes between them. A name that is not UTF-8 is in "name_raw" (base64).
#include "overlayfuse/store/tar_split.hpp"

#include <nlohmann/json.hpp>

#include "base64.hpp"
#include "gzip_file.hpp"
#include "marker_names.hpp"
#include "overlayfuse/error.hpp"

namespace ovf::store {

namespace {

constexpr int kFileEntry = 1;
using detail::kAufsMetaPrefix;
using detail::kOpaqueMarker;
using detail::kWhiteoutPrefix;

// "./usr//share/doc/" -> "usr/share/doc": the form LayerMarkers uses.
std::string clean_path(std::string_view name) {
    std::string out;
    size_t i = 0;
    while (i <= name.size()) {
        size_t end = name.find('/', i);
        if (end == std::string_view::npos) end = name.size();
        std::string_view part = name.substr(i, end - i);
        if (!part.empty() && part != ".") {
            if (!out.empty()) out += '/';
            out += part;
        }
        i = end + 1;
    }
    return out;
}

}  // namespace

void for_each_tar_split_name(const std::filesystem::path& path,
                             const std::function<void(const std::string&)>& fn) {
    detail::GzipLineReader reader(path);
    std::string line;
    size_t line_no = 0;
    while (reader.next(line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto bad = [&](const std::string& why) {
            return UserError(path.string() + ": line " + std::to_string(line_no) + ": " + why);
        };
        nlohmann::json entry;
        try {
            entry = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error&) {
            throw bad("invalid JSON");
        }
        if (!entry.is_object() || !entry.contains("type") || !entry["type"].is_number_integer())
            throw bad("not a tar-split entry");
        if (entry["type"].get<int>() != kFileEntry) continue;
        if (entry.contains("name") && entry["name"].is_string()) {
            fn(entry["name"].get<std::string>());
        } else if (entry.contains("name_raw") && entry["name_raw"].is_string()) {
            auto raw = detail::base64_decode(entry["name_raw"].get<std::string>());
            if (!raw) throw bad("name_raw is not base64");
            fn(*raw);
        } else {
            throw bad("file entry without a name");
        }
    }
}

LayerMarkers markers_from_tar_split(const std::filesystem::path& path) {
    LayerMarkers markers;
    for_each_tar_split_name(path, [&](const std::string& name) {
        std::string clean = clean_path(name);
        auto slash = clean.rfind('/');
        std::string dir = slash == std::string::npos ? "" : clean.substr(0, slash);
        std::string_view base = std::string_view(clean).substr(slash == std::string::npos ? 0 : slash + 1);
        if (base == kOpaqueMarker) {
            markers.opaque_dirs.insert(dir);
        } else if (base.substr(0, kAufsMetaPrefix.size()) == kAufsMetaPrefix) {
            // bookkeeping, not a marker
        } else if (base.substr(0, kWhiteoutPrefix.size()) == kWhiteoutPrefix &&
                   base.size() > kWhiteoutPrefix.size()) {
            std::string target(base.substr(kWhiteoutPrefix.size()));
            if (target == "." || target == "..") return;  // names nothing (Docker refuses them)
            markers.whiteouts.insert(dir.empty() ? target : dir + "/" + target);
        }
    });
    return markers;
}

}  // namespace ovf::store
