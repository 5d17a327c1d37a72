// The store side against the real engine: image references resolve as Docker resolves them,
// `images` lists what `docker images` lists, `inspect` walks the layers Docker reports, images
// that share layers share them in overlayfuse too, and bad references fail with one line.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "docker_fixture.hpp"
#include "support/harness.hpp"
#include "support/mounts.hpp"

namespace {

using json = nlohmann::json;

std::vector<std::string> with_root(std::vector<std::string> args) {
    auto r = ovfd::root_args();
    args.insert(args.begin() + 1, r.begin(), r.end());  // after the subcommand
    return args;
}

std::unique_ptr<ovft::FuseView> mount_ref(const std::string& ref, const std::string& mnt) {
    std::vector<std::string> argv = {ovft::overlayfuse_bin()};
    for (const auto& a : with_root({"mount", ref, mnt})) argv.push_back(a);
    return std::make_unique<ovft::FuseView>(argv, mnt, "overlayfuse mount " + ref);
}

bool exists(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
}

std::string hex_of(const std::string& id) {
    return id.rfind("sha256:", 0) == 0 ? id.substr(7) : id;
}

// All image ids of the store, intermediate build images included (the prefix search of
// `docker`, and of overlayfuse, covers them all).
std::vector<std::string> all_image_ids() {
    ovft::RunResult r = ovft::run({"docker", "images", "-a", "-q", "--no-trunc"});
    std::set<std::string> ids;
    for (const auto& l : ovfd::lines(r.out)) ids.insert(hex_of(ovfd::trim(l)));
    return {ids.begin(), ids.end()};
}

// The shortest prefix of ID (at least MIN chars) that no other id shares.
std::string unique_prefix(const std::string& id, size_t min) {
    auto ids = all_image_ids();
    for (size_t n = min; n <= id.size(); ++n) {
        std::string p = id.substr(0, n);
        size_t count = std::count_if(ids.begin(), ids.end(),
                                     [&](const std::string& x) { return x.rfind(p, 0) == 0; });
        if (count == 1) return p;
    }
    return id;
}

// Looks KEYS up in OBJ (the first that exists), as a string.
std::string field(const json& obj, std::initializer_list<const char*> keys) {
    for (const char* k : keys) {
        if (obj.is_object() && obj.contains(k) && !obj[k].is_null()) {
            return obj[k].is_string() ? obj[k].get<std::string>() : obj[k].dump();
        }
    }
    return "";
}

// The layer list of `overlayfuse inspect --format json`: a top-level array, or "layers"/"Layers".
json layers_of(const json& j) {
    if (j.is_array()) return j;
    for (const char* k : {"layers", "Layers"}) {
        if (j.contains(k)) return j[k];
    }
    return json::array();
}

TEST(DockerRefs, MountByEveryReferenceForm) {
    OVFD_REQUIRE_DOCKER();
    std::string deletes = hex_of(ovfd::docker_image("ovf-test/deletes:1").id);
    std::string replace = hex_of(ovfd::docker_image("ovf-test/replace:1").id);
    std::string prefix = unique_prefix(deletes, 12);
    // (reference, image id it must name, a path only that image has)
    struct Case {
        std::string ref, id, marker;
    };
    const std::string dm = "/data/tree/a/again", rm = "/data/file2dir/inner";
    std::vector<Case> cases = {
        {"ovf-test/deletes", deletes, dm},               // name alone = :latest
        {"ovf-test/deletes:1", deletes, dm},             // name:tag
        {"ovf-test/deletes:latest", deletes, dm},
        {"ovf-test/retagged:v2", deletes, dm},           // a second name of the same id
        {"docker.io/ovf-test/deletes:1", deletes, dm},   // registry form
        {"docker.io/ovf-test/retagged:v2", deletes, dm},
        {deletes, deletes, dm},                          // full id
        {"sha256:" + deletes, deletes, dm},              // full id with algorithm
        {prefix, deletes, dm},                           // unique id prefix
        {"sha256:" + prefix, deletes, dm},
        {"ovftestplain", replace, rm},                   // a name without '/'
        {"ovftestplain:latest", replace, rm},
        {"docker.io/library/ovftestplain", replace, rm},
        {"docker.io/library/ovftestplain:latest", replace, rm},
        {"index.docker.io/library/ovftestplain", replace, rm},  // rewritten to docker.io
    };
    for (const auto& c : cases) {
        SCOPED_TRACE("reference " + c.ref);
        // The reference is one Docker itself accepts, for that image.
        ovft::RunResult d = ovft::run({"docker", "image", "inspect", "--format", "{{.Id}}", c.ref});
        ASSERT_EQ(d.exit_code, 0) << d.describe();
        ASSERT_EQ(hex_of(ovfd::trim(d.out)), c.id);
        ovft::TempDir tmp;
        std::unique_ptr<ovft::FuseView> view;
        try {
            view = mount_ref(c.ref, tmp.sub("mnt"));
        } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
            continue;
        }
        EXPECT_TRUE(exists(view->path() + c.marker)) << c.marker << " missing: wrong image?";
    }
}

TEST(DockerRefs, UnknownImageFailsWithOneLine) {
    OVFD_REQUIRE_DOCKER();
    for (std::string ref : {std::string("ovf-test/does-not-exist:1"),
                            std::string("ovf-test/deletes:no-such-tag"),
                            "sha256:" + std::string(64, '0')}) {
        SCOPED_TRACE(ref);
        ovft::TempDir tmp;
        std::string mnt = tmp.sub("mnt");
        ovft::RunResult r = ovfd::overlayfuse(with_root({"mount", ref, mnt}));
        EXPECT_NE(r.exit_code, 0) << r.describe();
        EXPECT_TRUE(ovfd::one_line(r.err)) << r.describe();
        EXPECT_NE(r.err.find(hex_of(ref)), std::string::npos) << "message does not name the image: " << r.err;
        EXPECT_FALSE(ovft::is_mount_point(mnt)) << "a failed mount left " << mnt << " mounted";
        if (ovft::is_mount_point(mnt)) ovft::detach_mounts_under(tmp.path());

        ovft::RunResult i = ovfd::overlayfuse(with_root({"inspect", ref}));
        EXPECT_NE(i.exit_code, 0) << i.describe();
        EXPECT_TRUE(ovfd::one_line(i.err)) << i.describe();
    }
}

TEST(DockerRefs, AmbiguousPrefixFailsAndListsCandidates) {
    OVFD_REQUIRE_DOCKER();
    // Find the longest prefix that two or more image ids share (the build leaves enough
    // intermediate images for a one-character prefix to be shared, at least).
    auto ids = all_image_ids();
    ASSERT_GE(ids.size(), 2u);
    std::string best;
    std::vector<std::string> candidates;
    for (size_t i = 0; i + 1 < ids.size(); ++i) {  // sorted: neighbours share the longest prefix
        size_t n = 0;
        while (n < ids[i].size() && ids[i][n] == ids[i + 1][n]) ++n;
        if (n > best.size()) best = ids[i].substr(0, n);
    }
    ASSERT_FALSE(best.empty()) << "no two image ids share a first character";
    for (const auto& id : ids) {
        if (id.rfind(best, 0) == 0) candidates.push_back(id);
    }
    ASSERT_GE(candidates.size(), 2u);
    // Docker refuses it too.
    ovft::RunResult d = ovft::run({"docker", "image", "inspect", best});
    ASSERT_NE(d.exit_code, 0) << "docker accepted the prefix " << best << ": " << d.describe();

    ovft::TempDir tmp;
    std::string mnt = tmp.sub("mnt");
    ovft::RunResult r = ovfd::overlayfuse(with_root({"mount", best, mnt}));
    EXPECT_NE(r.exit_code, 0) << r.describe();
    EXPECT_TRUE(ovfd::one_line(r.err)) << r.describe();
    EXPECT_FALSE(ovft::is_mount_point(mnt));
    for (const auto& c : candidates) {
        EXPECT_NE(r.err.find(c.substr(0, 12)), std::string::npos)
            << "candidate " << c << " not listed in: " << r.err;
    }
}

TEST(DockerRefs, ImagesListsWhatDockerImagesLists) {
    OVFD_REQUIRE_DOCKER();
    ovft::RunResult d = ovft::run(
        {"docker", "images", "--format", "{{.Repository}}\t{{.Tag}}\t{{.ID}}"});
    ASSERT_EQ(d.exit_code, 0) << d.describe();
    std::multiset<std::tuple<std::string, std::string, std::string>> expected, actual;
    for (const auto& l : ovfd::lines(d.out)) {
        auto f = ovfd::split(l, '\t');
        ASSERT_EQ(f.size(), 3u) << l;
        expected.insert({f[0], f[1], hex_of(f[2]).substr(0, 12)});
    }
    ovft::RunResult o = ovfd::overlayfuse(with_root({"images", "--format", "json"}));
    ASSERT_EQ(o.exit_code, 0) << o.describe();
    json j = json::parse(o.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << o.out;
    if (j.is_object()) j = j.contains("images") ? j["images"] : j;
    ASSERT_TRUE(j.is_array()) << o.out;
    for (const auto& e : j) {
        std::string repo = field(e, {"repository", "Repository", "repo"});
        std::string tag = field(e, {"tag", "Tag"});
        std::string id = hex_of(field(e, {"id", "ID", "image_id", "Id"}));
        // docker shows untagged images as <none> <none>
        if (repo.empty()) repo = "<none>";
        if (tag.empty()) tag = "<none>";
        actual.insert({repo, tag, id.substr(0, 12)});
    }
    EXPECT_EQ(actual.size(), expected.size()) << "docker images:\n" << d.out << "overlayfuse:\n" << o.out;
    EXPECT_EQ(actual, expected) << "docker images:\n" << d.out << "overlayfuse:\n" << o.out;

    // The table form has a row per listed image too (plus one header line).
    ovft::RunResult t = ovfd::overlayfuse(with_root({"images"}));
    ASSERT_EQ(t.exit_code, 0) << t.describe();
    EXPECT_EQ(ovfd::lines(t.out).size(), expected.size() + 1) << t.out;
}

// inspect walks the layers Docker itself reports: same count as RootFS.Layers, same diff ids,
// the same overlay2 directories, bottom first.
TEST(DockerRefs, InspectMatchesDockerInspect) {
    OVFD_REQUIRE_DOCKER();
    for (const auto& img : ovfd::test_images()) {
        SCOPED_TRACE(img.ref);
        ovfd::DockerImage di = ovfd::docker_image(img.ref);
        ovft::RunResult o = ovfd::overlayfuse(with_root({"inspect", img.ref, "--format", "json"}));
        ASSERT_EQ(o.exit_code, 0) << o.describe();
        json j = json::parse(o.out, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << "not JSON: " << o.out;
        json layers = layers_of(j);
        ASSERT_EQ(layers.size(), di.diff_ids.size()) << o.out;
        std::string chain;
        for (size_t i = 0; i < layers.size(); ++i) {
            EXPECT_EQ(field(layers[i], {"diff_id", "DiffID", "diffId", "diff-id"}), di.diff_ids[i])
                << "layer " << i;
            std::string dir = field(layers[i], {"diff_dir", "dir", "DiffDir", "path", "diff"});
            EXPECT_EQ(dir, di.layer_dirs_top_first[di.layer_dirs_top_first.size() - 1 - i])
                << "layer " << i;
            // Chain ids by Docker's rule, computed here with sha256sum:
            // chain0 = diff0, chainN = "sha256:" + sha256(chainN-1 + " " + diffN).
            if (i == 0) {
                chain = di.diff_ids[0];
            } else {
                ovft::RunResult h = ovft::run(
                    {"sh", "-c", "printf '%s' \"$1\" | sha256sum", "sh", chain + " " + di.diff_ids[i]});
                chain = "sha256:" + h.out.substr(0, 64);
            }
            EXPECT_EQ(field(layers[i], {"chain_id", "ChainID", "chainId", "chain-id"}), chain)
                << "layer " << i;
            // ... and the layerdb entry of that chain id names the same cache id.
            std::ifstream cid(ovfd::docker_root() + "/image/overlay2/layerdb/sha256/" + hex_of(chain) +
                              "/cache-id");
            std::string cache_id((std::istreambuf_iterator<char>(cid)), std::istreambuf_iterator<char>());
            EXPECT_EQ(field(layers[i], {"cache_id", "CacheID", "cacheId", "cache-id"}), cache_id)
                << "layer " << i;
        }
        // Table form: one line per layer at least.
        ovft::RunResult t = ovfd::overlayfuse(with_root({"inspect", img.ref}));
        ASSERT_EQ(t.exit_code, 0) << t.describe();
        EXPECT_GE(ovfd::lines(t.out).size(), di.diff_ids.size());
    }
}

// ovf-test/shared:1 is ovf-test/meta:1 plus a LABEL: a different image id, the same chain ids
// and so the same overlay2 directories. Both mount at once and show the same tree.
TEST(DockerRefs, ImagesSharingLayersShowTheSameTree) {
    OVFD_REQUIRE_DOCKER();
    ovfd::DockerImage meta = ovfd::docker_image("ovf-test/meta:1");
    ovfd::DockerImage shared = ovfd::docker_image("ovf-test/shared:1");
    ASSERT_NE(meta.id, shared.id);
    ASSERT_EQ(meta.layer_dirs_top_first, shared.layer_dirs_top_first)
        << "the images do not share their layers (build cache not used?)";
    ovft::TempDir tmp;
    auto a = mount_ref("ovf-test/meta:1", tmp.sub("a"));
    auto b = mount_ref("ovf-test/shared:1", tmp.sub("b"));
    ovfd::Dump da = ovfd::tree_dump(a->path(), {});
    ovfd::Dump db = ovfd::tree_dump(b->path(), {});
    // Inode numbers are per mount, so only identity ("self"/first path) is compared, as always.
    auto diffs = ovfd::compare_dumps(da, "meta", db, "shared");
    EXPECT_TRUE(diffs.empty()) << ovfd::describe_differences(diffs, da, db, "shared-vs-meta");
}

TEST(DockerRefs, UmountAndDoubleMount) {
    OVFD_REQUIRE_DOCKER();
    ovft::TempDir tmp;
    std::string mnt = tmp.sub("mnt");
    auto view = mount_ref("ovf-test/base:1", mnt);
    // A second mount on a mounted directory is refused, and the first one keeps working.
    ovft::RunResult again = ovfd::overlayfuse(with_root({"mount", "ovf-test/deletes:1", mnt}));
    EXPECT_NE(again.exit_code, 0) << again.describe();
    EXPECT_TRUE(ovfd::one_line(again.err)) << again.describe();
    EXPECT_TRUE(exists(mnt + "/bin/busybox"));
    EXPECT_FALSE(exists(mnt + "/data/tree/a/again")) << "the second mount went on top";
    ovft::RunResult u = ovfd::overlayfuse({"umount", mnt});
    EXPECT_EQ(u.exit_code, 0) << u.describe();
    EXPECT_FALSE(ovft::is_mount_point(mnt));
}

}  // namespace
