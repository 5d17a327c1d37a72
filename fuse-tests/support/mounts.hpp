#pragma once
// RAII mounts: a kernel overlay (the oracle) and the merged view under test (overlayfuse, or a
// stand-in chosen with OVF_UNDER_TEST). Each guard unmounts in its destructor, so a failing
// assertion or an exception never leaves a mount behind.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/harness.hpp"

namespace ovft {

// A mounted view; the destructor unmounts it.
class Mounted {
public:
    virtual ~Mounted() = default;
    const std::string& path() const { return path_; }
    // Human-readable name for messages: "kernel overlay", "overlayfuse", ...
    virtual std::string what() const = 0;

protected:
    std::string path_;
};

// `mount -t overlay overlay -o ro,lowerdir=TOP:...:BOTTOM MNT`, through the new mount API with
// one `lowerdir+` per layer (no 4 KiB option-page limit), falling back to mount(2) with paths
// relative to the layers' common parent directory on older kernels.
// EXTRA_FLAGS are overlay flag options such as "userxattr". Throws on failure with the
// kernel's own message.
class KernelOverlay : public Mounted {
public:
    KernelOverlay(const std::vector<std::string>& layers_top_first, const std::string& mnt,
                  const std::vector<std::string>& extra_flags = {});
    ~KernelOverlay() override;
    std::string what() const override { return "kernel overlay"; }
};

// A FUSE view started by running a program that returns once mounted (overlayfuse mount, or
// fuse-overlayfs). Unmounted with `fusermount3 -u` (as the user who mounted it), falling back
// to umount2(MNT_DETACH) as root.
class FuseView : public Mounted {
public:
    FuseView(const std::vector<std::string>& argv, const std::string& mnt, std::string what,
             std::optional<TestUser> as_user = std::nullopt);
    ~FuseView() override;
    std::string what() const override { return what_; }

private:
    std::string what_;
    std::optional<TestUser> as_user_;
};

// Which implementation the "under test" side of the comparisons uses: OVF_UNDER_TEST=
// overlayfuse (default), fuse-overlayfs, or kernel (the oracle against itself, to check the
// harness).
enum class Impl { Overlayfuse, FuseOverlayfs, Kernel };
Impl impl_under_test();
std::string impl_name(Impl impl);

struct ViewOptions {
    std::vector<std::string> fuse_options;  // overlayfuse -o values, e.g. "userxattr"
    std::optional<TestUser> as_user;
};

// Mounts LAYERS (top first) at MNT with the implementation under test.
std::unique_ptr<Mounted> mount_under_test(const std::vector<std::string>& layers_top_first,
                                          const std::string& mnt, const ViewOptions& options = {});

// `overlayfuse mount [-o OPTS] --lower TOP:...:BOTTOM MNT` as a guard (throws when the command
// fails).
std::unique_ptr<Mounted> mount_overlayfuse(const std::vector<std::string>& layers_top_first,
                                           const std::string& mnt, const ViewOptions& options = {});

// Mount points listed in /proc/self/mountinfo, unescaped.
std::vector<std::string> mount_points();
bool is_mount_point(const std::string& path);
// Detaches every mount at or below DIR, deepest first (cleanup of failed tests).
void detach_mounts_under(const std::string& dir);

}  // namespace ovft
