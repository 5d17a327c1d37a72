#include "docker_fixture.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace ovfd {

namespace {

// Where the Dockerfiles and scripts live: next to this source file (CMake compiles it by its
// absolute path), or $OVF_DOCKER_IMAGES_DIR.
std::string images_dir() {
    if (const char* env = std::getenv("OVF_DOCKER_IMAGES_DIR"); env && *env) return env;
    return (fs::path(__FILE__).parent_path() / "docker-images").string();
}


}  // namespace

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    for (auto& l : split(s, '\n')) {
        if (!trim(l).empty()) out.push_back(l);
    }
    return out;
}

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    size_t e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

void copy_preserving(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"cp", "-a"};
    argv.insert(argv.end(), args.begin(), args.end());
    ovft::RunResult r = ovft::run(argv);
    if (r.exit_code != 0) throw std::runtime_error(r.describe());
}

::testing::AssertionResult one_line(const std::string& err) {
    std::string t = trim(err);
    if (t.empty()) return ::testing::AssertionFailure() << "stderr is empty";
    if (t.find('\n') != std::string::npos) {
        return ::testing::AssertionFailure() << "stderr has several lines:\n" << err;
    }
    return ::testing::AssertionSuccess();
}

const std::vector<TestImage>& test_images() {
    // One entry per Dockerfile in fuse-tests/docker-images/, the imported base and the loaded
    // image (make-loaded.sh); "shared" has exactly the layers of "meta" (a LABEL adds none).
    static const std::vector<TestImage> images = {
        {"base", "ovf-test/base:1"},       {"deletes", "ovf-test/deletes:1"},
        {"replace", "ovf-test/replace:1"}, {"meta", "ovf-test/meta:1"},
        {"names", "ovf-test/names:1"},     {"whfiles", "ovf-test/whfiles:1"},
        {"many", "ovf-test/many:1"},       {"shared", "ovf-test/shared:1"},
        {"loaded", "ovf-test/loaded:1"},
    };
    return images;
}

const std::string& docker_unavailable_reason() {
    static std::once_flag once;
    static std::string reason;
    std::call_once(once, [] {
        if (!ovft::running_as_root()) {
            reason = "the Docker tests need root (kernel overlay, docker export with owners)";
            return;
        }
        ovft::RunResult r = docker({"info", "--format", "{{.Driver}}"}, 60);
        if (r.exit_code != 0) {
            reason = "docker is not usable here (`docker info` failed; CI starts dockerd): " +
                     trim(r.err.empty() ? r.out : r.err);
            return;
        }
        if (trim(r.out) != "overlay2") {
            reason = "dockerd uses the storage driver '" + trim(r.out) +
                     "'; these tests read Docker's overlay2 store";
        }
    });
    return reason;
}

const std::string& ensure_test_images() {
    static std::once_flag once;
    static std::string error;
    std::call_once(once, [] {
        ovft::RunOptions o;
        o.timeout_seconds = 1200;  // first build of all images; cached afterwards
        ovft::RunResult r = ovft::run({"bash", images_dir() + "/build-images.sh"}, o);
        if (r.exit_code != 0) error = r.describe();
    });
    return error;
}

DockerImage docker_image(const std::string& ref) {
    std::string out = must_docker(
        {"image", "inspect", "--format",
         "{{.Id}}\n{{range .RootFS.Layers}}{{.}} {{end}}\n{{.GraphDriver.Data.UpperDir}}\n"
         "{{index .GraphDriver.Data \"LowerDir\"}}",
         ref});
    std::vector<std::string> l = split(out, '\n');
    if (l.size() < 4) throw std::runtime_error("unexpected docker image inspect output: " + out);
    DockerImage img;
    img.id = trim(l[0]);
    for (auto& d : split(trim(l[1]), ' ')) {
        if (!d.empty()) img.diff_ids.push_back(d);
    }
    img.layer_dirs_top_first.push_back(trim(l[2]));
    std::string lower = trim(l[3]);
    if (!lower.empty() && lower != "<no value>") {
        for (auto& d : split(lower, ':')) img.layer_dirs_top_first.push_back(d);
    }
    return img;
}

Container::Container(const std::string& image) {
    // Labelled so that a crashed run's leftovers can be found (`docker ps -a -f label=ovf-test`).
    // The command is never run: a created container's export is the image + init layer.
    id_ = trim(must_docker({"create", "--label", "ovf-test=1", image, "/bin/sh"}));
    if (id_.empty()) throw std::runtime_error("docker create " + image + " printed no id");
}

Container::~Container() {
    docker({"rm", "-f", id_});
}

std::string Container::init_layer_dir() const {
    std::string lower =
        trim(must_docker({"inspect", "--format", "{{index .GraphDriver.Data \"LowerDir\"}}", id_}));
    return split(lower, ':').front();
}

void export_image(const std::string& image, const std::string& dir) {
    fs::create_directories(dir);
    // The image root is always 0755 root:root (LAYOUT.md section 5); the export has no "."
    // entry to carry it, so the extraction directory gets it.
    if (::chown(dir.c_str(), 0, 0) != 0 || ::chmod(dir.c_str(), 0755) != 0) {
        throw std::runtime_error("cannot prepare " + dir);
    }
    std::string tarfile = dir + ".export.tar";
    {
        Container c(image);
        must_docker({"export", "-o", tarfile, c.id()});
    }
    extract_export(tarfile, dir);
}

void extract_export(const std::string& tarfile, const std::string& dir) {
    ovft::RunOptions o;
    o.timeout_seconds = 300;
    // As root GNU tar keeps owners and modes (setuid included) and creates devices and fifos;
    // --xattrs-include='*' restores security.capability, the only xattr docker export carries.
    ovft::RunResult r = ovft::run({"tar", "-x", "--numeric-owner", "--same-owner",
                                   "--same-permissions", "--xattrs", "--xattrs-include=*", "-f",
                                   tarfile, "-C", dir},
                                  o);
    fs::remove(tarfile);
    if (r.exit_code != 0) throw std::runtime_error("extracting the export failed: " + r.describe());
}

Dump tree_dump(const std::string& dir, const std::vector<std::string>& args,
               const std::optional<ovft::TestUser>& user) {
    std::vector<std::string> argv = {ovft::treedump_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(dir);
    ovft::RunOptions o;
    o.as_user = user;
    o.timeout_seconds = 300;
    ovft::RunResult r = ovft::run(argv, o);
    if (r.exit_code != 0) throw std::runtime_error("ovf-treedump failed: " + r.describe());
    Dump d;
    d.raw = r.out;
    for (const std::string& line : split(r.out, '\n')) {
        if (line.empty()) continue;
        if (line.rfind("! ", 0) == 0) {
            d.problems.push_back(line);
            continue;
        }
        // Names and values are escaped by ovf-treedump (no spaces inside a field).
        std::vector<std::string> tok = split(line, ' ');
        auto& fields = d.entries[tok[0]];
        d.order.push_back(tok[0]);
        for (size_t i = 1; i < tok.size(); ++i) {
            size_t eq = tok[i].find('=');
            if (eq == std::string::npos) {
                fields[tok[i]] = "";
            } else {
                fields[tok[i].substr(0, eq)] = tok[i].substr(eq + 1);
            }
        }
    }
    return d;
}

std::vector<std::string> export_dump_args() {
    std::vector<std::string> args = {"--no-nlink", "--skip-xattr", "user."};
    for (const auto& p : kInitLayerPaths) {
        args.push_back("--exclude");
        args.push_back(p);
    }
    return args;
}

std::vector<std::string> compare_dumps(const Dump& a, const std::string& a_name, const Dump& b,
                                       const std::string& b_name,
                                       const std::set<std::string>& ignore_mtime) {
    std::vector<std::string> diffs;
    std::set<std::string> paths;
    for (const auto& [p, _] : a.entries) paths.insert(p);
    for (const auto& [p, _] : b.entries) paths.insert(p);
    for (const std::string& p : paths) {
        auto ia = a.entries.find(p);
        auto ib = b.entries.find(p);
        if (ib == b.entries.end()) {
            diffs.push_back("only in " + a_name + ": " + p);
            continue;
        }
        if (ia == a.entries.end()) {
            diffs.push_back("only in " + b_name + ": " + p);
            continue;
        }
        std::set<std::string> keys;
        for (const auto& [k, _] : ia->second) keys.insert(k);
        for (const auto& [k, _] : ib->second) keys.insert(k);
        for (const std::string& k : keys) {
            if (k == "mtime" && ignore_mtime.count(p)) continue;
            auto va = ia->second.find(k);
            auto vb = ib->second.find(k);
            std::string sa = va == ia->second.end() ? "(none)" : va->second;
            std::string sb = vb == ib->second.end() ? "(none)" : vb->second;
            if (sa != sb) {
                diffs.push_back(p + ": " + k + " " + a_name + "=" + sa + " " + b_name + "=" + sb);
            }
        }
    }
    std::set<std::string> pa(a.problems.begin(), a.problems.end());
    std::set<std::string> pb(b.problems.begin(), b.problems.end());
    for (const auto& p : pa) {
        if (!pb.count(p)) diffs.push_back("problem only in " + a_name + ": " + p);
    }
    for (const auto& p : pb) {
        if (!pa.count(p)) diffs.push_back("problem only in " + b_name + ": " + p);
    }
    return diffs;
}

std::string describe_differences(const std::vector<std::string>& diffs, const Dump& a,
                                 const Dump& b, const std::string& artifact_stem, size_t limit) {
    std::ostringstream s;
    s << diffs.size() << " difference(s):\n";
    for (size_t i = 0; i < diffs.size() && i < limit; ++i) s << "  " << diffs[i] << "\n";
    if (diffs.size() > limit) s << "  ... (" << diffs.size() - limit << " more)\n";
    try {
        std::string fa = ovft::artifact_path(artifact_stem + ".a.dump");
        std::string fb = ovft::artifact_path(artifact_stem + ".b.dump");
        ovft::write_file(fa, a.raw);
        ovft::write_file(fb, b.raw);
        s << "full dumps: " << fa << " " << fb << "\n";
    } catch (const std::exception& e) {
        s << "(could not save the dumps: " << e.what() << ")\n";
    }
    return s.str();
}

std::vector<std::string> root_args() {
    static std::once_flag once;
    static std::vector<std::string> args;
    std::call_once(once, [] {
        ovft::RunResult r = docker({"info", "--format", "{{.DockerRootDir}}"}, 60);
        std::string root = trim(r.out);
        if (r.exit_code == 0 && !root.empty() && root != "/var/lib/docker") {
            args = {"--root", root};
        }
    });
    return args;
}

std::string docker_root() {
    auto args = root_args();
    return args.empty() ? "/var/lib/docker" : args[1];
}

ovft::RunResult overlayfuse(const std::vector<std::string>& args,
                            const std::optional<ovft::TestUser>& user) {
    std::vector<std::string> argv = {ovft::overlayfuse_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    ovft::RunOptions o;
    o.as_user = user;
    o.timeout_seconds = 120;
    return ovft::run(argv, o);
}

ovft::RunResult docker(const std::vector<std::string>& args, int timeout) {
    std::vector<std::string> argv = {"docker"};
    argv.insert(argv.end(), args.begin(), args.end());
    ovft::RunOptions o;
    o.timeout_seconds = timeout;
    return ovft::run(argv, o);
}

std::string must_docker(const std::vector<std::string>& args) {
    ovft::RunResult r = docker(args);
    if (r.exit_code != 0) throw std::runtime_error(r.describe());
    return r.out;
}

}  // namespace ovfd
