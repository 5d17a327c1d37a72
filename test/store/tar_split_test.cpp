// tar-split.json.gz parsing and marker recovery, on gzip files the test writes with zlib.
#include <gtest/gtest.h>
#include <zlib.h>

#include <vector>

#include "overlayfuse/store/docker_store.hpp"
#include "overlayfuse/store/tar_split.hpp"
#include "store_fixture.hpp"

namespace ovf::store {
namespace {

using testing::expect_user_error;
using testing::TempDir;
namespace fs = std::filesystem;

void write_gz(const fs::path& p, const std::string& text) {
    gzFile gz = gzopen(p.c_str(), "wb");
    ASSERT_NE(gz, nullptr);
    ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
    ASSERT_EQ(gzclose(gz), Z_OK);
}

std::string file_line(const std::string& name, int pos) {
    return "{\"type\":1,\"name\":\"" + name + "\",\"payload\":null,\"position\":" + std::to_string(pos) + "}\n";
}

std::string segment_line(int pos) {
    return "{\"type\":2,\"payload\":\"dXN0YXIAMDA=\",\"position\":" + std::to_string(pos) + "}\n";
}

std::vector<std::string> names_in(const fs::path& p) {
    std::vector<std::string> names;
    for_each_tar_split_name(p, [&](const std::string& n) { names.push_back(n); });
    return names;
}

TEST(TarSplit, ListsFileEntriesInOrder) {
    TempDir tmp;
    fs::path p = tmp / "ts.json.gz";
    write_gz(p, segment_line(0) + file_line("etc/", 1) + segment_line(2) + file_line("etc/passwd", 3) +
                    "{\"type\":1,\"name\":\"bin/sh\",\"size\":5,\"payload\":\"YT6gAAAAAAA=\",\"position\":4}\n" +
                    "{\"type\":2,\"payload\":\"\",\"position\":5}\n");
    EXPECT_EQ(names_in(p), (std::vector<std::string>{"etc/", "etc/passwd", "bin/sh"}));
}

TEST(TarSplit, NameRawIsBase64Bytes) {
    TempDir tmp;
    fs::path p = tmp / "ts.json.gz";
    // "d/.wh.\xff\xfe" is not UTF-8, so tar-split stores it in name_raw.
    write_gz(p, "{\"type\":1,\"name_raw\":\"ZC8ud2gu//4=\",\"payload\":null,\"position\":0}\n");
    auto names = names_in(p);
    ASSERT_EQ(names.size(), 1u);
    EXPECT_EQ(names[0], std::string("d/.wh.\xff\xfe"));
    auto m = markers_from_tar_split(p);
    EXPECT_EQ(m.whiteouts.count(std::string("d/\xff\xfe")), 1u);
}

TEST(TarSplit, RecoversWhiteoutsAndOpaqueDirectories) {
    TempDir tmp;
    fs::path p = tmp / "ts.json.gz";
    std::string text;
    int pos = 0;
    for (const char* n : {"etc/", "etc/.wh.motd", "usr/share/doc/", "usr/share/doc/.wh..wh..opq",
                          "usr/share/doc/NEW", "./var/lib/.wh.data", ".wh.toplevel", ".wh..wh..opq",
                          "a//b/./.wh.c", "x/.wh..wh.plnk", "x/.wh..wh.aufs", "x/.wh..", "x/.wh...", "x/.wh.",
                          "plain/.whx", "y/"}) {
        text += segment_line(pos) + file_line(n, pos + 1);
        pos += 2;
    }
    write_gz(p, text);
    LayerMarkers m = markers_from_tar_split(p);
    EXPECT_EQ(m.whiteouts, (std::unordered_set<std::string>{"etc/motd", "var/lib/data", "toplevel", "a/b/c"}));
    EXPECT_EQ(m.opaque_dirs, (std::unordered_set<std::string>{"usr/share/doc", ""}));
}

TEST(TarSplit, EmptyLayer) {
    TempDir tmp;
    fs::path p = tmp / "ts.json.gz";
    write_gz(p, "{\"type\":2,\"payload\":\"AAAA\",\"position\":0}\n{\"type\":2,\"payload\":\"\",\"position\":1}\n");
    EXPECT_TRUE(names_in(p).empty());
    auto m = markers_from_tar_split(p);
    EXPECT_TRUE(m.whiteouts.empty());
    EXPECT_TRUE(m.opaque_dirs.empty());
}

TEST(TarSplit, LastLineWithoutNewline) {
    TempDir tmp;
    fs::path p = tmp / "ts.json.gz";
    write_gz(p, "{\"type\":1,\"name\":\"a/.wh.b\",\"payload\":null,\"position\":0}");
    EXPECT_EQ(markers_from_tar_split(p).whiteouts.count("a/b"), 1u);
}

TEST(TarSplit, LongLines) {
    // A segment holding a big PAX header: one line far larger than any read buffer.
    TempDir tmp;
    fs::path p = tmp / "ts.json.gz";
    std::string big(300000, 'A');
    write_gz(p, "{\"type\":2,\"payload\":\"" + big + "\",\"position\":0}\n" + file_line("d/.wh.x", 1));
    EXPECT_EQ(markers_from_tar_split(p).whiteouts.count("d/x"), 1u);
}

TEST(TarSplit, NotGzip) {
    TempDir tmp;
    fs::path p = tmp / "ts.json.gz";
    testing::write_text(p, file_line("a", 0));
    expect_user_error([&] { names_in(p); }, {p.string(), "not a gzip file"});
    testing::write_text(p, "");
    expect_user_error([&] { names_in(p); }, {p.string(), "not a gzip file"});
}

TEST(TarSplit, TruncatedGzip) {
    TempDir tmp;
    fs::path full = tmp / "full.gz";
    std::string text;
    for (int i = 0; i < 2000; ++i) text += file_line("dir/file" + std::to_string(i), i);
    write_gz(full, text);
    std::string bytes = testing::read_text(full);
    fs::path cut = tmp / "cut.gz";
    testing::write_text(cut, bytes.substr(0, bytes.size() / 2));
    expect_user_error([&] { names_in(cut); }, {cut.string()});
}

TEST(TarSplit, InvalidJsonLine) {
    TempDir tmp;
    fs::path p = tmp / "ts.json.gz";
    write_gz(p, file_line("a", 0) + "{\"type\":1,\"name\":\n");
    expect_user_error([&] { names_in(p); }, {p.string(), "line 2", "invalid JSON"});
}

TEST(TarSplit, EntryWithoutTypeOrName) {
    TempDir tmp;
    fs::path p = tmp / "ts.json.gz";
    write_gz(p, "{\"name\":\"a\"}\n");
    expect_user_error([&] { names_in(p); }, {"line 1", "not a tar-split entry"});
    write_gz(p, "{\"type\":1,\"payload\":null}\n");
    expect_user_error([&] { names_in(p); }, {"line 1", "without a name"});
    write_gz(p, "{\"type\":1,\"name_raw\":\"***\"}\n");
    expect_user_error([&] { names_in(p); }, {"line 1", "base64"});
}

TEST(TarSplit, MissingFile) {
    TempDir tmp;
    expect_user_error([&] { names_in(tmp / "none.gz"); }, {(tmp / "none.gz").string()});
    LayerInfo layer;
    layer.tar_split = tmp / "none.gz";
    EXPECT_FALSE(DockerStore::read_markers(layer));
}

}  // namespace
}  // namespace ovf::store
