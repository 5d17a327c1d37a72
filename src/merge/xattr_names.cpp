#include "overlayfuse/merge/xattr_names.hpp"

namespace ovf::merge {

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The two namespaces the kernel reserves for itself (trusted, or user with "userxattr").
std::optional<std::string_view> overlay_prefix(std::string_view name) {
    if (starts_with(name, kTrustedOverlay)) return kTrustedOverlay;
    if (starts_with(name, kUserOverlay)) return kUserOverlay;
    return std::nullopt;
}

}  // namespace

std::optional<std::string> visible_xattr_name(std::string_view name) {
    if (starts_with(name, kFuseOverlayfs)) return std::nullopt;
    auto prefix = overlay_prefix(name);
    if (!prefix) return std::string(name);
    // "<prefix>overlay.X" is an escaped xattr meant for the view: shown as "<prefix>X".
    std::string_view rest = name.substr(prefix->size());
    if (starts_with(rest, "overlay.")) return std::string(*prefix) + std::string(rest.substr(8));
    return std::nullopt;
}

std::optional<std::string> layer_xattr_name(std::string_view name) {
    if (starts_with(name, kFuseOverlayfs)) return std::nullopt;
    auto prefix = overlay_prefix(name);
    if (!prefix) return std::string(name);
    // The view's "<prefix>X" can only be an escaped one: stored as "<prefix>overlay.X".
    return std::string(*prefix) + "overlay." + std::string(name.substr(prefix->size()));
}

}  // namespace ovf::merge
