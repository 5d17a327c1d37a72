#include "support/layer_generator.hpp"

#include <map>
#include <vector>

#include "support/rng.hpp"

namespace ovft {

namespace {

std::string parent_of(const std::string& p) {
    auto slash = p.rfind('/');
    return slash == std::string::npos ? "" : p.substr(0, slash);
}

std::string join(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }

// A valid VFS_CAP_REVISION_2 security.capability value (the kernel rejects malformed ones):
// magic|effective flag, then permitted/inheritable words for caps 0-31 and 32-63.
std::string capability_blob(uint32_t permitted) {
    uint32_t words[5] = {0x02000000u | 1u, permitted, 0, 0, 0};
    return std::string(reinterpret_cast<const char*>(words), sizeof words);
}

class StackGenerator {
public:
    StackGenerator(uint64_t seed, const GeneratorParams& params) : rng_(seed), p_(params) { stack_.seed = seed; }

    LayerStack run() {
        int n = rng_.between(p_.min_layers, p_.max_layers);
        for (int i = 0; i < n; ++i) generate_layer();
        return std::move(stack_);
    }

private:
    Rng rng_;
    GeneratorParams p_;
    LayerStack stack_;
    // Every path some lower layer created (whiteouts excluded) with the kind it had there. Paths
    // stay known after being deleted, so that later layers re-create them over the whiteout.
    std::map<std::string, Kind> known_;
    int big_files_left_ = 1;
    bool deep_done_ = false;
    int name_counter_ = 0;

    // --- attributes --------------------------------------------------------------------------

    struct timespec random_time() {
        struct timespec t;
        t.tv_sec = 1000000000 + static_cast<time_t>(rng_.below(1000000000));
        t.tv_nsec = rng_.chance(50) ? static_cast<long>(rng_.below(1000000000)) : 0;
        return t;
    }

    mode_t file_mode() {
        static const std::vector<mode_t> odd = {0644, 0644, 0644, 0755, 0755, 0600, 0000, 0777, 04755,
                                                02755, 06755, 01644, 0444, 04000, 0640};
        return p_.odd_modes ? rng_.pick(odd) : 0644;
    }

    mode_t dir_mode() {
        static const std::vector<mode_t> odd = {0755, 0755, 0755, 0755, 0700, 0777, 01777, 02755, 0555, 0750, 0000};
        return p_.odd_modes ? rng_.pick(odd) : 0755;
    }

    uint32_t owner_id() {
        static const std::vector<uint32_t> ids = {0, 0, 0, 0, 1000, 1234, 65534, 4294967294u};
        return p_.odd_owners ? rng_.pick(ids) : 0;
    }

    std::string random_bytes(size_t n, bool binary) {
        std::string s(n, '\0');
        for (auto& c : s) c = binary ? static_cast<char>(rng_.below(256)) : static_cast<char>('a' + rng_.below(26));
        return s;
    }

    std::string file_content() {
        if (p_.big_files && big_files_left_ > 0 && rng_.chance(3)) {
            --big_files_left_;
            return random_bytes((1u << 20) + rng_.below(512 * 1024), true);  // > 1 MiB
        }
        int r = static_cast<int>(rng_.below(100));
        size_t size = r < 20 ? 0 : r < 65 ? rng_.between(1, 100) : r < 85 ? rng_.between(100, 5000)
                                                                          : rng_.between(5000, 200000);
        return random_bytes(size, rng_.chance(30));
    }

    void add_xattrs(Entry& e) {
        if (!p_.xattrs || (e.kind != Kind::File && e.kind != Kind::Dir)) return;
        if (rng_.chance(25)) {
            static const std::vector<std::string> names = {"user.a", "user.mime_type", "user.bin", "user.empty",
                                                           "user." + std::string(200, 'x'), "user.ü"};
            int n = rng_.between(1, 3);
            for (int i = 0; i < n; ++i) {
                std::string name = rng_.pick(names);
                bool dup = false;
                for (auto& [k, v] : e.xattrs) dup |= k == name;
                if (!dup) e.xattrs.emplace_back(name, name == "user.empty" ? "" : random_bytes(rng_.below(40), true));
            }
        }
        if (e.kind == Kind::File && rng_.chance(6)) {
            e.xattrs.emplace_back("security.capability", capability_blob(1u << rng_.below(31)));
        }
    }

    void set_common(Entry& e) {
        e.uid = owner_id();
        e.gid = owner_id();
        e.mtime = random_time();
        add_xattrs(e);
    }

    // --- names and targets -------------------------------------------------------------------

    std::string new_name() {
        static const std::vector<std::string> common = {"a", "b", "c", "d", "e"};
        if (!p_.long_names || rng_.chance(65)) return rng_.pick(common);
        ++name_counter_;
        std::string n = std::to_string(name_counter_);
        switch (rng_.below(12)) {
            case 0: return std::string(255 - n.size(), 'L') + n;  // the longest a name can be
            case 1: return "\xc3\xbc" "n\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9-" + n;  // "ünïcödé-N"
            case 2: return "\xe5\x90\x8d\xe5\x89\x8d" + n;                    // "名前N"
            case 3: return "bad-utf8-\xff\xfe" + n;
            case 4: return "with space " + n;
            case 5: return "new\nline" + n;
            case 6: return "back\\slash,comma:colon=eq" + n;
            case 7: return ".hidden" + n;
            case 8: return ".wh";  // close to, but not, a whiteout marker
            case 9: return "..wh." + n;
            case 10: return "-dash" + n;
            default: return "f" + n;
        }
    }

    std::string random_symlink_target() {
        std::vector<std::string> paths;
        for (auto& [k, v] : known_) paths.push_back(k);
        switch (rng_.below(7)) {
            case 0: return paths.empty() ? "a" : rng_.pick(paths);                   // relative
            case 1: return "../" + (paths.empty() ? std::string("b") : rng_.pick(paths));
            case 2: return "/" + (paths.empty() ? std::string("etc/passwd") : rng_.pick(paths));  // absolute
            case 3: return "dangling/nowhere-" + std::to_string(rng_.below(1000));
            case 4: return std::string(300, 't') + "/long-target";
            case 5: return ".";
            default: return "\xc3\xbc/../target with space";
        }
    }

    // --- layer helpers -----------------------------------------------------------------------

    // True when PATH can be added to L: not there yet, and no ancestor is a non-directory of L.
    static bool can_add(const Layer& layer, const std::string& path) {
        if (layer.has(path)) return false;
        for (std::string p = parent_of(path); !p.empty(); p = parent_of(p)) {
            auto it = layer.entries.find(p);
            if (it != layer.entries.end() && it->second.kind != Kind::Dir) return false;
        }
        return true;
    }

    std::vector<std::string> known_of(bool dirs_only, bool non_dirs_only) const {
        std::vector<std::string> out;
        for (auto& [path, kind] : known_) {
            if (dirs_only && kind != Kind::Dir) continue;
            if (non_dirs_only && kind == Kind::Dir) continue;
            out.push_back(path);
        }
        return out;
    }

    // A directory to create something in: the root, a known directory, or one of this layer's.
    std::string random_parent(const Layer& layer) {
        std::vector<std::string> dirs = known_of(true, false);
        for (auto& [path, e] : layer.entries) {
            if (e.kind == Kind::Dir) dirs.push_back(path);
        }
        if (dirs.empty() || rng_.chance(25)) return "";
        return rng_.pick(dirs);
    }

    Entry random_entry(Layer& layer, Kind kind) {
        Entry e{kind, 0644};
        switch (kind) {
            case Kind::File: e.mode = file_mode(); e.data = file_content(); break;
            case Kind::Dir: e.mode = dir_mode(); break;
            case Kind::Symlink: e.mode = 0777; e.data = random_symlink_target(); break;
            case Kind::Fifo: e.mode = file_mode(); break;
            case Kind::CharDev: {
                static const std::vector<std::pair<unsigned, unsigned>> devs = {{1, 3}, {1, 5}, {4, 64}, {10, 229},
                                                                               {136, 0}, {0, 1}};
                auto d = rng_.pick(devs);
                e.mode = file_mode(), e.dev_major = d.first, e.dev_minor = d.second;
                break;
            }
            case Kind::BlockDev: {
                // 0/0 as a *block* device is not a whiteout: only char 0/0 is.
                static const std::vector<std::pair<unsigned, unsigned>> devs = {{7, 0}, {8, 1}, {0, 0}};
                auto d = rng_.pick(devs);
                e.mode = file_mode(), e.dev_major = d.first, e.dev_minor = d.second;
                break;
            }
            default: break;
        }
        if (kind != Kind::Whiteout) set_common(e);
        return e;
    }

    Kind random_kind(bool allow_whiteout) {
        struct W {
            Kind kind;
            int weight;
        };
        std::vector<W> weights = {{Kind::File, 40}, {Kind::Dir, 22}, {Kind::Symlink, 14}};
        if (p_.devices) weights.insert(weights.end(), {{Kind::Fifo, 3}, {Kind::CharDev, 3}, {Kind::BlockDev, 2}});
        if (allow_whiteout) weights.push_back({Kind::Whiteout, 8});
        int total = 0;
        for (auto& w : weights) total += w.weight;
        int r = static_cast<int>(rng_.below(static_cast<uint64_t>(total)));
        for (auto& w : weights) {
            if ((r -= w.weight) < 0) return w.kind;
        }
        return Kind::File;
    }

    // --- operations, each a typical thing a Dockerfile step does -----------------------------

    // Create something new (a whiteout of a name that exists nowhere below is allowed too, in
    // any layer including the bottom one).
    void op_new(Layer& layer, const std::string& parent) {
        std::string path = join(parent, new_name());
        if (!can_add(layer, path)) return;
        layer.add(path, random_entry(layer, random_kind(true)));
    }

    void op_whiteout_known(Layer& layer) {
        auto paths = known_of(false, false);
        if (paths.empty()) return;
        std::string path = rng_.pick(paths);
        if (can_add(layer, path)) layer.whiteout(path);
    }

    // dir->file, file->dir, symlink->dir, dir->symlink, file->fifo, ...
    void op_replace_kind(Layer& layer) {
        auto paths = known_of(false, false);
        if (paths.empty()) return;
        std::string path = rng_.pick(paths);
        Kind now = known_.at(path), next = random_kind(false);
        if (next == now || !can_add(layer, path)) return;
        layer.add(path, random_entry(layer, next));
        if (next == Kind::Dir) fill_dir(layer, path, rng_.between(0, 2));
    }

    // Copy-up of a non-directory with new content or metadata; on a hard-linked name this
    // splits the group.
    void op_modify(Layer& layer) {
        auto paths = known_of(false, true);
        if (paths.empty()) return;
        std::string path = rng_.pick(paths);
        if (can_add(layer, path)) layer.add(path, random_entry(layer, known_.at(path)));
    }

    // `rm -rf d && mkdir d`: opaque, with new contents.
    void op_opaque_dir(Layer& layer) {
        auto dirs = known_of(true, false);
        std::string path = dirs.empty() || rng_.chance(20) ? join(random_parent(layer), new_name()) : rng_.pick(dirs);
        if (!can_add(layer, path)) return;
        Entry e = random_entry(layer, Kind::Dir);
        e.opaque = true;
        layer.add(path, e);
        fill_dir(layer, path, rng_.between(0, 3));
    }

    // Add to an existing directory (or re-create one that a lower layer deleted: the merge
    // must stop at that whiteout even though this directory is not opaque).
    void op_merge_dir(Layer& layer) {
        auto dirs = known_of(true, false);
        if (dirs.empty()) return;
        std::string path = rng_.pick(dirs);
        if (!can_add(layer, path)) return;
        layer.add(path, random_entry(layer, Kind::Dir));
        fill_dir(layer, path, rng_.between(1, 3));
    }

    void op_hardlink(Layer& layer) {
        std::vector<std::string> files;
        for (auto& [path, e] : layer.entries) {
            if (e.kind == Kind::File) files.push_back(path);
        }
        if (files.empty()) return;
        std::string target = rng_.pick(files);
        std::string path = join(rng_.chance(50) ? parent_of(target) : random_parent(layer), new_name());
        if (can_add(layer, path)) layer.hardlink(path, target);
    }

    // A chain 30+ directories deep, some components long enough that the whole path exceeds
    // PATH_MAX, with a file at the bottom.
    void op_deep(Layer& layer) {
        deep_done_ = true;
        std::string path = "deep";
        int depth = rng_.between(30, 40);
        for (int i = 0; i < depth; ++i) {
            path += "/" + (rng_.chance(30) ? std::string(120, 'n') + std::to_string(i) : "d" + std::to_string(i));
        }
        if (!can_add(layer, path)) return;
        Entry f = random_entry(layer, Kind::File);
        layer.add(path + "/leaf", f);
    }

    void fill_dir(Layer& layer, const std::string& dir, int n) {
        for (int i = 0; i < n; ++i) op_new(layer, dir);
    }

    void generate_layer() {
        Layer& layer = stack_.add_layer();
        layer.root.mtime = random_time();
        if (p_.xattrs && rng_.chance(10)) layer.root.xattrs.emplace_back("user.layer", random_bytes(8, true));
        if (p_.deep_paths && !deep_done_ && rng_.chance(30)) op_deep(layer);
        int ops = rng_.between(p_.min_ops_per_layer, p_.max_ops_per_layer);
        for (int i = 0; i < ops; ++i) {
            int r = static_cast<int>(rng_.below(100));
            if (known_.empty() || r < 30) op_new(layer, random_parent(layer));
            else if (r < 45) op_whiteout_known(layer);
            else if (r < 55) op_replace_kind(layer);
            else if (r < 67) op_modify(layer);
            else if (r < 75) op_opaque_dir(layer);
            else if (r < 88) op_merge_dir(layer);
            else op_hardlink(layer);
        }
        for (auto& [path, e] : layer.entries) {
            if (e.kind == Kind::Whiteout) continue;
            known_[path] = e.kind == Kind::HardLink ? Kind::File : e.kind;
        }
    }
};

}  // namespace

LayerStack generate_stack(uint64_t seed, const GeneratorParams& params) {
    return StackGenerator(seed, params).run();
}

}  // namespace ovft
