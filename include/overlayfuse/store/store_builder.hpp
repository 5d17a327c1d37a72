#pragma once
// Builds a genuine Docker overlay2 store from plain layer directories, without Docker: the
// fixture the unit tests read and the sample store `ovf-mksample` makes. Everything is written
// as Docker 20.10 writes it (see docs/store-layout.md): for each layer a tar in Docker's layer
// format whose sha256 is the diff id, tar-split.json.gz, layerdb/sha256/<chain>/{cache-id,
// diff,parent,size}, overlay2/<cache-id>/{diff,link,lower,work,committed}, overlay2/l/<link>,
// the image config under imagedb/content, and repositories.json.
//
// A layer directory may express its markers in any form overlay readers know: character
// devices 0/0 or ".wh.NAME" files for whiteouts, a "y" opaque xattr (trusted.overlay.,
// user.overlay. or user.fuseoverlayfs.) or a ".wh..wh..opq" file for opaque directories.
// In the layer's diff directory they are written the way Docker's untar writes them
// (MarkerForm::kernel), or, for a process that may not mknod or set trusted.* xattrs, as
// files (MarkerForm::aufs_files).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace ovf::store {

enum class MarkerForm {
    automatic,   // kernel if this process can create them (probed), else aufs_files
    kernel,      // whiteout = char device 0/0, opaque = trusted.overlay.opaque "y" (Docker as root)
    aufs_files,  // whiteout = empty file ".wh.NAME", opaque = empty file ".wh..wh..opq"
};

struct StoreBuilderOptions {
    MarkerForm markers = MarkerForm::automatic;
    // If set, each new layer's tar is also written there as <diff id hex>.tar.
    std::filesystem::path keep_tars;
};

struct ImageSpec {
    std::vector<std::filesystem::path> layers;  // layer directories, bottom first
    // "name:tag", "localhost:5000/x:tag", "name@sha256:<manifest digest>", normalised as
    // `docker tag` does. A tag already held by another image moves to this one.
    std::vector<std::string> references;
    std::string created;                  // RFC 3339; "" = now
    std::vector<std::string> created_by;  // history text per layer; "" = a generic one
    std::string parent_id;                // "sha256:..." recorded as imagedb/metadata parent
};

struct BuiltLayer {
    std::string diff_id;   // "sha256:<hex>"
    std::string chain_id;  // "sha256:<hex>"
    std::string cache_id;
    std::string link;
    int64_t size = 0;
    bool reused = false;   // the chain already existed in the store (shared layers)
};

struct BuiltImage {
    std::string id;  // "sha256:<hex>"
    std::vector<BuiltLayer> layers;
};

struct ContainerSpec {
    std::string name;                // without the leading "/"
    std::string image_id;            // "sha256:<hex>"
    std::filesystem::path upper;     // contents of the read-write layer; "" = empty
};

struct BuiltContainer {
    std::string id;        // 64 hex
    std::string mount_id;  // overlay2 dir of the read-write layer
    std::filesystem::path rw_diff_dir;
    std::filesystem::path init_diff_dir;
};

class StoreBuilder {
public:
    // Creates the store skeleton under ROOT if needed; an existing store is extended.
    explicit StoreBuilder(std::filesystem::path root, StoreBuilderOptions options = {});

    BuiltImage add_image(const ImageSpec& spec);
    // Points REFERENCE at IMAGE_ID in repositories.json.
    void add_reference(const std::string& reference, const std::string& image_id);
    BuiltContainer add_container(const ContainerSpec& spec);

    const std::filesystem::path& root() const { return root_; }
    // The form markers take in diff directories (never MarkerForm::automatic).
    MarkerForm marker_form() const { return form_; }
    // What could not be reproduced (device nodes without privilege, xattrs that could not be
    // set, ownership), one line each.
    const std::vector<std::string>& notes() const { return notes_; }

private:
    struct LayerLinks {
        std::string cache_id, link, lower;
    };
    BuiltLayer add_layer(const std::filesystem::path& dir, const std::string& parent_chain,
                         const LayerLinks* parent);
    LayerLinks links_of(const std::string& chain_id) const;
    void save_repositories() const;

    std::filesystem::path root_;
    StoreBuilderOptions options_;
    MarkerForm form_;
    std::map<std::string, std::map<std::string, std::string>> repositories_;
    std::vector<std::string> notes_;
};

}  // namespace ovf::store
