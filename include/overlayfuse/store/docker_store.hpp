#pragma once
// Reads Docker's overlay2 store (see docs/store-layout.md) as plain files: no daemon needed,
// nothing is ever written. Every failure is an ovf::UserError naming the image or the path.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "overlayfuse/error.hpp"
#include "overlayfuse/layer_markers.hpp"

namespace ovf::store {

// resolve_image() found no image by that name or id (as opposed to a broken store).
class NoSuchImage : public UserError {
public:
    using UserError::UserError;
};

struct LayerInfo {
    std::string diff_id;                 // "sha256:<hex>" from rootfs.diff_ids
    std::string chain_id;                // "sha256:<hex>"
    std::string cache_id;                // directory name under <root>/overlay2
    std::filesystem::path diff_dir;      // <root>/overlay2/<cache_id>/diff
    std::string link;                    // short name from overlay2/<cache_id>/link ("" if absent)
    std::optional<int64_t> size;         // layerdb size file
    std::filesystem::path tar_split;     // layerdb/sha256/<chain>/tar-split.json.gz (may not exist)
};

struct ImageInfo {
    std::string id;                      // "sha256:<hex>"
    std::vector<std::string> references; // "name:tag" / "name@sha256:..." keys that point here
    std::string created;                 // config "created", may be empty
    std::vector<LayerInfo> layers;       // bottom (base) layer first, as in rootfs.diff_ids
};

struct ImageSummary {
    std::string repository;  // "<none>" for an untagged image
    std::string tag;         // "<none>" when none
    std::string id;          // "sha256:<hex>"
    std::string created;
    size_t layers = 0;
    int64_t size = 0;        // sum of layer sizes
};

// A container's read-write layer stack (issue: writable views and containers).
struct ContainerInfo {
    std::string id;          // 64 hex
    std::string name;        // without the leading "/"
    std::string image_id;    // "sha256:<hex>"
    std::filesystem::path rw_diff_dir;    // overlay2/<mount-id>/diff
    std::filesystem::path init_diff_dir;  // overlay2/<mount-id>-init/diff (may not exist)
    ImageInfo image;
};

// What default_root() looks at; current() reads the real process environment. Tests pass
// their own.
struct DataRootSources {
    std::filesystem::path daemon_json = "/etc/docker/daemon.json";
    bool is_root = true;                   // effective uid 0
    std::filesystem::path home;            // $HOME ("" if unset)
    std::filesystem::path xdg_data_home;   // $XDG_DATA_HOME ("" if unset)
    static DataRootSources current();
};

class DockerStore {
public:
    // The data root: --root if given, else data-root in /etc/docker/daemon.json, else
    // ~/.local/share/docker for a non-root user who has it, else /var/lib/docker.
    static std::filesystem::path default_root();
    // The same rules over ENV. An unreadable daemon.json is skipped; an invalid one, or a
    // data-root that is not a string, throws UserError. Rootless dockerd's
    // $XDG_DATA_HOME/docker is preferred to ~/.local/share/docker when XDG_DATA_HOME is set.
    static std::filesystem::path default_root(const DataRootSources& env);

    // Checks that ROOT looks like an overlay2 store (image/overlay2 exists and is readable).
    explicit DockerStore(std::filesystem::path root);

    const std::filesystem::path& root() const { return root_; }

    // Resolves a reference as the daemon does: full id, name[:tag], name@digest, unique id
    // prefix. Loads the config, walks the chain ids, checks each layer's diff file against its
    // diff_id and that its diff directory exists.
    ImageInfo resolve_image(const std::string& reference) const;

    // Every image in imagedb/content, with its tags (one row per tag, as `docker images`).
    std::vector<ImageSummary> list_images() const;

    // Container by name or id prefix (containers/<id>/config.v2.json + layerdb/mounts/<id>).
    std::optional<ContainerInfo> find_container(const std::string& name_or_id) const;

    // The whiteout/opaque markers of a layer from its tar-split.json.gz; nullopt if the file is
    // missing. Throws UserError if it exists but cannot be parsed.
    static std::optional<LayerMarkers> read_markers(const LayerInfo& layer);

private:
    std::filesystem::path root_;
};

}  // namespace ovf::store
