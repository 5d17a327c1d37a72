#pragma once
// A layer stack described in memory, independent of how whiteouts and opaque directories are
// encoded on disk. The same logical stack can be written in the encoding the kernel reads
// (char 0/0 whiteouts, trusted.overlay.opaque) and in the alternate encodings only overlayfuse
// reads (.wh. files, user.* opaque xattrs); both must give the same merged view.
#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace ovft {

enum class Kind { File, Dir, Symlink, HardLink, Fifo, CharDev, BlockDev, Whiteout };

struct Entry {
    Entry() = default;
    Entry(Kind k, mode_t m) : kind(k), mode(m) {}

    Kind kind = Kind::File;
    mode_t mode = 0644;  // permission bits, including setuid/setgid/sticky
    uid_t uid = 0;
    gid_t gid = 0;
    // File: contents. Symlink: target. HardLink: layer-relative path of the file it links to
    // (an earlier File entry of the same layer; mode, owner, times and xattrs are that file's).
    std::string data;
    unsigned dev_major = 0, dev_minor = 0;  // CharDev, BlockDev
    bool opaque = false;                    // Dir: hides the same directory in lower layers
    bool sparse = false;                    // File: its 4 KiB blocks of zeros are holes
    std::vector<std::pair<std::string, std::string>> xattrs;  // user.*, security.capability, ...
    struct timespec mtime = {1600000000, 0};
};

// One layer: paths relative to the layer root ("a/b"). Parents are created as plain 0755
// directories when missing. Adding a path twice replaces the first entry.
struct Layer {
    Entry root{Kind::Dir, 0755};  // the layer directory's own attributes (never opaque)
    std::map<std::string, Entry> entries;

    Entry& add(const std::string& path, Entry e);
    Entry& file(const std::string& path, const std::string& content = "", mode_t mode = 0644);
    Entry& dir(const std::string& path, mode_t mode = 0755);
    Entry& opaque_dir(const std::string& path, mode_t mode = 0755);
    Entry& symlink(const std::string& path, const std::string& target);
    Entry& hardlink(const std::string& path, const std::string& existing_file);
    Entry& whiteout(const std::string& path);
    Entry& fifo(const std::string& path, mode_t mode = 0644);
    Entry& chardev(const std::string& path, unsigned major, unsigned minor, mode_t mode = 0600);
    Entry& blockdev(const std::string& path, unsigned major, unsigned minor, mode_t mode = 0600);
    bool has(const std::string& path) const { return entries.count(path) != 0; }
};

// Layers bottom first (like an image's diff_ids). Mounts want them top first: see write_stack.
struct LayerStack {
    std::vector<Layer> layers;
    uint64_t seed = 0;  // of the generator, for messages; 0 for hand-written stacks
    Layer& add_layer() { return layers.emplace_back(); }
};

// How whiteouts and opaque directories are written. When a list has several forms, each
// marker picks one deterministically (hash of layer, path and the stack's seed), so one stack
// mixes them.
enum class WhiteoutForm {
    CharDev,       // character device 0/0 (kernel overlay, Docker overlay2)
    WhFile,        // regular file ".wh.NAME" (OCI/AUFS tar form, fuse-overlayfs without mknod)
    TrustedXattr,  // zero-size file with trusted.overlay.whiteout, parent trusted.overlay.opaque=x
    UserXattr,     // the same with user.overlay.whiteout / user.overlay.opaque=x
};
enum class OpaqueForm {
    TrustedXattr,        // trusted.overlay.opaque=y
    UserOverlayXattr,    // user.overlay.opaque=y
    FuseOverlayfsXattr,  // user.fuseoverlayfs.opaque=y
    WhOpqFile,           // a file ".wh..wh..opq" inside the directory
};
struct Encoding {
    std::string name;
    std::vector<WhiteoutForm> whiteouts;
    std::vector<OpaqueForm> opaques;
};

// What the kernel overlay reads when mounted by root: char 0/0 and xattr whiteouts,
// trusted.overlay.opaque=y. The oracle side of every comparison uses this.
Encoding kernel_encoding();
// Only the forms the kernel reads without xattr whiteouts (char 0/0, trusted.overlay.opaque).
Encoding kernel_classic_encoding();
// AUFS/OCI tar form: .wh.NAME files and .wh..wh..opq files.
Encoding aufs_encoding();
// user.overlay.opaque=y and user.fuseoverlayfs.opaque=y, with char 0/0 and .wh. whiteouts.
Encoding user_xattr_encoding();
// Every form at once, chosen per marker.
Encoding mixed_encoding();
// What an unprivileged reader can see: char 0/0 and .wh. whiteouts, user.overlay.opaque=y and
// .wh..wh..opq (no trusted.* anywhere).
Encoding unprivileged_encoding();

// gtest prints an Encoding parameter by its name.
inline void PrintTo(const Encoding& e, std::ostream* os) { *os << e.name; }

// Writes STACK below DIR as DIR/L000 (bottom), DIR/L001, ... and returns the layer paths top
// first, as lowerdir= and --lower want them. Throws on any failure (e.g. mknod not allowed).
std::vector<std::string> write_stack(const LayerStack& stack, const Encoding& encoding,
                                     const std::string& dir);

// A short text description of the stack (one line per entry per layer), for failure messages
// of small hand-written cases.
std::string describe(const LayerStack& stack);

}  // namespace ovft
