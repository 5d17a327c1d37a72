#include "overlayfuse/store/layer_tar.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <utility>

#include "fs_entries.hpp"
#include "marker_names.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/unique_fd.hpp"
#include "tar_header.hpp"

namespace ovf::store {

namespace fs = std::filesystem;
using detail::TarHeader;

namespace {

using detail::kOpaqueMarker;
using detail::kWhiteoutPrefix;

class LayerTarWriter {
public:
    explicit LayerTarWriter(LayerTarSink& sink) : sink_(sink) {}

    void write_dir_contents(const fs::path& dir, const std::string& rel,
                            const std::map<std::string, std::string>& dir_xattrs,
                            const struct stat& dir_st, bool emit_dir_opaque);
    void finish() { sink_.metadata(detail::tar_trailer()); }

private:
    void write_entry(const fs::path& path, const std::string& rel, const std::string& parent_rel,
                     const std::string& name);
    void emit(const TarHeader& h, const fs::path* content);
    std::string user_name(uid_t uid);
    std::string group_name(gid_t gid);

    LayerTarSink& sink_;
    std::map<std::pair<dev_t, ino_t>, std::string> seen_;  // first name of each linked inode
    std::map<uid_t, std::string> users_;
    std::map<gid_t, std::string> groups_;
};

// Go's tar.FileInfoHeader fills uname/gname from the host's user database, so Docker's layer
// tars carry them; do the same.
std::string LayerTarWriter::user_name(uid_t uid) {
    auto it = users_.find(uid);
    if (it != users_.end()) return it->second;
    struct passwd pw, *res = nullptr;
    char buf[4096];
    std::string name = getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res ? pw.pw_name : "";
    return users_[uid] = name;
}

std::string LayerTarWriter::group_name(gid_t gid) {
    auto it = groups_.find(gid);
    if (it != groups_.end()) return it->second;
    struct group gr, *res = nullptr;
    char buf[4096];
    std::string name = getgrgid_r(gid, &gr, buf, sizeof buf, &res) == 0 && res ? gr.gr_name : "";
    return groups_[gid] = name;
}

void LayerTarWriter::emit(const TarHeader& h, const fs::path* content) {
    sink_.metadata(detail::encode_tar_header(h));
    sink_.entry(h.name, h.size);
    if (!content || h.size == 0) return;
    UniqueFd fd(::open(content->c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw UserError(content->string() + ": " + errno_text(errno));
    int64_t left = h.size;
    char buf[1 << 16];
    while (left > 0) {
        ssize_t n = ::read(fd.get(), buf, left < int64_t(sizeof buf) ? size_t(left) : sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw UserError(content->string() + ": " + errno_text(errno));
        if (n == 0) throw UserError(content->string() + ": file shrank while being read");
        sink_.payload(std::string_view(buf, static_cast<size_t>(n)));
        left -= n;
    }
    sink_.metadata(detail::tar_padding(h.size));
}

void LayerTarWriter::write_entry(const fs::path& path, const std::string& rel,
                                 const std::string& parent_rel, const std::string& name) {
    struct stat st = detail::lstat_or_throw(path);
    if (S_ISSOCK(st.st_mode)) return;  // Go's FileInfoHeader refuses sockets; Docker skips them

    TarHeader h;
    h.uid = st.st_uid;
    h.gid = st.st_gid;
    h.uname = user_name(st.st_uid);
    h.gname = group_name(st.st_gid);
    h.mtime = st.st_mtim.tv_sec;  // Docker truncates to whole seconds

    if (S_ISCHR(st.st_mode) && st.st_rdev == 0) {
        // ConvertWrite: the kernel whiteout becomes an empty regular file ".wh.NAME".
        h.name = parent_rel + std::string(kWhiteoutPrefix) + name;
        h.typeflag = '0';
        h.mode = 0600;
        emit(h, nullptr);
        return;
    }

    h.mode = st.st_mode & 07777;
    h.mode |= st.st_mode & S_IFMT;  // Docker's fillGo18FileTypeBits
    h.name = rel;
    auto xattrs = detail::read_xattrs(path);
    for (const auto& [k, v] : xattrs)
        if (!detail::is_overlay_xattr(k)) h.xattrs[k] = v;

    if (S_ISDIR(st.st_mode)) {
        h.name += '/';
        h.typeflag = '5';
        emit(h, nullptr);
        write_dir_contents(path, rel, xattrs, st, true);
        return;
    }
    if (st.st_nlink > 1) {
        auto [it, first] = seen_.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
        if (!first) {
            h.typeflag = '1';
            h.linkname = it->second;
            emit(h, nullptr);
            return;
        }
    }
    if (S_ISREG(st.st_mode)) {
        h.typeflag = '0';
        h.size = st.st_size;
        emit(h, &path);
    } else if (S_ISLNK(st.st_mode)) {
        h.typeflag = '2';
        std::error_code ec;
        h.linkname = fs::read_symlink(path, ec).string();
        if (ec) throw UserError(path.string() + ": " + ec.message());
        emit(h, nullptr);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        h.typeflag = S_ISCHR(st.st_mode) ? '3' : '4';
        h.devmajor = major(st.st_rdev);
        h.devminor = minor(st.st_rdev);
        emit(h, nullptr);
    } else if (S_ISFIFO(st.st_mode)) {
        h.typeflag = '6';
        emit(h, nullptr);
    }
}

void LayerTarWriter::write_dir_contents(const fs::path& dir, const std::string& rel,
                                        const std::map<std::string, std::string>& dir_xattrs,
                                        const struct stat& dir_st, bool emit_dir_opaque) {
    auto names = detail::sorted_names(dir);
    std::string prefix = rel.empty() ? "" : rel + "/";
    bool has_marker_file = std::binary_search(names.begin(), names.end(), std::string(kOpaqueMarker));
    if (emit_dir_opaque && detail::has_opaque_xattr(dir_xattrs) && !has_marker_file) {
        // ConvertWrite's opaque marker: a regular file with the directory's permissions and
        // owner, and no mtime.
        TarHeader wo;
        wo.name = prefix + std::string(kOpaqueMarker);
        wo.typeflag = '0';
        wo.mode = dir_st.st_mode & 0777;
        wo.uid = dir_st.st_uid;
        wo.gid = dir_st.st_gid;
        wo.uname = user_name(dir_st.st_uid);
        wo.gname = group_name(dir_st.st_gid);
        emit(wo, nullptr);
    }
    for (const auto& name : names) write_entry(dir / name, prefix + name, prefix, name);
}

}  // namespace

void write_layer_tar(const fs::path& layer_dir, LayerTarSink& sink) {
    struct stat st = detail::lstat_or_throw(layer_dir);
    if (!S_ISDIR(st.st_mode)) throw UserError(layer_dir.string() + ": not a directory");
    LayerTarWriter writer(sink);
    // Docker leaves the root directory itself out of a layer tar. An opaque root still gets
    // its marker, so that the tar (and tar-split) say what the directory says.
    writer.write_dir_contents(layer_dir, "", detail::read_xattrs(layer_dir), st, true);
    writer.finish();
}

}  // namespace ovf::store
