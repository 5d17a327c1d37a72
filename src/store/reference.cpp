// Reference grammar and normalisation of github.com/docker/distribution/reference as vendored
// by Docker 20.10 (reference.go, regexp.go, normalize.go), written out by hand: the rules are
// few and a hand-written check can say which part of the text is wrong.
#include "overlayfuse/store/reference.hpp"

#include <string_view>

#include "metadata_file.hpp"
#include "overlayfuse/error.hpp"
#include "overlayfuse/sha256.hpp"

namespace ovf::store {

namespace {

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kOfficialRepo = "library/";
constexpr size_t kNameTotalLengthMax = 255;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_word(char c) { return is_alnum(c) || c == '_'; }

[[noreturn]] void invalid(const std::string& text, const std::string& why) {
    throw UserError("invalid image reference '" + text + "': " + why);
}

// alpha-numeric (separator alpha-numeric)*, separator = "." | "_" | "__" | "-"+
bool is_path_component(std::string_view s) {
    size_t i = 0;
    auto alnum_run = [&] {
        size_t start = i;
        while (i < s.size() && is_lower_alnum(s[i])) ++i;
        return i > start;
    };
    if (!alnum_run()) return false;
    while (i < s.size()) {
        if (s[i] == '.') {
            ++i;
        } else if (s[i] == '_') {
            ++i;
            if (i < s.size() && s[i] == '_') ++i;
        } else if (s[i] == '-') {
            while (i < s.size() && s[i] == '-') ++i;
        } else {
            return false;
        }
        if (!alnum_run()) return false;
    }
    return true;
}

// [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool is_domain_component(std::string_view s) {
    if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
    for (char c : s)
        if (!is_alnum(c) && c != '-') return false;
    return true;
}

// component ("." component)* (":" [0-9]+)?
bool is_domain(std::string_view s) {
    auto colon = s.find(':');
    if (colon != std::string_view::npos) {
        std::string_view port = s.substr(colon + 1);
        if (port.empty()) return false;
        for (char c : port)
            if (c < '0' || c > '9') return false;
        s = s.substr(0, colon);
    }
    size_t start = 0;
    for (;;) {
        size_t dot = s.find('.', start);
        if (!is_domain_component(s.substr(start, dot == std::string_view::npos ? dot : dot - start)))
            return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

// [\w][\w.-]{0,127}
bool is_tag(std::string_view s) {
    if (s.empty() || s.size() > 128 || !is_word(s.front())) return false;
    for (char c : s)
        if (!is_word(c) && c != '.' && c != '-') return false;
    return true;
}

// The algorithms go-digest knows; anything else is "unsupported digest algorithm".
size_t digest_hex_length(std::string_view algorithm) {
    if (algorithm == "sha256") return 64;
    if (algorithm == "sha384") return 96;
    if (algorithm == "sha512") return 128;
    return 0;
}

void check_digest(const std::string& text, std::string_view digest) {
    auto colon = digest.find(':');
    if (colon == std::string_view::npos || colon == 0) invalid(text, "invalid digest format");
    std::string_view algorithm = digest.substr(0, colon);
    std::string_view hex = digest.substr(colon + 1);
    size_t want = digest_hex_length(algorithm);
    if (want == 0) invalid(text, "unsupported digest algorithm");
    if (hex.size() != want || !detail::is_hex(hex)) invalid(text, "invalid checksum digest format");
}

}  // namespace

std::string Reference::familiar_string() const {
    if (digest) return familiar_name + "@" + *digest;
    if (tag) return familiar_name + ":" + *tag;
    return familiar_name;
}

Reference parse_reference(const std::string& text) {
    Reference ref;
    // ParseAnyReference: a bare 64-hex string is always an id, never a repository name.
    if (detail::is_hex64(text)) {
        ref.image_id = "sha256:" + text;
        return ref;
    }
    if (detail::is_sha256_digest(text)) {
        ref.image_id = text;
        return ref;
    }
    if (text.empty()) invalid(text, "repository name must have at least one component");

    std::string_view rest = text;
    std::optional<std::string> digest;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        digest = std::string(rest.substr(at + 1));
        rest = rest.substr(0, at);
        check_digest(text, *digest);
    }
    std::optional<std::string> tag;
    auto last_colon = rest.rfind(':');
    auto last_slash = rest.rfind('/');
    if (last_colon != std::string_view::npos &&
        (last_slash == std::string_view::npos || last_colon > last_slash)) {
        tag = std::string(rest.substr(last_colon + 1));
        rest = rest.substr(0, last_colon);
        if (!is_tag(*tag)) invalid(text, "invalid tag format");
    }

    // splitDockerDomain: the first component is a registry only if it looks like a host.
    std::string domain;
    std::string path;
    auto slash = rest.find('/');
    std::string_view first = rest.substr(0, slash);
    if (slash == std::string_view::npos ||
        (first.find_first_of(".:") == std::string_view::npos && first != "localhost")) {
        domain = kDefaultDomain;
        path = rest;
    } else {
        domain = first;
        path = rest.substr(slash + 1);
    }
    if (domain == kLegacyDefaultDomain) domain = kDefaultDomain;
    if (domain == kDefaultDomain && path.find('/') == std::string::npos)
        path = std::string(kOfficialRepo) + path;

    for (char c : path)
        if (c >= 'A' && c <= 'Z') invalid(text, "repository name must be lowercase");
    if (!is_domain(domain)) invalid(text, "invalid registry name '" + domain + "'");
    size_t start = 0;
    for (;;) {
        size_t end = path.find('/', start);
        std::string_view component =
            std::string_view(path).substr(start, end == std::string::npos ? end : end - start);
        if (!is_path_component(component))
            invalid(text, component.empty() ? "empty path component"
                                             : "invalid repository name component '" +
                                                   std::string(component) + "'");
        if (end == std::string::npos) break;
        start = end + 1;
    }
    if (domain.size() + 1 + path.size() > kNameTotalLengthMax)
        invalid(text, "repository name must not be more than 255 characters");

    // FamiliarName: Docker Hub names drop "docker.io/" and an official repo's "library/".
    if (domain == kDefaultDomain) {
        std::string_view p = path;
        if (p.substr(0, kOfficialRepo.size()) == kOfficialRepo &&
            p.substr(kOfficialRepo.size()).find('/') == std::string_view::npos)
            p = p.substr(kOfficialRepo.size());
        ref.familiar_name = std::string(p);
    } else {
        ref.familiar_name = domain + "/" + path;
    }
    ref.digest = std::move(digest);
    ref.tag = std::move(tag);
    // TagNameOnly: a bare name means ":latest"; a digest stands on its own.
    if (!ref.digest && !ref.tag) ref.tag = "latest";
    return ref;
}

std::string chain_id(const std::string& parent_chain, const std::string& diff_id) {
    if (parent_chain.empty()) return diff_id;  // chain[0] is the base layer's diff id
    return "sha256:" + sha256_hex(parent_chain + " " + diff_id);
}

}  // namespace ovf::store
