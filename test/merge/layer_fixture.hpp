#pragma once
// Builds layer directories for merge-engine tests: plain files, whiteouts, opaque markers.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "overlayfuse/merge/engine.hpp"

namespace ovf::test {

namespace fs = std::filesystem;

class LayerFixture : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/ovf-unit.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        base_ = tmpl;
    }
    void TearDown() override {
        engine_.reset();
        std::error_code ec;
        fs::remove_all(base_, ec);
    }

    // Layer I's directory (0 = topmost, as in lowerdir=); created on first use.
    fs::path layer(int i) {
        fs::path p = base_ / ("l" + std::to_string(i));
        fs::create_directories(p);
        if (i + 1 > nlayers_) nlayers_ = i + 1;
        return p;
    }
    void file(int l, const std::string& rel, const std::string& content = "x") {
        fs::path p = layer(l) / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << content;
    }
    void dir(int l, const std::string& rel) { fs::create_directories(layer(l) / rel); }
    void symlink(int l, const std::string& rel, const std::string& target) {
        fs::path p = layer(l) / rel;
        fs::create_directories(p.parent_path());
        fs::create_symlink(target, p);
    }
    // A char 0/0 device: needs CAP_MKNOD.
    void whiteout(int l, const std::string& rel) {
        fs::path p = layer(l) / rel;
        fs::create_directories(p.parent_path());
        ASSERT_EQ(::mknod(p.c_str(), S_IFCHR | 0, makedev(0, 0)), 0) << p << ": " << strerror(errno);
    }
    void xattr(int l, const std::string& rel, const std::string& name, const std::string& value) {
        fs::path p = layer(l) / rel;
        ASSERT_EQ(::lsetxattr(p.c_str(), name.c_str(), value.data(), value.size(), 0), 0)
            << p << " " << name << ": " << strerror(errno);
    }

    merge::Engine& engine(merge::MarkerFormats formats = {},
                          std::vector<std::shared_ptr<const LayerMarkers>> markers = {},
                          std::optional<merge::UpperSource> upper = std::nullopt) {
        std::vector<merge::LayerSource> src;
        for (int i = 0; i < nlayers_; ++i) {
            merge::LayerSource s{layer(i).string(), "", nullptr};
            if (static_cast<size_t>(i) < markers.size()) s.markers = markers[i];
            src.push_back(s);
        }
        engine_ = std::make_unique<merge::Engine>(std::move(src), formats, upper);
        return *engine_;
    }

    // Resolves a slash-separated path in the merged view; nullptr (and *ERR) when absent.
    merge::Node* resolve(const std::string& path, int* err = nullptr) {
        merge::Node* n = &engine_->root();
        size_t start = 0;
        while (start < path.size()) {
            size_t end = path.find('/', start);
            if (end == std::string::npos) end = path.size();
            merge::Node* child = nullptr;
            int e = engine_->lookup(*n, path.substr(start, end - start), &child);
            if (e < 0) {
                if (err) *err = e;
                return nullptr;
            }
            n = child;
            start = end + 1;
        }
        if (err) *err = 0;
        return n;
    }
    bool exists(const std::string& path) { return resolve(path) != nullptr; }

    std::vector<std::string> names(const std::string& path) {
        merge::Node* n = path.empty() ? &engine_->root() : resolve(path);
        EXPECT_NE(n, nullptr) << path;
        std::vector<std::string> out;
        if (!n) return out;
        for (const auto& e : entries(*n)) out.push_back(e.name);
        std::sort(out.begin(), out.end());
        return out;
    }

    std::vector<merge::DirEntry> entries(merge::Node& dir) {
        std::shared_ptr<const merge::Listing> l;
        EXPECT_EQ(engine_->listing(dir, &l), 0);
        std::vector<merge::DirEntry> out;
        if (l)
            for (auto& [slot, e] : l->slice(0, SIZE_MAX)) out.push_back(e);
        return out;
    }

    struct stat attr(merge::Node& n) {
        struct stat st{};
        EXPECT_EQ(engine_->getattr(n, &st), 0);
        return st;
    }

    std::string read(const std::string& path) {
        merge::Node* n = resolve(path);
        if (!n) return "<missing>";
        int fd = engine_->open(*n, O_RDONLY);
        if (fd < 0) return "<error>";
        std::string out(4096, '\0');
        ssize_t r = ::read(fd, out.data(), out.size());
        ::close(fd);
        out.resize(r > 0 ? static_cast<size_t>(r) : 0);
        return out;
    }

    static bool root() { return ::geteuid() == 0; }

    fs::path base_;
    int nlayers_ = 0;
    std::unique_ptr<merge::Engine> engine_;
};

#define REQUIRE_ROOT() \
    if (!root()) GTEST_SKIP() << "needs root (mknod 0/0, trusted.* xattrs)"

}  // namespace ovf::test
