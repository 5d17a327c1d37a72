#pragma once
// The oracle comparison: write one logical layer stack twice (the encoding the kernel reads,
// and the encoding under test), mount the first with the kernel overlay and the second with
// the implementation under test, dump both trees, and compare them line by line.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "support/layer_model.hpp"
#include "support/mounts.hpp"

namespace ovft {

struct OracleOptions {
    Encoding kernel_encoding = ovft::kernel_encoding();
    Encoding view_encoding = ovft::kernel_encoding();  // same name -> the very same layer dirs
    std::vector<std::string> kernel_flags;             // overlay mount flags, e.g. "userxattr"
    std::vector<std::string> dump_flags;               // ovf-treedump options for both sides
    ViewOptions view;                                  // -o options, unprivileged user
    std::optional<TestUser> dump_as;                   // dump both as this user (default: view.as_user)
    std::string context;                               // e.g. "seed 17": goes into messages
};

// Both dumps and their comparison.
struct Comparison {
    std::string kernel_dump;
    std::string view_dump;
    ::testing::AssertionResult agree{true};
};

// Mounts, dumps and compares. With OPTIONS.view.as_user set, both trees are dumped as that user.
Comparison compare_views(const LayerStack& stack, const OracleOptions& options = {});

// Success when the kernel's view and the view under test dump identically.
::testing::AssertionResult views_agree(const LayerStack& stack, const OracleOptions& options = {});

// A one-line summary for messages: "seed 17, 5 layers, 83 entries".
std::string summary(const LayerStack& stack);

}  // namespace ovft
