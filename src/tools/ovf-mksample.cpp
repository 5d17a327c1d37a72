// ovf-mksample ROOT: builds a small Docker overlay2 store without Docker, for a first mount.
//
//   sample/base:1.0    layer 0  a base tree: /bin (a script, a hard link to it, a symlink),
//                               /etc, /usr/share/doc, /var/lib/data, /tmp
//                      layer 1  deletes /etc/motd and replaces /usr/share/doc with an opaque
//                               directory holding new files
//                      layer 2  replaces the directory /var/lib/data with a file
//   sample/app:latest  the same three layers (shared, not copied) plus /app and a new
//                      /etc/hostname
//
// As root the layers hold markers as Docker writes them (whiteout = character device 0/0,
// opaque = trusted.overlay.opaque). An ordinary user can create neither, so then a whiteout
// is an empty file ".wh.NAME" and an opaque directory holds an empty ".wh..wh..opq" file;
// the layer tars and tar-split files are the same either way. All times are fixed, so the
// image ids depend only on file owners and the form of the markers.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "overlayfuse/error.hpp"
#include "overlayfuse/store/display.hpp"
#include "overlayfuse/store/store_builder.hpp"

namespace fs = std::filesystem;
using ovf::UserError;
using ovf::store::MarkerForm;

namespace {

constexpr const char* kUsage =
    "usage: ovf-mksample [--markers kernel|files] [--deep N] ROOT\n"
    "\n"
    "Builds a Docker overlay2 store with the images sample/base:1.0 and sample/app:latest\n"
    "under ROOT (created if missing; an existing store there is extended), without Docker.\n"
    "\n"
    "  --markers kernel   whiteouts as char devices 0/0, opaque dirs as trusted.overlay.opaque\n"
    "                     (needs root; the default for root)\n"
    "  --markers files    whiteouts as .wh.NAME files, opaque dirs as .wh..wh..opq files\n"
    "                     (the default for other users)\n"
    "  --deep N           also build sample/deep:latest, an image of N layers (1-1000), for\n"
    "                     mount-time measurements (bench/mount-image.sh)\n";

constexpr time_t kSampleTime = 1704067200;  // 2024-01-01T00:00:00Z
constexpr const char* kSampleCreated = "2024-01-01T00:00:00Z";
constexpr const char* kAppCreated = "2024-01-02T00:00:00Z";

// Owns a scratch directory for the layer sources and removes it on every path out.
class ScratchDir {
public:
    ScratchDir() {
        std::string tmpl = (fs::temp_directory_path() / "ovf-mksample-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw UserError("mkdtemp: " + ovf::errno_text(errno));
        path_ = tmpl;
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Writes layer source trees; every entry gets the sample's fixed mtime once complete.
class LayerWriter {
public:
    LayerWriter(fs::path root, bool kernel_markers) : root_(std::move(root)), kernel_(kernel_markers) {
        fs::create_directories(root_);
    }

    void dir(const std::string& rel, mode_t mode = 0755) {
        fs::create_directories(root_ / rel);
        ::chmod((root_ / rel).c_str(), mode);
        touched_.push_back(rel);
    }
    void file(const std::string& rel, const std::string& content, mode_t mode = 0644) {
        parent(rel);
        std::ofstream(root_ / rel, std::ios::binary) << content;
        ::chmod((root_ / rel).c_str(), mode);
        touched_.push_back(rel);
    }
    void symlink(const std::string& rel, const std::string& target) {
        parent(rel);
        fs::create_symlink(target, root_ / rel);
        touched_.push_back(rel);
    }
    void hardlink(const std::string& rel, const std::string& existing) {
        parent(rel);
        fs::create_hard_link(root_ / existing, root_ / rel);
    }
    void whiteout(const std::string& rel) {
        parent(rel);
        fs::path p = root_ / rel;
        if (kernel_) {
            if (::mknod(p.c_str(), S_IFCHR, 0) != 0) throw UserError(p.string() + ": mknod: " + ovf::errno_text(errno));
        } else {
            std::ofstream(p.parent_path() / (".wh." + p.filename().string()));
            p = p.parent_path() / (".wh." + p.filename().string());
        }
        touched_.push_back(fs::relative(p, root_).string());
    }
    void opaque_dir(const std::string& rel) {
        dir(rel);
        fs::path p = root_ / rel;
        if (kernel_) {
            if (::lsetxattr(p.c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0)
                throw UserError(p.string() + ": set trusted.overlay.opaque: " + ovf::errno_text(errno));
        } else {
            file(rel + "/.wh..wh..opq", "", 0644);
        }
    }
    // Fixed times, deepest entries first so a directory's own time is set last.
    void finish() {
        struct timespec ts[2] = {{kSampleTime, 0}, {kSampleTime, 0}};
        for (auto it = touched_.rbegin(); it != touched_.rend(); ++it)
            ::utimensat(AT_FDCWD, (root_ / *it).c_str(), ts, AT_SYMLINK_NOFOLLOW);
        std::vector<fs::path> dirs;
        for (const auto& e : fs::recursive_directory_iterator(root_))
            if (e.is_directory() && !e.is_symlink()) dirs.push_back(e.path());
        for (auto it = dirs.rbegin(); it != dirs.rend(); ++it)
            ::utimensat(AT_FDCWD, it->c_str(), ts, AT_SYMLINK_NOFOLLOW);
        ::utimensat(AT_FDCWD, root_.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    }
    const fs::path& root() const { return root_; }

private:
    void parent(const std::string& rel) {
        fs::path p = fs::path(rel).parent_path();
        if (!p.empty() && !fs::exists(root_ / p)) dir(p.string());
    }
    fs::path root_;
    bool kernel_;
    std::vector<std::string> touched_;
};

fs::path base_layer(const fs::path& scratch, bool kernel) {
    LayerWriter l(scratch / "layer0-base", kernel);
    l.dir("bin");
    l.file("bin/hello", "#!/bin/sh\necho \"hello from the overlayfuse sample image\"\n", 0755);
    l.hardlink("bin/hello-again", "bin/hello");
    l.symlink("bin/greet", "hello");
    l.dir("etc");
    l.file("etc/os-release",
           "NAME=\"overlayfuse sample\"\nID=ovf-sample\nVERSION_ID=1.0\n");
    l.file("etc/motd", "This file is deleted by layer 1: you should not see it.\n");
    l.file("etc/hostname", "sample\n");
    l.dir("usr/share/doc");
    l.file("usr/share/doc/README", "Documentation from layer 0: hidden by layer 1's opaque directory.\n");
    l.file("usr/share/doc/old-guide.txt", "An old guide (layer 0, hidden).\n");
    l.file("usr/share/doc/manual/intro.txt", "An old manual (layer 0, hidden).\n");
    l.dir("var/lib/data");
    l.file("var/lib/data/records.txt", "records (layer 0; the directory becomes a file in layer 2)\n");
    l.file("var/lib/data/cache/entry", "cache entry (layer 0)\n");
    l.dir("tmp", 01777);
    l.finish();
    return l.root();
}

fs::path delete_layer(const fs::path& scratch, bool kernel) {
    LayerWriter l(scratch / "layer1-delete-opaque", kernel);
    l.dir("etc");
    l.whiteout("etc/motd");
    l.opaque_dir("usr/share/doc");
    l.file("usr/share/doc/README", "Documentation from layer 1: the directory is opaque, so the\n"
                                   "old guide and manual of layer 0 are gone.\n");
    l.file("usr/share/doc/CHANGES", "1.0: first sample\n");
    l.finish();
    return l.root();
}

fs::path replace_layer(const fs::path& scratch, bool kernel) {
    LayerWriter l(scratch / "layer2-dir-to-file", kernel);
    l.dir("var/lib");
    l.file("var/lib/data", "/var/lib/data was a directory in layer 0; layer 2 made it a file.\n");
    l.finish();
    return l.root();
}

fs::path app_layer(const fs::path& scratch, bool kernel) {
    LayerWriter l(scratch / "layer3-app", kernel);
    l.file("app/run.sh", "#!/bin/sh\nexec /bin/hello\n", 0755);
    l.file("app/config.json", "{\"greeting\": \"hello\"}\n");
    l.file("etc/hostname", "sample-app\n");
    l.finish();
    return l.root();
}

// Layer I of the deep image: its own directory and file, a new copy of one shared file, and
// every tenth layer deletes what the layer before it added.
fs::path deep_layer(const fs::path& scratch, bool kernel, int i) {
    LayerWriter l(scratch / ("deep-" + std::to_string(i)), kernel);
    std::string n = std::to_string(i);
    l.dir("etc/deep");
    l.file("etc/deep/version", n + "\n");
    l.file("usr/lib/deep/l" + n + "/data", "layer " + n + "\n");
    if (i % 10 == 0 && i > 0) l.whiteout("usr/lib/deep/l" + std::to_string(i - 1));
    l.finish();
    return l.root();
}

int usage_error(const char* msg) {
    std::fprintf(stderr, "ovf-mksample: %s\n%s", msg, kUsage);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    MarkerForm form = MarkerForm::automatic;
    std::string root_arg;
    int deep = 0;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--markers" || a.rfind("--markers=", 0) == 0) {
            std::string v = a == "--markers" ? (i + 1 < argc ? argv[++i] : "") : a.substr(10);
            if (v == "kernel") form = MarkerForm::kernel;
            else if (v == "files") form = MarkerForm::aufs_files;
            else return usage_error("--markers takes 'kernel' or 'files'");
        } else if (a == "--deep") {
            deep = i + 1 < argc ? std::atoi(argv[++i]) : 0;
            if (deep < 1 || deep > 1000) return usage_error("--deep takes a number of layers, 1 to 1000");
        } else if (!a.empty() && a[0] == '-') {
            return usage_error(("unknown option " + a).c_str());
        } else if (!root_arg.empty()) {
            return usage_error("only one ROOT");
        } else {
            root_arg = a;
        }
    }
    if (root_arg.empty()) return usage_error("missing ROOT");

    try {
        fs::path root = fs::absolute(root_arg);
        std::error_code ec;
        // Never scribble over a directory that is something else.
        if (fs::exists(root, ec) && !fs::is_empty(root, ec) &&
            !fs::is_directory(root / "image" / "overlay2", ec))
            throw UserError(root.string() + " exists and is not an overlay2 store; choose an empty or new directory");

        ovf::store::StoreBuilder builder(root, {form, {}});
        bool kernel = builder.marker_form() == MarkerForm::kernel;
        ScratchDir scratch;
        fs::path l0 = base_layer(scratch.path(), kernel);
        fs::path l1 = delete_layer(scratch.path(), kernel);
        fs::path l2 = replace_layer(scratch.path(), kernel);
        fs::path l3 = app_layer(scratch.path(), kernel);

        ovf::store::ImageSpec base;
        base.layers = {l0, l1, l2};
        base.references = {"sample/base:1.0"};
        base.created = kSampleCreated;
        base.created_by = {"ADD base tree /", "RUN rm /etc/motd && rm -r /usr/share/doc && (new docs)",
                           "RUN rm -r /var/lib/data && echo ... > /var/lib/data"};
        auto built_base = builder.add_image(base);

        ovf::store::ImageSpec app;
        app.layers = {l0, l1, l2, l3};
        app.references = {"sample/app:latest"};
        app.created = kAppCreated;
        app.created_by = {base.created_by[0], base.created_by[1], base.created_by[2], "COPY app /app"};
        app.parent_id = built_base.id;
        auto built_app = builder.add_image(app);

        std::printf("Built a Docker overlay2 store in %s\n", root.c_str());
        std::printf("Markers in layer directories: %s\n\n",
                    kernel ? "kernel form (char 0/0 whiteouts, trusted.overlay.opaque)"
                           : "file form (.wh.NAME whiteouts, .wh..wh..opq opaque markers)");
        auto show = [](const char* name, const ovf::store::BuiltImage& im) {
            std::printf("%s  %s\n", name, im.id.c_str());
            for (size_t i = 0; i < im.layers.size(); ++i) {
                const auto& l = im.layers[i];
                std::printf("  layer %zu  diff %s  cache %s  %s%s\n", i,
                            ovf::store::short_id(l.diff_id).c_str(), l.cache_id.substr(0, 12).c_str(),
                            ovf::store::human_size(l.size).c_str(), l.reused ? "  (shared)" : "");
            }
        };
        show("sample/base:1.0  ", built_base);
        show("sample/app:latest", built_app);
        if (deep > 0) {
            ovf::store::ImageSpec d;
            for (int i = 0; i < deep; ++i) d.layers.push_back(deep_layer(scratch.path(), kernel, i));
            d.references = {"sample/deep:latest"};
            d.created = kAppCreated;
            auto built = builder.add_image(d);
            std::printf("sample/deep:latest  %s  (%d layers)\n", built.id.c_str(), deep);
        }
        for (const auto& n : builder.notes()) std::printf("note: %s\n", n.c_str());
        std::printf("\nTry:\n  overlayfuse images --root %s\n  overlayfuse inspect --root %s sample/base:1.0\n"
                    "  overlayfuse mount --root %s sample/app:latest MNT\n",
                    root.c_str(), root.c_str(), root.c_str());
        return 0;
    } catch (const UserError& e) {
        std::fprintf(stderr, "ovf-mksample: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ovf-mksample: %s\n", e.what());
        return 1;
    }
}
