#pragma once
// Dump a tree with ovf-treedump and compare two dumps with a failure message a person can act
// on: which paths differ, and in which fields.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "support/harness.hpp"

namespace ovft {

struct DumpOptions {
    std::vector<std::string> flags;   // ovf-treedump options, e.g. "--no-ino"
    std::optional<TestUser> as_user;  // dump as this user (a user's FUSE mount is closed to root)
};

// The ovf-treedump output for DIR; throws when the tool fails.
std::string treedump(const std::string& dir, const DumpOptions& options = {});

// The dump line of PATH ("/a/b"), if present.
std::optional<std::string> dump_line(const std::string& dump, const std::string& path);
// One field of PATH's line ("mode" -> "0755"); empty when the path or field is absent.
std::string dump_field(const std::string& dump, const std::string& path, const std::string& field);
// The "! ..." problem lines of a dump (d_ino mismatches, unreadable entries).
std::vector<std::string> problem_lines(const std::string& dump);

// Success when EXPECTED and ACTUAL are identical. Otherwise a message naming the first
// differing paths and fields, CONTEXT (e.g. "seed 42, 7 layers"), and where both full dumps
// were saved.
::testing::AssertionResult same_tree(const std::string& expected_label, const std::string& expected,
                                     const std::string& actual_label, const std::string& actual,
                                     const std::string& context);

}  // namespace ovft
