#pragma once
// Helpers for the store tests: temporary directories, small files, layer trees, and a
// fixture store built by the real StoreBuilder.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "overlayfuse/error.hpp"
#include "overlayfuse/store/store_builder.hpp"

namespace ovf::store::testing {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "ovf-store-test-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        // Directories made unreadable by a test would stop remove_all.
        for (auto it = fs::recursive_directory_iterator(path_, fs::directory_options::skip_permission_denied, ec);
             it != fs::recursive_directory_iterator(); it.increment(ec))
            if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& rel) const { return path_ / rel; }

private:
    fs::path path_;
};

inline void write_text(const fs::path& p, const std::string& content, mode_t mode = 0644) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    ::chmod(p.c_str(), mode);
}

inline std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Expects FN to throw UserError whose one-line message contains every one of NEEDLES.
template <typename Fn>
void expect_user_error(Fn&& fn, std::initializer_list<std::string> needles) {
    try {
        fn();
        ADD_FAILURE() << "no UserError thrown";
    } catch (const UserError& e) {
        std::string msg = e.what();
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
    }
}

// Three small layers: a base tree, one deleting a file and making a directory opaque (as
// .wh. files, which any user can write), one replacing a directory by a file.
struct FixtureLayers {
    fs::path base, change, replace, extra;
    explicit FixtureLayers(const fs::path& dir) {
        base = dir / "base";
        write_text(base / "etc/motd", "hello\n");
        write_text(base / "etc/os-release", "ID=fixture\n");
        write_text(base / "usr/share/doc/README", "old docs\n");
        write_text(base / "usr/share/doc/guide/a.txt", "guide\n");
        write_text(base / "var/lib/data/x", "x\n");
        fs::create_symlink("motd", base / "etc/motd-link");
        fs::create_hard_link(base / "etc/os-release", base / "etc/os-release.hl");
        change = dir / "change";
        write_text(change / "etc/.wh.motd", "");
        write_text(change / "usr/share/doc/.wh..wh..opq", "");
        write_text(change / "usr/share/doc/NEW", "new docs\n");
        replace = dir / "replace";
        write_text(replace / "var/lib/data", "now a file\n");
        extra = dir / "extra";
        write_text(extra / "app/run", "#!/bin/sh\n", 0755);
    }
};

// Every path under ROOT with its size and mtime: to prove a reader wrote nothing.
inline std::map<std::string, std::string> snapshot(const fs::path& root) {
    std::map<std::string, std::string> out;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
        struct stat st;
        ::lstat(it->path().c_str(), &st);
        out[it->path().string()] = std::to_string(st.st_size) + "/" + std::to_string(st.st_mtim.tv_sec) + "." +
                                   std::to_string(st.st_mtim.tv_nsec) + "/" + std::to_string(st.st_mode);
    }
    return out;
}


}  // namespace ovf::store::testing
