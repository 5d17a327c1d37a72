#include "overlayfuse/store/display.hpp"

#include <algorithm>
#include <cstdio>

namespace ovf::store {

std::string short_id(const std::string& id) {
    std::string_view hex = id;
    if (hex.substr(0, 7) == "sha256:") hex.remove_prefix(7);
    return std::string(hex.substr(0, 12));
}

std::string human_size(int64_t bytes) {
    static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
    double size = static_cast<double>(bytes);
    size_t i = 0;
    while (size >= 1000.0 && i + 1 < std::size(units)) {
        size /= 1000.0;
        ++i;
    }
    // C's %.3g and Go's %.3g agree (including Docker's own "1e+03kB" just below 1 MB).
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g%s", size, units[i]);
    return buf;
}

namespace {

bool digits(const std::string& s, size_t pos, size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

// Days from 1970-01-01 to Y-M-D in the proleptic Gregorian calendar (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

}  // namespace

std::optional<int64_t> parse_rfc3339(const std::string& s) {
    int year, month, day, hour, minute, second;
    if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) ||
        s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
        !digits(s, 17, 2, second))
        return std::nullopt;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return std::nullopt;
    size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        size_t start = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        if (pos == start) return std::nullopt;
    }
    int64_t offset = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh, om;
        if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !digits(s, pos + 4, 2, om))
            return std::nullopt;
        offset = (s[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != s.size()) return std::nullopt;
    return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
}

std::string human_duration(int64_t seconds) {
    auto n = [](int64_t v, const char* unit) { return std::to_string(v) + " " + unit; };
    if (seconds < 1) return "Less than a second";
    if (seconds == 1) return "1 second";
    if (seconds < 60) return n(seconds, "seconds");
    int64_t minutes = seconds / 60;
    if (minutes == 1) return "About a minute";
    if (minutes < 60) return n(minutes, "minutes");
    int64_t hours = (seconds + 1800) / 3600;  // go-units rounds hours
    if (hours == 1) return "About an hour";
    if (hours < 48) return n(hours, "hours");
    if (hours < 24 * 7 * 2) return n(hours / 24, "days");
    if (hours < 24 * 30 * 2) return n(hours / 24 / 7, "weeks");
    if (hours < 24 * 365 * 2) return n(hours / 24 / 30, "months");
    return n(seconds / 3600 / 24 / 365, "years");
}

std::string created_since(const std::string& created, std::time_t now) {
    auto t = parse_rfc3339(created);
    if (!t) return "N/A";
    return human_duration(static_cast<int64_t>(now) - *t) + " ago";
}

std::string format_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width;
    for (const auto& row : rows)
        for (size_t c = 0; c < row.size(); ++c) {
            if (width.size() <= c) width.resize(c + 1, 0);
            width[c] = std::max(width[c], row[c].size());
        }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (size_t c = 0; c < row.size(); ++c) {
            line += row[c];
            if (c + 1 < row.size()) line.append(std::max<size_t>(10, width[c] + 3) - row[c].size(), ' ');
        }
        out += line + "\n";
    }
    return out;
}

}  // namespace ovf::store
