#pragma once
// Which xattr names belong to overlay itself, and the kernel's escaping of nested overlay
// xattrs ("trusted.overlay.overlay.X" in a layer is "trusted.overlay.X" in the view).
#include <optional>
#include <string>
#include <string_view>

namespace ovf::merge {

inline constexpr std::string_view kTrustedOverlay = "trusted.overlay.";
inline constexpr std::string_view kUserOverlay = "user.overlay.";
inline constexpr std::string_view kFuseOverlayfs = "user.fuseoverlayfs.";

// The name a layer xattr shows under in the view, or nullopt if it is hidden.
std::optional<std::string> visible_xattr_name(std::string_view layer_name);
// The name to read in the layer for a name asked of the view, or nullopt if that name
// cannot be seen through the view.
std::optional<std::string> layer_xattr_name(std::string_view view_name);

}  // namespace ovf::merge
