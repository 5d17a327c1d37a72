#include "metadata_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "overlayfuse/error.hpp"
#include "overlayfuse/unique_fd.hpp"

namespace ovf::store::detail {

namespace fs = std::filesystem;

std::optional<std::string> read_file_if_exists(const fs::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return std::nullopt;
        throw UserError(path.string() + ": " + errno_text(errno));
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) throw UserError(path.string() + ": " + errno_text(errno));
    if (!S_ISREG(st.st_mode)) throw UserError(path.string() + ": not a regular file");
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw UserError(path.string() + ": " + errno_text(errno));
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string read_file(const fs::path& path, const std::string& context) {
    auto content = read_file_if_exists(path);
    if (!content) throw UserError(context + ": missing " + path.string());
    return *content;
}

std::string trimmed(std::string_view s) {
    const char* ws = " \t\r\n";
    auto b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(ws);
    return std::string(s.substr(b, e - b + 1));
}

bool is_plain_name(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::optional<std::vector<std::string>> parse_lower(std::string_view s) {
    std::vector<std::string> links;
    size_t start = 0;
    for (;;) {
        size_t end = s.find(':', start);
        std::string_view part = s.substr(start, end == std::string_view::npos ? end : end - start);
        if (part.substr(0, 2) != "l/" || !is_plain_name(part.substr(2))) return std::nullopt;
        links.emplace_back(part.substr(2));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    return links;
}

bool is_hex(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

bool is_hex64(std::string_view s) { return s.size() == 64 && is_hex(s); }

bool is_sha256_digest(std::string_view s) {
    return s.substr(0, 7) == "sha256:" && is_hex64(s.substr(7));
}

std::string_view strip_sha256(std::string_view s) {
    return s.substr(0, 7) == "sha256:" ? s.substr(7) : s;
}

nlohmann::json read_json(const fs::path& path, const std::string& context) {
    std::string text = read_file(path, context);
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        // e.what() is multi-part; keep the byte position, which is what helps.
        throw UserError(context + ": " + path.string() + ": invalid JSON (at byte " +
                        std::to_string(e.byte) + ")");
    }
}

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace ovf::store::detail
