// `overlayfuse mount`: image reference or --lower list -> layer directories -> merge engine ->
// FUSE session. The parent returns once the view is mounted; a child serves it.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include <cstdio>
#include <string>
#include <vector>

#include "overlayfuse/cli/commands.hpp"
#include "overlayfuse/cli/mount_table.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/fuse/session.hpp"
#include "overlayfuse/merge/engine.hpp"
#include "overlayfuse/store/docker_store.hpp"
#include "overlayfuse/store/reference.hpp"
#include "overlayfuse/sys.hpp"
#include "overlayfuse/unique_fd.hpp"

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

namespace ovf::cli {

namespace {

const char kMountUsage[] =
    "usage: overlayfuse mount [--root DIR] [-o OPTS] [-f] [WRITABLE] IMAGE MNT\n"
    "       overlayfuse mount [-o OPTS] [-f] [WRITABLE] --lower TOP:...:BOTTOM MNT\n"
    "\n"
    "Mounts an image of a Docker overlay2 store, or plain layer directories, on MNT;\n"
    "read-only unless WRITABLE is given:\n"
    "  --upper DIR     keep changes in DIR, in the kernel overlay's format\n"
    "  --work DIR      work directory on DIR's filesystem (default: .NAME.work beside DIR)\n"
    "  --writable      changes go to a temporary upper, removed at unmount\n"
    "\n"
    "  --root DIR      the store's data root (default: data-root of /etc/docker/daemon.json,\n"
    "                  ~/.local/share/docker for a user who has it, else /var/lib/docker)\n"
    "  --lower LIST    layer directories separated by ':', topmost first (as overlayfs'\n"
    "                  lowerdir=); '\\:' stands for a ':' inside a name\n"
    "  -f              stay in the foreground\n"
    "  -d              foreground with libfuse's request trace\n"
    "  -o OPTS         comma-separated options:\n"
    "      userxattr       the layers mark opaque dirs with user.overlay.* only (rootless\n"
    "                      stores); trusted.overlay.* is then ignored, as by the kernel\n"
    "      allow_other     let other users in (default when mounted by root)\n"
    "      timeout=SECS    how long the kernel may cache entries and attributes (86400)\n"
    "      max_threads=N   request threads at most (10)\n"
    "      spin=USEC       after an answer, look for the next request this long before\n"
    "                      sleeping (50; 0: never; off with one CPU): saves a wake-up\n"
    "                      per request of a sequential caller, costs idle CPU time\n"
    "      data=MODE       how a read-only view serves file data (docs/data-path.md):\n"
    "                      cache (default): no round trip per open, the kernel keeps pages;\n"
    "                      passthrough: the kernel reads the layer files (root, libfuse\n"
    "                      >= 3.17); daemon: every open and read goes through the daemon\n"
    "      redirect_dir=on rename directories of lower layers in place (overlay.redirect),\n"
    "                      as the kernel does with redirect_dir=on; default off: EXDEV\n"
    "      other options are passed to libfuse (see mount.fuse3(8))\n";

struct MountArgs {
    std::string root;
    std::string lower;
    std::string image;
    std::string mnt;
    std::string upper;
    std::string work;
    bool writable_temp = false;
    bool redirect_dir = false;
    bool foreground = false;
    bool debug = false;
    bool userxattr = false;
    fuse::FuseOptions fuse;
    bool allow_other_given = false;
};

std::vector<std::string> split(const std::string& s, char sep, bool backslash_escapes) {
    std::vector<std::string> out(1);
    for (size_t i = 0; i < s.size(); ++i) {
        if (backslash_escapes && s[i] == '\\' && i + 1 < s.size()) {
            out.back().push_back(s[++i]);
        } else if (s[i] == sep) {
            out.emplace_back();
        } else {
            out.back().push_back(s[i]);
        }
    }
    return out;
}

// The value of "-o NAME=VALUE" as a whole number in [MIN, MAX]; anything else (a sign, a
// unit, trailing text, out of range) is a usage error naming the option.
unsigned whole_number(const std::string& o, unsigned min, unsigned max, const char* unit) {
    auto eq = o.find('=');
    std::string v = o.substr(eq + 1);
    unsigned long n = 0;
    size_t used = 0;
    bool digits = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    try {
        if (digits) n = std::stoul(v, &used);
    } catch (const std::out_of_range&) {
        digits = false;
    }
    if (!digits || used != v.size() || n < min || n > max)
        throw UserError("-o " + o.substr(0, eq) + ": '" + v + "' is not a number of " + unit + " from " +
                            std::to_string(min) + " to " + std::to_string(max),
                        2);
    return static_cast<unsigned>(n);
}

// The value of "-o timeout=SECS": a non-negative number of seconds, fractions allowed.
double seconds(const std::string& o) {
    std::string v = o.substr(o.find('=') + 1);
    size_t used = 0;
    double d = -1;
    try {
        d = std::stod(v, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (v.empty() || used != v.size() || !(d >= 0) || d > 1e9)
        throw UserError("-o timeout: '" + v + "' is not a number of seconds from 0 to 1e9", 2);
    return d;
}

void parse_o(MountArgs& a, const std::string& opts) {
    for (const auto& o : split(opts, ',', false)) {
        if (o.empty()) continue;
        if (o == "userxattr") {
            a.userxattr = true;
        } else if (o == "allow_other") {
            a.fuse.allow_other = true;
            a.allow_other_given = true;
        } else if (o == "debug") {
            a.debug = true;
        } else if (o.rfind("timeout=", 0) == 0) {
            a.fuse.cache_timeout = seconds(o);
        } else if (o.rfind("max_threads=", 0) == 0) {
            a.fuse.max_threads = whole_number(o, 1, 1024, "threads");
        } else if (o.rfind("spin=", 0) == 0) {
            a.fuse.spin_us = whole_number(o, 0, 1'000'000, "microseconds");
        } else if (o == "data=cache" || o == "data=passthrough" || o == "data=daemon") {
            a.fuse.data = o == "data=cache"         ? fuse::FuseOptions::DataPath::Cache
                          : o == "data=passthrough" ? fuse::FuseOptions::DataPath::Passthrough
                                                    : fuse::FuseOptions::DataPath::Daemon;
        } else if (o == "passthrough=on" || o == "passthrough=off") {  // before data=
            a.fuse.data = o == "passthrough=on" ? fuse::FuseOptions::DataPath::Passthrough
                                                : fuse::FuseOptions::DataPath::Daemon;
        } else if (o == "redirect_dir=on" || o == "redirect_dir=off") {
            a.redirect_dir = o == "redirect_dir=on";
        } else if (o == "ro") {
            // always read-only
        } else {
            a.fuse.fuse_args.push_back(o);
        }
    }
}

MountArgs parse(const std::vector<std::string>& args) {
    MountArgs a;
    std::vector<std::string> pos;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& s = args[i];
        auto value = [&](const char* opt) -> std::string {
            if (i + 1 >= args.size()) throw UserError(std::string(opt) + " needs a value", 2);
            return args[++i];
        };
        if (s == "--root") {
            a.root = value("--root");
        } else if (s.rfind("--root=", 0) == 0) {
            a.root = s.substr(7);
        } else if (s == "--lower" || s == "--lowers") {
            a.lower = value("--lower");
        } else if (s.rfind("--lower=", 0) == 0) {
            a.lower = s.substr(8);
        } else if (s == "--upper") {
            a.upper = value("--upper");
        } else if (s == "--work") {
            a.work = value("--work");
        } else if (s == "--writable") {
            a.writable_temp = true;
        } else if (s == "-o") {
            parse_o(a, value("-o"));
        } else if (s.rfind("-o", 0) == 0 && s.size() > 2) {
            parse_o(a, s.substr(2));
        } else if (s == "-f" || s == "--foreground") {
            a.foreground = true;
        } else if (s == "-d" || s == "--debug") {
            a.debug = true;
        } else if (!s.empty() && s[0] == '-' && s != "-") {
            throw UserError("mount: unknown option '" + s + "'", 2);
        } else {
            pos.push_back(s);
        }
    }
    if (!a.lower.empty()) {
        if (pos.size() != 1) throw UserError("mount --lower takes one mount point", 2);
        if (!a.root.empty()) throw UserError("mount: --root and --lower exclude each other", 2);
        a.mnt = pos[0];
    } else {
        if (pos.size() != 2) throw UserError("mount needs IMAGE and MNT (see 'overlayfuse mount --help')", 2);
        a.image = pos[0];
        a.mnt = pos[1];
    }
    if (a.debug) a.foreground = true;
    a.fuse.debug = a.debug;
    if (a.writable_temp && !a.upper.empty()) throw UserError("mount: --writable and --upper exclude each other", 2);
    if (!a.work.empty() && a.upper.empty()) throw UserError("mount: --work needs --upper", 2);
    return a;
}

std::string short_id(const std::string& id) {
    auto colon = id.find(':');
    return id.substr(colon == std::string::npos ? 0 : colon + 1, 12);
}

// The layers of an image, topmost first. Without CAP_SYS_ADMIN the opaque markers come from
// each layer's tar headers; a layer without them could be merged wrongly, so refuse.
std::vector<merge::LayerSource> image_layers(const MountArgs& a, const store::ImageInfo& img,
                                             const std::string& what, bool privileged) {
    std::vector<merge::LayerSource> out;
    size_t n = img.layers.size();
    for (size_t i = n; i-- > 0;) {
        const auto& l = img.layers[i];
        merge::LayerSource src;
        src.path = l.diff_dir.string();
        src.label = "layer " + std::to_string(i + 1) + "/" + std::to_string(n) + " (" +
                    short_id(l.diff_id) + ") of " + what;
        if (!privileged) {
            auto markers = store::DockerStore::read_markers(l);
            if (!markers && !a.userxattr) {
                throw UserError(
                    "cannot mount " + a.image + " as an unprivileged user: " + src.label +
                    " has no " + l.tar_split.string() +
                    ", and its trusted.overlay.opaque markers are readable only with "
                    "CAP_SYS_ADMIN, so opaque directories would be lost (mount as root, or "
                    "pass -o userxattr for a rootless store)");
            }
            if (markers) src.markers = std::make_shared<const LayerMarkers>(std::move(*markers));
        }
        out.push_back(std::move(src));
    }
    return out;
}

// A container: its own layer and its init layer (both written by the kernel overlay, in its
// upper format), then its image's layers.
std::vector<merge::LayerSource> container_layers(const MountArgs& a, const store::ContainerInfo& c,
                                                 bool privileged) {
    std::string what = "container " + c.name + " (" + c.id.substr(0, 12) + ")";
    if (!privileged && !a.userxattr) {
        throw UserError("cannot mount " + what + " as an unprivileged user: its own layer marks "
                        "opaque directories with trusted.overlay.opaque, readable only with "
                        "CAP_SYS_ADMIN (mount as root, or pass -o userxattr for a rootless store)");
    }
    std::vector<merge::LayerSource> out;
    out.push_back({c.rw_diff_dir.string(), "the own layer of " + what, nullptr, true});
    // Docker itself cannot mount a container whose init layer is gone; neither do we, rather
    // than show the image's /etc/hosts where the container has its own.
    out.push_back({c.init_diff_dir.string(), "the init layer of " + what, nullptr, true});
    for (auto& l : image_layers(a, c.image, what, privileged)) out.push_back(std::move(l));
    return out;
}

// IMAGE names an image or, failing that, a container (by name or id prefix).
std::vector<merge::LayerSource> store_layers(const MountArgs& a, bool privileged) {
    store::DockerStore st(a.root.empty() ? store::DockerStore::default_root()
                                         : std::filesystem::path(a.root));
    bool reference = true;
    try {
        store::parse_reference(a.image);
    } catch (const UserError&) {
        reference = false;  // "My_Container" is a valid container name, not an image name
    }
    if (reference) {
        try {
            return image_layers(a, st.resolve_image(a.image), a.image, privileged);
        } catch (const store::NoSuchImage&) {
        }
    }
    if (auto c = st.find_container(a.image)) return container_layers(a, *c, privileged);
    throw UserError("no such image or container '" + a.image + "' in " + st.root().string());
}

std::vector<merge::LayerSource> plain_layers(const MountArgs& a, bool privileged) {
    if (!privileged && !a.userxattr) {
        throw UserError(
            "as an unprivileged user overlayfuse cannot read trusted.overlay.* markers in "
            "--lower directories, so opaque directories could be lost; pass -o userxattr if "
            "the layers use user.overlay.* markers only, or mount as root");
    }
    std::vector<merge::LayerSource> out;
    for (const auto& dir : split(a.lower, ':', true)) {
        if (dir.empty()) throw UserError("--lower has an empty layer name in '" + a.lower + "'", 2);
        out.push_back({dir, "layer directory " + dir, nullptr});
    }
    return out;
}

// PATH with every symlink and ".." resolved, which must be a directory. The kernel's own name
// for an open descriptor is one readlink; realpath(3) costs one per path component.
std::string canonical(const std::string& path, const char* what) {
    UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOTDIR) throw UserError(std::string(what) + " " + path + " is not a directory");
        throw UserError(std::string(what) + " " + path + ": " + errno_text(errno));
    }
    std::string name = sys::resolved_dir_name(fd.get(), path);
    if (name.empty()) throw UserError(std::string(what) + " " + path + ": " + errno_text(errno));
    return name;
}

bool inside(const std::string& a, const std::string& b) {  // A is B or below it
    return a == b || (a.size() > b.size() && a.compare(0, b.size(), b) == 0 && a[b.size()] == '/');
}

// A temporary upper for --writable: removed by the daemon when the view goes away.
class TempUpper {
public:
    TempUpper() {
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp && *tmp ? tmp : "/var/tmp") + "/overlayfuse.XXXXXX";
        if (!::mkdtemp(tmpl.data())) throw UserError("cannot create a temporary upper in " + tmpl + ": " + errno_text(errno));
        dir_ = tmpl;
        ::mkdir((dir_ + "/upper").c_str(), 0755);
        ::mkdir((dir_ + "/work").c_str(), 0700);
    }
    ~TempUpper() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::string upper() const { return dir_ + "/upper"; }
    std::string work() const { return dir_ + "/work"; }

private:
    std::string dir_;
};

// The upper and work directories, checked before anything is mounted.
merge::UpperSource upper_source(const MountArgs& a, const std::vector<merge::LayerSource>& lowers,
                                bool privileged) {
    merge::UpperSource u;
    u.upper = canonical(a.upper, "upper directory");
    std::string work = a.work;
    if (work.empty()) {
        auto p = std::filesystem::path(u.upper);
        work = (p.parent_path() / ("." + p.filename().string() + ".work")).string();
        if (::mkdir(work.c_str(), 0700) != 0 && errno != EEXIST)
            throw UserError("cannot create work directory " + work + " (pass --work DIR): " + errno_text(errno));
    }
    u.work = canonical(work, "work directory");
    if (inside(u.upper, u.work) || inside(u.work, u.upper))
        throw UserError("upper directory " + u.upper + " and work directory " + u.work + " must not contain each other");
    // Overlaps with the layers are the engine's check: it names them through the descriptors
    // it opens anyway, one readlink per layer.
    u.user_xattrs = !privileged || a.userxattr;
    u.redirect_dir = a.redirect_dir;
    return u;
}

void raise_fd_limit() {
    // One O_PATH descriptor per node the kernel holds, as passthrough_hp does: a tree of
    // 50,000 entries needs that many. Root may go up to the kernel's fs.nr_open; others to
    // their hard limit.
    struct rlimit rl;
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if (::geteuid() == 0) {
        std::ifstream in("/proc/sys/fs/nr_open");
        rlim_t nr_open = 0;
        if (in >> nr_open && nr_open > rl.rlim_max) {
            struct rlimit want{nr_open, nr_open};
            if (::setrlimit(RLIMIT_NOFILE, &want) == 0) return;
        }
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

std::string fsname_for(const std::string& name) {
    // fsname travels inside the mount options: no commas, spaces or backslashes.
    for (char c : name)
        if (c == ',' || c == ' ' || c == '\\' || c == '\t' || c == '\n') return "overlayfuse";
    return name.empty() ? "overlayfuse" : name;
}

int mount_main(const std::vector<std::string>& args) {
    for (const auto& s : args) {
        if (s == "-h" || s == "--help") {
            std::fputs(kMountUsage, stdout);
            return 0;
        }
    }
    MountArgs a = parse(args);
    std::string mnt = check_mount_point(a.mnt);
    bool privileged = has_cap_sys_admin();
    auto layers = a.lower.empty() ? store_layers(a, privileged) : plain_layers(a, privileged);

    merge::MarkerFormats formats;
    formats.trusted_xattrs = privileged && !a.userxattr;
    std::optional<TempUpper> temp;
    if (a.writable_temp) {
        temp.emplace();
        a.upper = temp->upper();
        a.work = temp->work();
    }
    std::optional<merge::UpperSource> upper;
    if (!a.upper.empty()) upper = upper_source(a, layers, privileged);
    raise_fd_limit();
    merge::Engine engine(std::move(layers), formats, upper);

    if (!a.allow_other_given) a.fuse.allow_other = ::geteuid() == 0;
    a.fuse.fsname = fsname_for(a.lower.empty() ? a.image : "overlayfuse");
    fuse::FuseSession session(engine, a.fuse);
    session.mount(mnt);
    if (!a.foreground && fuse_daemonize(0) != 0) throw UserError("cannot start the daemon for " + mnt);
    return session.serve() == 0 ? 0 : 1;
}

}  // namespace

int run_mount(const std::vector<std::string>& args) { return mount_main(args); }

}  // namespace ovf::cli
