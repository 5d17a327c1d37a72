#pragma once
// Writes a layer directory as the tar Docker would commit for it (pkg/archive TarWithOptions
// with the overlay whiteout converter): entries in filepath.Walk order (depth first, names
// sorted), USTAR headers with PAX records where a field does not fit, hard links as link
// entries to the first name seen, a character device 0/0 as a ".wh.NAME" file, and a
// directory marked opaque (trusted.overlay.opaque, user.overlay.opaque or
// user.fuseoverlayfs.opaque = "y") followed by a ".wh..wh..opq" file. Files already named
// ".wh.*" go in as they are. Sockets are skipped, as Docker skips them.
//
// Unlike Docker's commit, which keeps only security.capability, every xattr other than the
// overlay markers is carried as a SCHILY.xattr PAX record: the result is the tar of a layer
// brought in by `docker import`/`load`, which keeps them.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace ovf::store {

// Receives the tar as it is produced, split the way tar-split needs it.
class LayerTarSink {
public:
    virtual ~LayerTarSink() = default;
    // Header blocks, padding and the end-of-archive blocks.
    virtual void metadata(std::string_view bytes) = 0;
    // Called after an entry's header bytes, before its content: NAME is the entry's full
    // name (directories end in '/'), SIZE its content length.
    virtual void entry(const std::string& name, int64_t size) = 0;
    // File content.
    virtual void payload(std::string_view bytes) = 0;
};

// Throws UserError naming the path for anything it cannot read.
void write_layer_tar(const std::filesystem::path& layer_dir, LayerTarSink& sink);

}  // namespace ovf::store
