// Generated layer stacks, mounted by the kernel overlay and by the view under test, must dump
// identically: names, types, modes, owners, sizes, content hashes, link targets, xattrs, link
// counts, mtimes and hard-link identity.
//
// Seeds: batches of kSeedsPerBatch consecutive seeds from OVF_SEED_BASE (default 1000), one
// ctest entry per batch so they run in parallel. OVF_SEED=N runs that one seed in every batch
// (to reproduce a failure: OVF_SEED=N ctest -R fuse.RandomStacks).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "support/layer_generator.hpp"
#include "support/oracle.hpp"

namespace ovft {
namespace {

constexpr int kSeedsPerBatch = 6;
constexpr int kBatches = 8;

std::vector<uint64_t> seeds_of_batch(int batch) {
    if (const char* one = std::getenv("OVF_SEED")) return {std::strtoull(one, nullptr, 10)};
    uint64_t base = 1000;
    if (const char* env = std::getenv("OVF_SEED_BASE")) base = std::strtoull(env, nullptr, 10);
    std::vector<uint64_t> seeds;
    for (int i = 0; i < kSeedsPerBatch; ++i) seeds.push_back(base + static_cast<uint64_t>(batch * kSeedsPerBatch + i));
    return seeds;
}

void require_root() {
    if (!running_as_root()) GTEST_SKIP() << "mounting the kernel overlay needs root";
}

class RandomStacks : public ::testing::TestWithParam<int> {};

TEST_P(RandomStacks, KernelEncodingMatchesKernel) {
    require_root();
    for (uint64_t seed : seeds_of_batch(GetParam())) {
        LayerStack stack = generate_stack(seed);
        EXPECT_TRUE(views_agree(stack)) << "reproduce with OVF_SEED=" << seed;
    }
}

// The same logical stacks with the markers the kernel does not read (.wh. files,
// .wh..wh..opq, user.overlay.opaque, user.fuseoverlayfs.opaque): the view must still equal the
// kernel's view of the kernel encoding, and show none of the markers.
TEST_P(RandomStacks, AlternateEncodingsMatchKernel) {
    require_root();
    if (impl_under_test() == Impl::Kernel) GTEST_SKIP() << "the kernel does not read these encodings";
    for (uint64_t seed : seeds_of_batch(GetParam())) {
        LayerStack stack = generate_stack(seed);
        for (const Encoding& enc : {aufs_encoding(), user_xattr_encoding(), mixed_encoding()}) {
            OracleOptions o;
            o.view_encoding = enc;
            EXPECT_TRUE(views_agree(stack, o)) << "reproduce with OVF_SEED=" << seed;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomStacks, ::testing::Range(0, kBatches),
                         [](const auto& info) { return "batch" + std::to_string(info.param); });

// Fewer, busier stacks: 8-12 layers of 20-60 changes each, so directories are replaced,
// deleted, re-created and made opaque several times over.
TEST(BusyStacks, ManyChangesPerLayerMatchKernel) {
    require_root();
    GeneratorParams p;
    p.min_layers = 8;
    p.max_layers = 12;
    p.min_ops_per_layer = 20;
    p.max_ops_per_layer = 60;
    for (uint64_t seed = 31; seed < 35; ++seed) {
        EXPECT_TRUE(views_agree(generate_stack(seed, p))) << "reproduce: busy generate_stack(" << seed << ")";
        if (impl_under_test() == Impl::Kernel) continue;
        OracleOptions o;
        o.view_encoding = mixed_encoding();
        EXPECT_TRUE(views_agree(generate_stack(seed, p), o)) << "reproduce: busy generate_stack(" << seed << ")";
    }
}

// 100+ layers: beyond the 4 KiB mount option page, deep lower stacks, whiteouts and opaque
// directories spread over many layers.
TEST(ManyLayers, HundredTwentyLayerStackMatchesKernel) {
    require_root();
    GeneratorParams p;
    p.min_layers = p.max_layers = 120;
    p.min_ops_per_layer = 1;
    p.max_ops_per_layer = 4;
    p.big_files = false;
    for (uint64_t seed : {77ULL, 78ULL}) {
        EXPECT_TRUE(views_agree(generate_stack(seed, p))) << "reproduce: generate_stack(" << seed
                                                          << ") with 120 layers";
    }
}

TEST(ManyLayers, HundredTwentyLayersInAufsEncodingMatchKernel) {
    require_root();
    if (impl_under_test() == Impl::Kernel) GTEST_SKIP() << "the kernel does not read .wh. files";
    GeneratorParams p;
    p.min_layers = p.max_layers = 120;
    p.min_ops_per_layer = 1;
    p.max_ops_per_layer = 4;
    p.big_files = false;
    OracleOptions o;
    o.view_encoding = aufs_encoding();
    EXPECT_TRUE(views_agree(generate_stack(79, p), o));
}

}  // namespace
}  // namespace ovft
