// Reference parsing and normalisation, as the daemon's distribution/reference does it.
#include <gtest/gtest.h>

#include "overlayfuse/error.hpp"
#include "overlayfuse/store/reference.hpp"

namespace ovf::store {
namespace {

const std::string kHex64 = "7254f7459375ca357ad951c2a97d548455dc9bcc0064589c519ff7dc37708d7d";

struct Parsed {
    std::string name;
    std::optional<std::string> tag;
    std::optional<std::string> digest;
    std::string key;
};

Parsed parse(const std::string& s) {
    Reference r = parse_reference(s);
    EXPECT_FALSE(r.image_id) << s;
    return {r.familiar_name, r.tag, r.digest, r.familiar_string()};
}

TEST(ReferenceParse, BareNameGetsLatest) {
    auto p = parse("busybox");
    EXPECT_EQ(p.name, "busybox");
    EXPECT_EQ(p.tag, "latest");
    EXPECT_EQ(p.key, "busybox:latest");
}

TEST(ReferenceParse, NameWithTag) {
    auto p = parse("python:3.9-alpine3.12");
    EXPECT_EQ(p.name, "python");
    EXPECT_EQ(p.tag, "3.9-alpine3.12");
    EXPECT_EQ(p.key, "python:3.9-alpine3.12");
}

TEST(ReferenceParse, DockerHubOfficialFormsAreFamiliar) {
    EXPECT_EQ(parse("docker.io/library/example-base:v1").key, "example-base:v1");
    EXPECT_EQ(parse("library/example-base:v1").key, "example-base:v1");
    EXPECT_EQ(parse("index.docker.io/library/alpine").key, "alpine:latest");
    EXPECT_EQ(parse("docker.io/alpine:3.19").key, "alpine:3.19");
}

TEST(ReferenceParse, DockerHubUserRepositories) {
    EXPECT_EQ(parse("docker.io/foo/bar").key, "foo/bar:latest");
    EXPECT_EQ(parse("foo/bar:1.0").name, "foo/bar");
    // Only a single remaining component gets "library/" dropped.
    EXPECT_EQ(parse("docker.io/library/foo/bar").name, "library/foo/bar");
}

TEST(ReferenceParse, RegistryDomains) {
    auto p = parse("localhost:5000/example-filetypes:v1");
    EXPECT_EQ(p.name, "localhost:5000/example-filetypes");
    EXPECT_EQ(p.tag, "v1");
    EXPECT_EQ(p.key, "localhost:5000/example-filetypes:v1");
    EXPECT_EQ(parse("localhost/x").name, "localhost/x");
    EXPECT_EQ(parse("quay.io/coreos/etcd:v3").name, "quay.io/coreos/etcd");
    EXPECT_EQ(parse("registry:5000/x").name, "registry:5000/x");
    // A first component without '.' or ':' and not "localhost" is a Docker Hub user.
    EXPECT_EQ(parse("myregistry/x").name, "myregistry/x");
}

TEST(ReferenceParse, PortIsNotATag) {
    auto p = parse("localhost:5000/x");
    EXPECT_EQ(p.name, "localhost:5000/x");
    EXPECT_EQ(p.tag, "latest");
}

TEST(ReferenceParse, DigestReference) {
    auto p = parse("busybox@sha256:" + kHex64);
    EXPECT_EQ(p.name, "busybox");
    EXPECT_FALSE(p.tag);
    EXPECT_EQ(p.digest, "sha256:" + kHex64);
    EXPECT_EQ(p.key, "busybox@sha256:" + kHex64);
}

TEST(ReferenceParse, TagAndDigestLooksUpByDigestOnly) {
    auto p = parse("localhost:5000/x:v1@sha256:" + kHex64);
    EXPECT_EQ(p.tag, "v1");
    EXPECT_EQ(p.key, "localhost:5000/x@sha256:" + kHex64);
}

TEST(ReferenceParse, FullImageIds) {
    Reference a = parse_reference(kHex64);
    ASSERT_TRUE(a.image_id);
    EXPECT_EQ(*a.image_id, "sha256:" + kHex64);
    Reference b = parse_reference("sha256:" + kHex64);
    ASSERT_TRUE(b.image_id);
    EXPECT_EQ(*b.image_id, "sha256:" + kHex64);
}

TEST(ReferenceParse, ShortHexIsAName) {
    // Only 64 hex digits make an id; a prefix parses as a name and is resolved later.
    EXPECT_EQ(parse("7254f7").key, "7254f7:latest");
    EXPECT_EQ(parse("sha256:7254f7").key, "sha256:7254f7");
}

TEST(ReferenceParse, NameComponentSeparators) {
    EXPECT_NO_THROW(parse("a/b_c__d-e---f.g"));
    EXPECT_EQ(parse("a.b/c").name, "a.b/c");  // a first component with "." is a registry
    EXPECT_NO_THROW(parse("a0/b1"));
    EXPECT_EQ(parse("x:Tag_1.0-rc").tag, "Tag_1.0-rc");  // tags may use upper case
}

TEST(ReferenceParse, InvalidReferences) {
    const char* bad[] = {
        "",                    // empty
        "Busybox",             // upper case name
        "foo/Bar:1",           // upper case component
        "docker.io/Library/x", // upper case after normalising
        "foo:",                // empty tag
        "foo:-bad",            // tag must start with a word character
        "foo bar",             // space
        "-foo",                // leading separator
        "foo-",                // trailing separator
        "foo..bar",            // two dots
        "foo___bar",           // three underscores
        "foo//bar",            // empty component
        "/foo",                // empty component
        "foo/",                // empty component
        "foo@sha256:abc",      // short digest
        "foo@md5:0123456789abcdef0123456789abcdef",  // unknown algorithm
        "foo@sha256:7254F7459375CA357AD951C2A97D548455DC9BCC0064589C519FF7DC37708D7D",
        "localhost:/x",        // empty port
        "local_host:5000/x",   // '_' in a domain
        "-registry.io/x",      // domain component starting with '-'
    };
    for (const char* s : bad) EXPECT_THROW(parse_reference(s), UserError) << "'" << s << "'";
}

TEST(ReferenceParse, TagLengthLimit) {
    EXPECT_NO_THROW(parse("x:" + std::string(128, 'a')));
    EXPECT_THROW(parse_reference("x:" + std::string(129, 'a')), UserError);
}

TEST(ReferenceParse, NameLengthLimit) {
    // docker.io/library/ + name counts: 255 in total at most.
    std::string ok(255 - std::string("docker.io/library/").size(), 'a');
    EXPECT_NO_THROW(parse(ok));
    EXPECT_THROW(parse_reference(ok + "a"), UserError);
}

TEST(ReferenceParse, MessageNamesTheText) {
    try {
        parse_reference("Foo/Bar");
        FAIL();
    } catch (const UserError& e) {
        EXPECT_NE(std::string(e.what()).find("'Foo/Bar'"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("lowercase"), std::string::npos);
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
}

}  // namespace
}  // namespace ovf::store
