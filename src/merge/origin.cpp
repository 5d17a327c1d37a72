// overlay.origin in the kernel's byte format (struct ovl_fb in fs/overlayfs/overlayfs.h):
//   u8 version (0), u8 magic (0xfb), u8 len (header + fid), u8 flags, u8 fid type,
//   16 bytes: uuid of the lower filesystem, then the fid of name_to_handle_at(2).
// Flags: bit 0 big-endian fid, bit 1 fid of any endianness, bit 2 "names an upper object"
// (index entries only). A fid of the other endianness is not ours to read.
#include "overlayfuse/merge/origin.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "overlayfuse/sys.hpp"

namespace ovf::merge {

namespace {

constexpr unsigned char kVersion = 0;
constexpr unsigned char kMagic = 0xfb;
constexpr unsigned char kFlagBigEndian = 1, kFlagAnyEndian = 2, kFlagsAll = 7;
constexpr unsigned char kCpuEndian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? kFlagBigEndian : 0;
constexpr size_t kHeader = 5 + 16;
constexpr int kFileidIno32Gen = 1, kFileidIno32GenParent = 2;  // ext4's, xfs' (small inodes)

// FS_IOC_GETFSUUID (Linux 6.5): the superblock's s_uuid, which the kernel overlay records.
struct FsUuid {
    unsigned char len;
    unsigned char uuid[16];
};
constexpr unsigned long kGetFsUuid = _IOR(0x15, 0, FsUuid);

std::optional<std::array<unsigned char, 16>> fs_uuid(int fd) {
    FsUuid u{};
    u.len = sizeof u.uuid;
    if (::ioctl(fd, kGetFsUuid, &u) != 0 || u.len != sizeof u.uuid) return std::nullopt;
    std::array<unsigned char, 16> out;
    std::memcpy(out.data(), u.uuid, out.size());
    return out;
}

bool is_null(const std::array<unsigned char, 16>& u) {
    return std::all_of(u.begin(), u.end(), [](unsigned char c) { return c == 0; });
}

struct Handle {
    struct file_handle h;
    unsigned char bytes[MAX_HANDLE_SZ];
};

}  // namespace

Origins::Origins(const std::vector<Layer>& layers, bool user_xattrs) : user_xattrs_(user_xattrs) {
    for (const auto& l : layers) layer_dev_.push_back(l.dev);
    dev_t upper_dev = layers.empty() ? 0 : layers.front().dev;
    for (size_t i = 1; i < layers.size(); ++i) {
        if (std::any_of(fs_.begin(), fs_.end(), [&](const Fs& f) { return f.dev == layers[i].dev; })) continue;
        Fs f;
        f.dev = layers[i].dev;
        f.first_layer = i;
        f.mount_fd = UniqueFd(::openat(layers[i].root.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (f.mount_fd.get() >= 0) f.uuid = fs_uuid(f.mount_fd.get());
        fs_.push_back(std::move(f));
    }
    // Like the kernel: a lower filesystem other than the upper's is told apart by its uuid
    // only when that is set and unique among them.
    for (auto& f : fs_) {
        if (!f.uuid || f.dev == upper_dev) continue;
        bool unique = !is_null(*f.uuid) && std::none_of(fs_.begin(), fs_.end(), [&](const Fs& g) {
            return &g != &f && g.uuid && *g.uuid == *f.uuid;
        });
        if (!unique) f.uuid.reset();
    }
}

const Origins::Fs* Origins::fs_of_layer(size_t layer) const {
    if (layer >= layer_dev_.size()) return nullptr;
    for (const auto& f : fs_)
        if (f.dev == layer_dev_[layer]) return &f;
    return nullptr;
}

std::string Origins::encode(int opath_fd, size_t layer) const {
    const Fs* fs = fs_of_layer(layer);
    if (!fs || !fs->uuid) return "";
    Handle fh{};
    fh.h.handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    if (::name_to_handle_at(opath_fd, "", &fh.h, &mount_id, AT_EMPTY_PATH) != 0) return "";
    if (fh.h.handle_bytes > 255 - kHeader) return "";
    std::string v(kHeader + fh.h.handle_bytes, '\0');
    v[0] = static_cast<char>(kVersion);
    v[1] = static_cast<char>(kMagic);
    v[2] = static_cast<char>(v.size());
    v[3] = static_cast<char>(kCpuEndian);
    v[4] = static_cast<char>(fh.h.handle_type);
    std::memcpy(v.data() + 5, fs->uuid->data(), 16);
    std::memcpy(v.data() + kHeader, fh.h.f_handle, fh.h.handle_bytes);
    return v;
}

std::optional<Origins::Found> Origins::decode(const std::string& value, mode_t mode) const {
    auto byte = [&](size_t i) { return static_cast<unsigned char>(value[i]); };
    if (value.size() < kHeader || byte(0) != kVersion || byte(1) != kMagic) return std::nullopt;
    unsigned char flags = byte(3);
    if (flags & ~kFlagsAll) return std::nullopt;
    if (!(flags & kFlagAnyEndian) && (flags & kFlagBigEndian) != kCpuEndian) return std::nullopt;
    size_t len = byte(2);
    if (len < kHeader || len > value.size() || len - kHeader > MAX_HANDLE_SZ) return std::nullopt;
    std::array<unsigned char, 16> uuid;
    std::memcpy(uuid.data(), value.data() + 5, 16);
    const Fs* fs = nullptr;
    for (const auto& f : fs_)
        if (f.uuid && *f.uuid == uuid && (!fs || f.first_layer < fs->first_layer)) fs = &f;
    if (!fs) return std::nullopt;

    Handle fh{};
    fh.h.handle_bytes = static_cast<unsigned>(len - kHeader);
    fh.h.handle_type = byte(4);
    std::memcpy(fh.h.f_handle, value.data() + kHeader, fh.h.handle_bytes);
    Found found{fs->first_layer, {}};
    int fd = ::open_by_handle_at(fs->mount_fd.get(), &fh.h, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        UniqueFd guard(fd);
        if (sys::fstat_fd(fd, &found.st) < 0) return std::nullopt;
    } else if (errno == EPERM &&
               (fh.h.handle_type == kFileidIno32Gen || fh.h.handle_type == kFileidIno32GenParent) &&
               fh.h.handle_bytes >= 8) {
        // Opening by handle needs CAP_DAC_READ_SEARCH, which the kernel does not (it decodes
        // in the kernel). These fids start with the 32-bit inode number; the object behind it
        // cannot be checked, so it is taken to be what we write origins for: a lone object
        // of the upper copy's type in an unchanging layer.
        uint32_t ino;
        std::memcpy(&ino, fh.h.f_handle, sizeof ino);
        found.st.st_ino = ino;
        found.st.st_mode = mode;
        found.st.st_nlink = 1;
    } else {
        return std::nullopt;  // gone (ESTALE), or not on that filesystem
    }
    if ((found.st.st_mode ^ mode) & S_IFMT) return std::nullopt;
    return found;
}

}  // namespace ovf::merge
