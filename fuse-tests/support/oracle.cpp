#include "support/oracle.hpp"

#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "support/harness.hpp"
#include "support/tree_compare.hpp"

namespace ovft {

std::string summary(const LayerStack& stack) {
    size_t entries = 0;
    for (const auto& l : stack.layers) entries += l.entries.size();
    std::string s = stack.seed ? "seed " + std::to_string(stack.seed) + ", " : "";
    return s + std::to_string(stack.layers.size()) + " layers, " + std::to_string(entries) + " entries";
}

::testing::AssertionResult views_agree(const LayerStack& stack, const OracleOptions& options) {
    return compare_views(stack, options).agree;
}

Comparison compare_views(const LayerStack& stack, const OracleOptions& options) {
    Comparison c;
    TempDir tmp;
    const auto& user = options.view.as_user ? options.view.as_user : options.dump_as;
    if (user) tmp.open_for(*user);

    auto kernel_layers = write_stack(stack, options.kernel_encoding, tmp.sub("kernel-layers", false));
    auto view_layers = options.view_encoding.name == options.kernel_encoding.name
                           ? kernel_layers
                           : write_stack(stack, options.view_encoding, tmp.sub("view-layers", false));
    std::string kernel_mnt = tmp.sub("kernel-mnt"), view_mnt = tmp.sub("view-mnt");
    if (options.view.as_user && ::chown(view_mnt.c_str(), user->uid, user->gid) != 0) {
        c.agree = ::testing::AssertionFailure() << "cannot chown the mount point to " << user->name;
        return c;
    }

    DumpOptions dump{options.dump_flags, user};
    // Triage knob: OVF_DUMP_FLAGS="--no-dir-nlink --no-mtime" hides known differences to find
    // the others.
    if (const char* extra = std::getenv("OVF_DUMP_FLAGS")) {
        std::istringstream in(extra);
        for (std::string f; in >> f;) dump.flags.push_back(f);
    }
    std::string expected, actual, view_name;
    {
        KernelOverlay kernel(kernel_layers, kernel_mnt, options.kernel_flags);
        expected = treedump(kernel.path(), dump);
    }
    {
        auto view = mount_under_test(view_layers, view_mnt, options.view);
        view_name = view->what();
        actual = treedump(view->path(), dump);
    }
    std::string context = summary(stack) + ", encoding " + options.view_encoding.name;
    if (user) context += ", as " + user->name;
    if (!options.context.empty()) context = options.context + ", " + context;
    c.agree = same_tree("kernel", expected, view_name, actual, context);
    if (!c.agree && stack.seed == 0) c.agree << "\nlayers:\n" << describe(stack);
    c.kernel_dump = std::move(expected);
    c.view_dump = std::move(actual);
    return c;
}

}  // namespace ovft
