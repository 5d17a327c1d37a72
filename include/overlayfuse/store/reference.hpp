#pragma once
// Docker image references, parsed and normalised the way the Docker daemon does it
// (distribution/reference: ParseAnyReference, ParseNormalizedNamed, FamiliarName/String).
#include <optional>
#include <string>

namespace ovf::store {

struct Reference {
    // Set when the input is a full image id: 64 hex digits, with or without "sha256:".
    std::optional<std::string> image_id;  // "sha256:<64 hex>"
    std::string familiar_name;            // "busybox", "foo/bar", "localhost:5000/x"
    std::optional<std::string> tag;       // "latest" added when neither tag nor digest given
    std::optional<std::string> digest;    // "sha256:<hex>"
    // The key Docker uses in repositories.json: "name:tag" or "name@sha256:..." (digest wins).
    std::string familiar_string() const;
};

// Throws ovf::UserError for a string that is not a valid reference.
Reference parse_reference(const std::string& text);

// "sha256:" + sha256(parent + " " + diff): Docker's layer chain id (layer/layer.go).
std::string chain_id(const std::string& parent_chain, const std::string& diff_id);

}  // namespace ovf::store
