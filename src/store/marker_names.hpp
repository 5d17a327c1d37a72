#pragma once
// The AUFS/OCI file names Docker's layer tars use for overlay markers (pkg/archive/whiteouts.go).
#include <string_view>

namespace ovf::store::detail {

inline constexpr std::string_view kWhiteoutPrefix = ".wh.";     // ".wh.NAME" deletes NAME
inline constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";  // its directory is opaque
// AUFS keeps its own bookkeeping under ".wh..wh." (.wh..wh.plnk, .wh..wh.aufs): not markers.
inline constexpr std::string_view kAufsMetaPrefix = ".wh..wh.";

}  // namespace ovf::store::detail
