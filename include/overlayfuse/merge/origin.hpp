#pragma once
// overlay.origin: the file handle of its lower copy that a copied-up object carries in the
// upper layer, in the kernel overlay's format. The kernel writes it at copy-up and reads it
// back to report a copied-up object under its lower copy's inode number, across unmounts too;
// we do both, so an upper written by either keeps its numbers under the other.
#include <sys/stat.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "overlayfuse/merge/layer.hpp"
#include "overlayfuse/unique_fd.hpp"

namespace ovf::merge {

class Origins {
public:
    // LAYERS: all of the view's, the upper (layer 0) first. USER_XATTRS: the upper uses
    // user.overlay.* (an unprivileged view), like the kernel with "userxattr".
    Origins(const std::vector<Layer>& layers, bool user_xattrs);

    const char* xattr_name() const { return user_xattrs_ ? "user.overlay.origin" : "trusted.overlay.origin"; }

    // The overlay.origin value naming lower object OPATH_FD of layer LAYER, or "" when its
    // filesystem cannot give it a handle (then the kernel records no origin either).
    std::string encode(int opath_fd, size_t layer) const;

    struct Found {
        size_t layer;     // the first lower layer on the handle's filesystem, as the kernel
        struct stat st;   // the lower object's attributes
    };
    // What the overlay.origin VALUE of an upper object of type MODE names: a lower object of
    // the same type on one of the view's lower filesystems, or nothing.
    std::optional<Found> decode(const std::string& value, mode_t mode) const;

private:
    struct Fs {
        dev_t dev = 0;
        size_t first_layer = 0;             // its topmost lower layer
        std::optional<std::array<unsigned char, 16>> uuid;  // none: unknown, or not unique
        UniqueFd mount_fd;                  // a directory on it, not O_PATH (open_by_handle_at)
    };
    const Fs* fs_of_layer(size_t layer) const;
    std::vector<Fs> fs_;
    std::vector<dev_t> layer_dev_;
    bool user_xattrs_;
};

}  // namespace ovf::merge
