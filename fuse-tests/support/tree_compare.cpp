#include "support/tree_compare.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace ovft {

namespace {

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

std::vector<std::string> split_fields(const std::string& line) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    std::string f;
    while (in >> f) fields.push_back(f);
    return fields;
}

// The path a line is about: its first field, or the third for "! KIND PATH ..." lines.
std::string line_key(const std::string& line) {
    auto f = split_fields(line);
    if (f.empty()) return "";
    if (f[0] == "!" && f.size() >= 3) return "! " + f[1] + " " + f[2];
    return f[0];
}

// Long paths (deep trees, 255-byte names) would drown the message: keep both ends.
std::string abbreviate(const std::string& s) {
    if (s.size() <= 160) return s;
    return s.substr(0, 70) + "...(" + std::to_string(s.size()) + " bytes)..." + s.substr(s.size() - 70);
}

// "mode: kernel=0755 overlayfuse=0700; xattrs: ..." for two lines about the same path.
std::string field_differences(const std::string& a, const std::string& b, const std::string& la,
                              const std::string& lb, std::map<std::string, int>& field_counts) {
    auto to_map = [](const std::string& line) {
        std::map<std::string, std::string> m;
        auto fields = split_fields(line);
        for (size_t i = 1; i < fields.size(); ++i) {
            auto eq = fields[i].find('=');
            if (eq == std::string::npos) m[fields[i]] = "";
            else m[fields[i].substr(0, eq)] = fields[i].substr(eq + 1);
        }
        return m;
    };
    auto ma = to_map(a), mb = to_map(b);
    std::string out;
    std::vector<std::string> keys;
    for (auto& [k, v] : ma) keys.push_back(k);
    for (auto& [k, v] : mb) {
        if (!ma.count(k)) keys.push_back(k);
    }
    for (const auto& k : keys) {
        std::string va = ma.count(k) ? ma[k] : "(absent)";
        std::string vb = mb.count(k) ? mb[k] : "(absent)";
        if (va == vb) continue;
        ++field_counts[k];
        if (!out.empty()) out += "; ";
        out += k + ": " + la + "=" + abbreviate(va) + " " + lb + "=" + abbreviate(vb);
    }
    return out;
}

std::string sanitize(std::string s) {
    for (char& c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
    }
    return s;
}

// Saves both dumps where they survive the test's temp dir; returns a note for the message.
std::string save_dumps(const std::string& expected, const std::string& actual, const std::string& context) {
    static int counter = 0;
    std::string name = "dump";
    if (auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
        name = std::string(info->test_suite_name()) + "." + info->name();
    }
    name = sanitize(name + "-" + context).substr(0, 150) + "-" + std::to_string(++counter);
    try {
        std::string e = artifact_path(name + ".expected.txt"), a = artifact_path(name + ".actual.txt");
        write_file(e, expected);
        write_file(a, actual);
        return "full dumps: diff " + e + " " + a;
    } catch (const std::exception& ex) {
        return std::string("(could not save dumps: ") + ex.what() + ")";
    }
}

}  // namespace

std::string treedump(const std::string& dir, const DumpOptions& options) {
    std::vector<std::string> argv = {treedump_bin()};
    argv.insert(argv.end(), options.flags.begin(), options.flags.end());
    argv.push_back(dir);
    RunOptions ro;
    ro.as_user = options.as_user;
    ro.timeout_seconds = 300;
    RunResult r = run(argv, ro);
    if (r.exit_code != 0) throw std::runtime_error("treedump failed: " + r.describe());
    return r.out;
}

std::optional<std::string> dump_line(const std::string& dump, const std::string& path) {
    for (const auto& line : split_lines(dump)) {
        if (line_key(line) == path) return line;
    }
    return std::nullopt;
}

std::string dump_field(const std::string& dump, const std::string& path, const std::string& field) {
    auto line = dump_line(dump, path);
    if (!line) return "";
    for (const auto& f : split_fields(*line)) {
        if (f.rfind(field + "=", 0) == 0) return f.substr(field.size() + 1);
    }
    return "";
}

std::vector<std::string> problem_lines(const std::string& dump) {
    std::vector<std::string> out;
    for (const auto& line : split_lines(dump)) {
        if (line.rfind("! ", 0) == 0) out.push_back(line);
    }
    return out;
}

::testing::AssertionResult same_tree(const std::string& expected_label, const std::string& expected,
                                     const std::string& actual_label, const std::string& actual,
                                     const std::string& context) {
    if (expected == actual) return ::testing::AssertionSuccess();

    // Lines present on one side only, keyed by the path they describe.
    auto exp_lines = split_lines(expected), act_lines = split_lines(actual);
    std::multiset<std::string> exp_set(exp_lines.begin(), exp_lines.end());
    std::multiset<std::string> act_set(act_lines.begin(), act_lines.end());
    std::vector<std::string> order;  // keys in first-seen order
    std::map<std::string, std::string> only_exp, only_act;
    for (const auto& l : exp_lines) {
        if (act_set.count(l)) continue;
        auto k = line_key(l);
        if (!only_exp.count(k) && !only_act.count(k)) order.push_back(k);
        only_exp[k] = l;
    }
    for (const auto& l : act_lines) {
        if (exp_set.count(l)) continue;
        auto k = line_key(l);
        if (!only_exp.count(k) && !only_act.count(k)) order.push_back(k);
        only_act[k] = l;
    }

    std::ostringstream details;
    std::map<std::string, int> field_counts;  // "nlink" -> paths where it differs
    int missing = 0, extra = 0;
    const size_t kMaxShown = 25;
    for (size_t i = 0; i < order.size(); ++i) {
        const auto& k = order[i];
        bool in_e = only_exp.count(k), in_a = only_act.count(k);
        std::string line;
        if (in_e && in_a) {
            line = abbreviate(k) + ": " +
                   field_differences(only_exp[k], only_act[k], expected_label, actual_label, field_counts);
        } else if (in_e) {
            ++missing;
            line = "only in " + expected_label + ": " + abbreviate(only_exp[k]);
        } else {
            ++extra;
            line = "only in " + actual_label + ": " + abbreviate(only_act[k]);
        }
        if (i < kMaxShown) details << "  " << line << "\n";
    }
    if (order.size() > kMaxShown) details << "  ... and " << order.size() - kMaxShown << " more\n";

    std::ostringstream msg;
    msg << "trees differ (" << context << "): " << expected_label << " vs " << actual_label << ", "
        << order.size() << " path(s); summary:";
    if (missing) msg << " " << missing << " only in " << expected_label << ";";
    if (extra) msg << " " << extra << " only in " << actual_label << ";";
    for (auto& [field, n] : field_counts) msg << " " << field << " differs on " << n << ";";
    msg << "\n" << details.str();
    msg << "  " << save_dumps(expected, actual, context);
    return ::testing::AssertionFailure() << msg.str();
}

}  // namespace ovft
