#pragma once
// The upper and work directories of a writable view, and the upper's on-disk format: the
// kernel overlay's own, so `mount -t overlay` reads what we write.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>

#include "overlayfuse/merge/engine.hpp"
#include "overlayfuse/unique_fd.hpp"

namespace ovf::merge {

class Upper {
public:
    // Opens (and locks) the work directory and clears what a crash left in it. Throws
    // UserError naming the directory at fault.
    explicit Upper(const UpperSource& src);
    // Removes the shared whiteout device: a cleanly unmounted view leaves WORK/work empty.
    ~Upper();
    Upper(const Upper&) = delete;
    Upper& operator=(const Upper&) = delete;

    // The encodings to read in the upper: the kernel's only (a ".wh.x" file there is an
    // ordinary file), unless this filesystem refuses whiteout devices.
    MarkerFormats read_formats(const MarkerFormats& lower) const;

    bool redirect_dir() const { return src_.redirect_dir; }
    bool device_whiteouts() const { return device_whiteouts_; }
    // The ids new objects get before any chown: the daemon's own.
    uid_t own_uid() const { return own_uid_; }
    gid_t own_gid() const { return own_gid_; }
    int work_fd() const { return work_.get(); }
    // A fresh name in the work directory.
    std::string temp_name();

    // The name under which an xattr set through the view is stored in the upper: the
    // kernel escapes its own namespace (trusted.overlay.*, or user.overlay.* with userxattr)
    // and stores everything else as it is.
    std::string xattr_name(std::string_view view_name) const;

    // Creates a whiteout called NAME in DIR_FD.
    int make_whiteout(int dir_fd, const char* name) const;
    // Marks directory OPATH_FD opaque.
    int set_opaque(int opath_fd) const;
    int set_redirect(int opath_fd, const std::string& target) const;
    // Marks directory OPATH_FD as holding copied-up or moved entries (overlay.impure), which
    // tells the kernel to look up their inode numbers when it lists it.
    void set_impure(int opath_fd) const;
    bool is_impure(int opath_fd) const;
    // Removes NAME in DIR_FD and everything below it (a tree in the work directory).
    static int remove_tree(int dir_fd, const char* name);

private:
    const char* impure_xattr() const;
    UpperSource src_;
    UniqueFd work_;        // WORK/work, O_PATH
    UniqueFd work_lock_;   // flock()ed WORK: one mount per work directory
    bool device_whiteouts_ = true;
    // The whiteout device new whiteouts are linked to, in WORK/work (cleared at mount).
    static constexpr const char* kSharedWhiteout = "whiteout";
    mutable std::mutex whiteout_mu_;
    mutable bool shared_whiteout_ = true;  // guarded by whiteout_mu_; false once links fail
    uid_t own_uid_ = ::geteuid();
    gid_t own_gid_ = ::getegid();
    std::atomic<uint64_t> counter_{0};
};

}  // namespace ovf::merge
